"""Reference points measured in the same run as the real targets (see shared ceilings.md).

- `create_bare_app`: a bare ASGI callable answering every request with one fixed JSON body.
- `create_evalsha_app`: a minimal FastAPI app whose two POST endpoints (the send and check paths)
  validate a small pydantic body and run one `EVALSHA` on Redis; the floor the services are held to.

Run with uvicorn's `--factory`, the same way the services are started. REDIS_URL names the Redis.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FIXED_BODY = b'{"status":"ok"}'

# KEYS[1]: a counter key. ARGV: none. One write, like the smallest useful atomic step.
COUNTER_SCRIPT = "-- KEYS[1]: counter key; ARGV: none\nreturn redis.call('INCR', KEYS[1])"


def create_bare_app() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan and websockets: nothing to set up
        more_body = True
        while more_body:  # drain the request body so keep-alive connections stay usable
            message = await receive()
            more_body = bool(message.get("more_body", False))
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(FIXED_BODY)).encode())],
        })
        await send({"type": "http.response.body", "body": FIXED_BODY})

    return app


class SendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str
    channel: str
    locale: str | None = None


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    to: str | None = None
    verification_id: str | None = None


def create_evalsha_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = aioredis.Redis.from_url(
            os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        app.state.redis = client
        app.state.sha = await client.script_load(COUNTER_SCRIPT)
        yield
        await client.aclose()

    app = FastAPI(lifespan=lifespan)

    async def one_evalsha(request: Request, key: str) -> int:
        return int(await request.app.state.redis.evalsha(request.app.state.sha, 1, key))

    @app.post("/api/verifications", status_code=201)
    async def send(body: SendBody, request: Request) -> dict[str, Any]:
        return {"to": body.to, "count": await one_evalsha(request, "bench:ref:send")}

    @app.post("/api/verification-checks")
    async def check(body: CheckBody, request: Request) -> dict[str, Any]:
        return {"valid": False, "count": await one_evalsha(request, "bench:ref:check")}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
