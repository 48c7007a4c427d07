"""Every failure becomes problem+json with a stable code; Redis trouble is a 503, never a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from services.verification import redis_client
from services.verification.errors import VerificationError
from services.web.problems import PROBLEMS, problem_response

log = logging.getLogger("services.web")

# ReadOnlyError: a replica promoted during a failover still answers writes with READONLY for a
# moment; like a lost connection it is worth a retry, so 503. So are the cluster's own errors
# that its client did not absorb (a failover, a slot moving: verification/redis_client.py).
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (
    RedisConnectionError, RedisTimeoutError, ReadOnlyError, *redis_client.CLUSTER_UNAVAILABLE)
HTTP_CODES = {400: "malformed_json", 404: "not_found", 405: "method_not_allowed",
              413: "payload_too_large", 415: "unsupported_media_type"}


class ProblemError(Exception):
    """A web-edge failure (media type, JSON syntax) named by its problem code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def _problem(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.code)


async def _domain(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, VerificationError)
    return problem_response(exc.code, field=exc.field, retry_after_ms=exc.retry_after_ms)


async def _http(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code)
    if code is None:
        code = "internal_error" if exc.status_code >= 500 else "not_found"
    headers = {"Allow": exc.headers["Allow"]} if exc.headers and "Allow" in exc.headers else None
    return problem_response(code, headers=headers)


async def _validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    location: tuple[str | int, ...] = tuple(errors[0].get("loc", ())) if errors else ()
    field = str(location[-1]) if len(location) > 1 else "body"
    if errors and errors[0].get("type") == "json_invalid":
        return problem_response("malformed_json")
    return problem_response("invalid_parameter", field=field)


async def _redis_down(request: Request, exc: Exception) -> Response:
    if not redis_client.is_cluster_outage(exc):  # the cluster client refused a command: a bug
        return await _unexpected(request, exc)
    log.warning("redis unavailable: %s", type(exc).__name__)
    # Idle pooled connections are as dead as this one (Redis restarted or failed over): drop them
    # now, so that after Redis returns no request is answered 503 by a stale socket.
    store = getattr(request.app.state, "store", None)
    if store is not None:
        await redis_client.drop_idle_connections(store.client)
    return problem_response("service_unavailable")


async def _redis_full(request: Request, exc: Exception) -> Response:
    # maxmemory reached under `noeviction`: Redis refuses writes (a script at its first write,
    # before it changed anything) until memory is freed. The connection is fine: keep the pool.
    log.warning("redis refused a write on %s %s: out of memory (maxmemory)", request.method,
                request.url.path)
    return problem_response("service_unavailable")


async def _unexpected(_: Request, exc: Exception) -> Response:
    log.error("unexpected error: %s", type(exc).__name__)
    return problem_response("internal_error")


def install_error_handlers(app: FastAPI) -> None:
    assert set(HTTP_CODES.values()) <= set(PROBLEMS)
    app.add_exception_handler(ProblemError, _problem)
    app.add_exception_handler(VerificationError, _domain)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    for redis_error in REDIS_UNAVAILABLE:
        app.add_exception_handler(redis_error, _redis_down)
    app.add_exception_handler(OutOfMemoryError, _redis_full)
    app.add_exception_handler(Exception, _unexpected)
