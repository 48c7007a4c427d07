"""A FastAPI route whose endpoint reads the Request itself and returns a Response.

The endpoint's declared signature still feeds the OpenAPI document (path parameters, responses,
`openapi_extra`), but per request FastAPI's dependency solving, parameter validation and response
serialisation are skipped: these endpoints validate bodies in the domain core and render bytes
themselves, and profiling showed that machinery costing about a fifth of each request.
Exceptions still reach the app's exception handlers, as from any route. An endpoint marked with
`auth.requires(scope)` is called only for a request with a valid API key holding that scope.

The route's ASGI app is its own too: FastAPI's wraps each call in two AsyncExitStacks (for
dependencies with `yield`, which these endpoints have none of) and in a route-level exception
catcher. Without that, an endpoint's exception goes to the app's ExceptionMiddleware, which
answers it with the same (app-level) handlers, as it does for an exception raised in routing.
The body limit is the edge's (edge.py): a route's own `max_body_size` is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.web.auth import authenticate, required_scope

RawEndpoint = Callable[..., Awaitable[Response]]


class RawRoute(APIRoute):
    """Calls `endpoint(request, **path_params)`; every path parameter arrives as a string."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_body_size is not None:
            raise ValueError(f"{self.path}: the edge limits bodies (a RawRoute has no own limit)")
        handler = self.get_route_handler()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await handler(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = cast(RawEndpoint, self.endpoint)
        scope = required_scope(endpoint)

        async def handle(request: Request) -> Response:
            return await endpoint(request, **request.path_params)

        if scope is None:
            return handle

        async def handle_authenticated(request: Request) -> Response:
            refused = authenticate(request, scope)
            if refused is not None:
                return refused
            return await endpoint(request, **request.path_params)

        return handle_authenticated
