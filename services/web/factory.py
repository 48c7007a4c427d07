"""The app factory both services share: settings, one Redis pool per process, error handling."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from services.verification.service import VerificationService
from services.verification.settings import Settings
from services.verification.store import VerificationStore
from services.web import ops
from services.web.body_limit import BodyLimitMiddleware
from services.web.errors import install_error_handlers

RedisFactory = Callable[[Settings], Redis]
log = logging.getLogger("services.web")


def connect_redis(settings: Settings) -> Redis:
    """One pool for the process. No automatic retry: a retried EVALSHA whose reply was lost could
    send twice. A dead pooled connection is noticed and replaced by the pool on its next checkout,
    so after an outage the process recovers on its own; meanwhile requests answer 503.
    A blocking pool makes a burst wait briefly for a free connection instead of failing."""
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        retry=Retry(NoBackoff(), 0),
        max_connections=64,
        timeout=2.0,
    )
    return Redis.from_pool(pool)


def build_app(
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    redis_factory: RedisFactory | None = None,
) -> FastAPI:
    settings = settings or Settings.from_env()
    make_redis = redis_factory or connect_redis

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = make_redis(settings)
        store = VerificationStore(client, settings)
        try:
            await store.load_scripts()
        except RedisError as exc:  # not fatal: /readyz says 503 and EVALSHA loads them later
            log.warning("Redis not reachable at start (%s); serving 503 until it is", exc)
        app.state.store = store
        app.state.service = VerificationService(store, settings)
        try:
            yield
        finally:
            await client.aclose()

    app = FastAPI(
        title=title,
        description=description,
        version="1",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.metrics = ops.Metrics()
    install_error_handlers(app)
    for router in (*routers, ops.router):
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ops.MetricsMiddleware, metrics=app.state.metrics)
    app.openapi = _without_framework_422(app)  # type: ignore[method-assign]
    return app


def _without_framework_422(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI documents a 422 HTTPValidationError for every parameterised route; these routes
    never answer it (request validation is a 400 problem), so the document drops it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for path in document["paths"].values():
                for operation in path.values():
                    response = operation["responses"].get("422", {})
                    if "HTTPValidationError" in str(response):
                        del operation["responses"]["422"]
            for name in ("HTTPValidationError", "ValidationError"):
                document.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi
