"""The one pure ASGI middleware in front of the routes: request metrics, the body limit, and the
trace id on the request's log lines.

One layer instead of two (each ASGI layer costs a call and a wrapped `send` per request).
The body limit refuses bodies over MAX_BODY_BYTES before any parsing, Content-Length or chunked
alike: it reads the body itself (at most the limit plus one chunk), answers 413 when it is too
large, and otherwise hands the buffered body to the app in one message.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit import logs
from services.web.ops import Metrics
from services.web.problems import problem_response


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        # One pass over the headers for the two this layer reads: the first trace id, the last
        # Content-Length (as a dict of the headers would keep it).
        trace_id: str | None = None
        declared: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                declared = value
            elif key == b"x-amzn-trace-id" and trace_id is None:
                trace_id = bytes(value).decode("latin-1")
        # Not reset afterwards: uvicorn runs each request in a task of its own, whose context ends
        # with it, and the 500 handler (outside this layer) still logs with it.
        logs.TRACE_ID.set(logs.bounded_trace_id(trace_id))
        logs.API_KEY.set(None)  # until auth.py accepts this request's key

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._limited(scope, receive, recording_send, declared)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.record(scope["method"], route, status, time.perf_counter() - started)

    async def _limited(
        self, scope: Scope, receive: Receive, send: Send, declared: bytes | None
    ) -> None:
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await problem_response("payload_too_large")(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await problem_response("payload_too_large")(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as Starlette expects

    return replayed
