"""The send service's ASGI app: `uvicorn --factory services.send.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.send.routes import router
from services.verification.settings import Settings
from services.web.factory import RedisFactory, build_app


def create_app(
    settings: Settings | None = None, redis_factory: RedisFactory | None = None
) -> FastAPI:
    return build_app(
        title="Verification API: send service",
        description="Start, resend, read and cancel one-time-code verifications (docs/api.md).",
        routers=[router],
        settings=settings,
        redis_factory=redis_factory,
    )
