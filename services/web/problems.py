"""problem+json (RFC 9457) with the fixed titles and details of docs/api.md "Errors"."""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

import orjson
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(NamedTuple):
    status: int
    title: str
    detail: str


PROBLEMS: dict[str, Problem] = {
    "malformed_json": Problem(400, "Malformed JSON", "The request body is not valid JSON."),
    "invalid_parameter": Problem(
        400, "Invalid parameter", "The parameter '{field}' is missing or invalid."
    ),
    "unauthorized": Problem(401, "Unauthorized", "A valid API key is required."),
    "forbidden": Problem(403, "Forbidden", "The API key does not allow this operation."),
    "unsupported_number_type": Problem(
        400, "Unsupported number type", "SMS cannot be sent to this kind of number."
    ),
    "geo_not_permitted": Problem(403, "Geo not permitted", "SMS to this country is not enabled."),
    "not_found": Problem(404, "Not found", "The requested resource was not found."),
    "method_not_allowed": Problem(
        405, "Method not allowed", "The method is not allowed for this resource."
    ),
    "not_pending": Problem(
        409, "Verification not pending", "The verification is no longer pending."
    ),
    "payload_too_large": Problem(
        413, "Payload too large", "The request body is larger than the limit."
    ),
    "unsupported_media_type": Problem(
        415, "Unsupported media type", "The request body must be application/json."
    ),
    "idempotency_key_in_use": Problem(
        409,
        "Idempotency key in use",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    ),
    "idempotency_key_reused": Problem(
        422,
        "Idempotency key reused",
        "The Idempotency-Key was already used with a different request body.",
    ),
    "resend_cooldown": Problem(
        429, "Resend too soon", "A code was sent moments ago; retry after the cooldown."
    ),
    "max_send_attempts_reached": Problem(
        429, "Too many sends", "This verification reached its maximum number of sends."
    ),
    "rate_limited": Problem(
        429, "Too many requests", "Too many verifications were sent; retry later."
    ),
    "max_check_attempts_reached": Problem(
        429,
        "Too many check attempts",
        "This verification reached its maximum number of check attempts.",
    ),
    "prefix_rate_limited": Problem(
        429,
        "Too many messages to this number range",
        "Too many SMS were sent to numbers like this one; retry later.",
    ),
    "prefix_blocked": Problem(
        429,
        "Number range paused",
        "SMS to numbers like this one are paused: too few of their codes were entered.",
    ),
    "sms_capacity_exceeded": Problem(
        429, "SMS capacity exceeded", "The service is sending too many SMS right now; retry later."
    ),
    "internal_error": Problem(500, "Internal error", "An unexpected error occurred."),
    "service_unavailable": Problem(
        503, "Service unavailable", "A dependency is unavailable; retry later."
    ),
}

# The answer of every 401 (docs/api.md "Authentication").
CHALLENGE = 'Bearer realm="verify"'


# Problems outside 429 and 503 that still say when to retry (docs/api.md "Errors").
RETRY_LATER_CODES = frozenset({"idempotency_key_in_use"})


def retry_after_seconds(milliseconds: int) -> int:
    """Whole seconds, rounded up, at least 1 (docs/api.md)."""
    return max(1, math.ceil(milliseconds / 1000))


def problem_body(code: str, field: str | None = None) -> dict[str, Any]:
    problem = PROBLEMS[code]
    body: dict[str, Any] = {
        "type": f"urn:problem:verify:{code}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail.format(field=field) if field is not None else problem.detail,
        "code": code,
    }
    if field is not None:
        body["field"] = field
    return body


def problem_response(
    code: str,
    field: str | None = None,
    retry_after_ms: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The problem response; 429, 503 and 409 idempotency_key_in_use always carry Retry-After
    (1 s unless told), 401 its WWW-Authenticate challenge."""
    status = PROBLEMS[code].status
    all_headers = dict(headers or {})
    if status == 401:
        all_headers["WWW-Authenticate"] = CHALLENGE
    if status in (429, 503) or code in RETRY_LATER_CODES:
        all_headers["Retry-After"] = str(retry_after_seconds(retry_after_ms or 1000))
    return Response(
        compact_json(problem_body(code, field)),
        status_code=status,
        headers=all_headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def compact_json(content: dict[str, Any]) -> bytes:
    """`json.dumps(content, separators=(",", ":"))`'s bytes, by orjson when they are the same:
    ASCII output (the standard library escapes other characters; orjson writes UTF-8) of the
    bodies rendered here (text, integers, booleans, null: no float, whose text could differ).
    Anything orjson refuses (a lone surrogate, an integer beyond 64 bits) is the standard
    library's too."""
    try:
        encoded = orjson.dumps(content)
    except TypeError:  # orjson.JSONEncodeError is one
        encoded = b"\x80"
    if encoded.isascii():
        return encoded
    return json.dumps(content, separators=(",", ":")).encode()


def json_response(
    content: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Compact JSON in the given member order (fresh responses and replays share this)."""
    return Response(
        compact_json(content),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
