"""Request and response plumbing shared by the blueprints: JSON bodies in, JSON and problems out."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

from monolith.problems import Problem

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which duplicate wins: a proxy and a backend could read different values.
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member name")
    return members


def read_json_body(max_bytes: int) -> Any:
    """The parsed body; 413 when too large, 415 when not JSON, 400 when it does not parse.

    A declared Content-Length over the limit was refused before routing (create_app's
    before_request); here only a chunked body can still turn out too large."""
    if request.mimetype != JSON:
        raise Problem("unsupported_media_type")
    # Read one byte past the limit: a chunked body has no Content-Length to judge beforehand.
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise Problem("payload_too_large")
    try:
        return json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_members
        )
    except (ValueError, RecursionError):
        raise Problem("malformed_json") from None


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None,
    mimetype: str = JSON,
) -> Response:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(text, status=status, headers=headers or {}, mimetype=mimetype)


def problem_response(problem: Problem, extra_headers: dict[str, str] | None = None) -> Response:
    headers = {**problem.headers(), **(extra_headers or {})}
    return json_response(problem.body(), problem.status, headers, PROBLEM_JSON)
