"""The app factory both services share: settings, one Redis pool per process, error handling."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from redis.asyncio import Redis

from kit import logs
from kit.settings import SettingsError
from services.verification import redis_client
from services.verification.service import VerificationService
from services.verification.settings import Settings
from services.verification.store import VerificationStore
from services.web import ops
from services.web.api_keys import (
    ApiKeyring,
    KeyringFile,
    KeyringSecret,
    KeyringSource,
    SecretsClient,
)
from services.web.auth import required_scope
from services.web.edge import EdgeMiddleware
from services.web.errors import install_error_handlers

RedisFactory = Callable[[Settings], Redis]
log = logging.getLogger("services.web")


def connect_redis(settings: Settings) -> Redis:
    """One pool for the process (per node with REDIS_CLUSTER=1: verification/redis_client.py).
    The store bounds each call (verification.redis_gate: at most `max_connections` at once, a
    burst waits for a slot; one deadline per call instead of a socket timeout). No automatic
    retry: a retried EVALSHA whose reply was lost could send twice. A dead pooled connection is
    noticed and replaced by the pool on its next checkout (a cluster client also re-reads the
    slot map), so after an outage or a failover the process recovers on its own; meanwhile
    requests answer 503."""
    return redis_client.connect(
        settings.redis_url,
        cluster=settings.redis_cluster,
        max_connections=64,
        socket_timeout=None,  # not redis-py's default of 5 s: the gate's deadline bounds calls
        socket_connect_timeout=1.0,
        retry=redis_client.NO_RETRY,
    )


def secrets_manager(arn: str) -> SecretsClient:
    import boto3

    # The secret's own region (arn:aws:secretsmanager:REGION:...), whatever the process's default.
    parts = arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[3] else None
    return cast(SecretsClient, boto3.client("secretsmanager", region_name=region))


def keyring_source(settings: Settings) -> KeyringSource | None:
    if settings.keyring_file:
        return KeyringFile(settings.keyring_file)
    if arn := settings.keyring_secret_arn:
        return KeyringSecret(arn, secrets_manager(arn))
    return None


def build_keyring(settings: Settings) -> ApiKeyring:
    """The keyring at start; production refuses to start without one holding a usable key."""
    source = keyring_source(settings)
    if settings.app_env == "production" and source is None:
        raise SettingsError(
            "APP_ENV=production requires a keyring: set KEYRING_SECRET_ARN (or KEYRING_FILE) "
            'to the API keys\' keyring (docs/api.md "The keyring")'
        )
    keyring = ApiKeyring(source)
    if settings.app_env == "production" and keyring.active_keys() == 0:
        assert source is not None
        raise SettingsError(
            f"APP_ENV=production requires a key that is not revoked in the keyring ({source.name})"
            ": add one (`./dev keys create NAME`)"
        )
    return keyring


async def reload_keyring(keyring: ApiKeyring, every_seconds: float) -> None:
    """Look at the keyring's source again, off the event loop, for as long as the app runs."""
    while True:
        await asyncio.sleep(every_seconds)
        await asyncio.to_thread(keyring.reload)


def build_app(
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    redis_factory: RedisFactory | None = None,
) -> FastAPI:
    if settings is None:  # the process's own app (uvicorn calls the factory bare): its logs too
        logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
        settings = Settings.from_env()
    make_redis = redis_factory or connect_redis
    keyring = build_keyring(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = make_redis(settings)
        store = VerificationStore(client, settings)
        try:
            await store.load_scripts()
        except redis_client.ANY_REDIS_ERROR as exc:
            # not fatal: /readyz says 503 and EVALSHA loads them later
            log.warning("Redis not reachable at start (%s); serving 503 until it is", exc)
        app.state.store = store
        app.state.service = VerificationService(store, settings)
        reloading = asyncio.create_task(
            reload_keyring(keyring, settings.keyring_reload_seconds), name="keyring reload"
        ) if keyring.source is not None else None
        # What exists now (framework, routes, models, this app) lives as long as the process:
        # frozen, the collections that request garbage triggers no longer rescan it. Profiles
        # showed those rescans costing about a tenth of each request.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if reloading is not None:
                reloading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reloading
            await client.aclose()

    app = FastAPI(
        title=title,
        description=description,
        version="1",
        lifespan=lifespan,
        redirect_slashes=False,
        # The services observe themselves with their Prometheus metrics and JSON logs, not with
        # FastAPI's native OpenTelemetry: off, it no longer asks the global providers whether
        # one was configured on every request (about 2 % of a send in profiles).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.keyring = keyring
    app.state.metrics = ops.Metrics()
    install_error_handlers(app)
    # The routers' routes themselves (their prefixes are already in the paths), not included
    # routers: an included router is one more dispatch layer on every request (~9 % of a send).
    # Ahead of FastAPI's own (/openapi.json, /docs, /redoc: no path in common), so that routing
    # an API request tries no documentation route first.
    app.router.routes[:0] = [route for router in (*routers, ops.router) for route in router.routes]
    app.add_middleware(
        EdgeMiddleware, metrics=app.state.metrics, max_body_bytes=settings.max_body_bytes
    )
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
            _declare_api_keys(app, document)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def _declare_api_keys(app: FastAPI, document: dict[str, Any]) -> None:
    """The routes marked `auth.requires(...)` need the API key (docs/api.md "Authentication")."""
    secured = False
    for route in app.routes:
        if isinstance(route, APIRoute) and required_scope(route.endpoint) is not None:
            for method in route.methods or ():
                document["paths"][route.path][method.lower()]["security"] = [{"apiKey": []}]
                secured = True
    if secured:
        document.setdefault("components", {})["securitySchemes"] = {"apiKey": {
            "type": "http", "scheme": "bearer",
            "description": 'An API key `<key id>.<secret>` (docs/api.md "Authentication").',
        }}
