"""The verify service's ASGI app: `uvicorn --factory services.verify.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.verification.settings import Settings
from services.verify.routes import router
from services.web.factory import RedisFactory, build_app


def create_app(
    settings: Settings | None = None, redis_factory: RedisFactory | None = None
) -> FastAPI:
    return build_app(
        title="Verification API: verify service",
        description="Check one-time codes by verification id or destination (docs/api.md).",
        routers=[router],
        settings=settings,
        redis_factory=redis_factory,
    )
