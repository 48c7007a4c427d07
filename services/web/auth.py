"""The API key of each verification API request (docs/api.md "Authentication"): 401, 403, and the
authenticated client for the request's handling.

An endpoint says its scope with `@requires("send")` (under its router decorator); RawRoute checks
the key before calling it. Routing already happened, so an unknown path or method stays a 404 /
405, and the body size was judged at the edge before that. In memory, no await: a dict lookup,
one SHA-256 and one compare_digest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

from kit import logs
from services.web.api_keys import ApiKeyring
from services.web.problems import problem_response

Endpoint = TypeVar("Endpoint", bound=Callable[..., object])
SCOPE_ATTRIBUTE = "api_key_scope"


def requires(scope: str) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint as needing an API key with `scope`."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, SCOPE_ATTRIBUTE, scope)
        return endpoint

    return mark


def required_scope(endpoint: Callable[..., object]) -> str | None:
    scope: str | None = getattr(endpoint, SCOPE_ATTRIBUTE, None)
    return scope


def authenticate(request: Request, scope: str) -> Response | None:
    """None when the key is valid and has `scope` (its client then in `request.state.client`);
    otherwise the 401 or 403 to answer."""
    keyring: ApiKeyring = request.app.state.keyring
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    key_id, _, secret = credentials.partition(".")
    if scheme.lower() != "bearer" or not key_id or not secret:
        return problem_response("unauthorized")
    key = keyring.authenticate(key_id, secret)
    if key is None:
        return problem_response("unauthorized")
    request.state.client = key.client
    logs.API_KEY.set((key.id, key.client))
    if scope not in key.scopes:
        return problem_response("forbidden")
    return None
