"""A FastAPI route whose endpoint reads the Request itself and returns a Response.

The endpoint's declared signature still feeds the OpenAPI document (path parameters, responses,
`openapi_extra`), but per request FastAPI's dependency solving, parameter validation and response
serialisation are skipped: these endpoints validate bodies in the domain core and render bytes
themselves, and profiling showed that machinery costing about a fifth of each request.
Exceptions still reach the app's exception handlers, as from any route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

RawEndpoint = Callable[..., Awaitable[Response]]


class RawRoute(APIRoute):
    """Calls `endpoint(request, **path_params)`; every path parameter arrives as a string."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = cast(RawEndpoint, self.endpoint)

        async def handle(request: Request) -> Response:
            return await endpoint(request, **request.path_params)

        return handle
