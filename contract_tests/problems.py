"""The problem table of docs/api.md (Errors) and the assertions every test uses on responses."""

from __future__ import annotations

import re
from typing import Any

import httpx

PROBLEMS: dict[str, tuple[int, str, str]] = {
    "malformed_json": (400, "Malformed JSON", "The request body is not valid JSON."),
    "invalid_parameter": (
        400, "Invalid parameter", "The parameter '{field}' is missing or invalid."
    ),
    "unauthorized": (401, "Unauthorized", "A valid API key is required."),
    "forbidden": (403, "Forbidden", "The API key does not allow this operation."),
    "unsupported_number_type": (
        400, "Unsupported number type", "SMS cannot be sent to this kind of number."
    ),
    "geo_not_permitted": (403, "Geo not permitted", "SMS to this country is not enabled."),
    "not_found": (404, "Not found", "The requested resource was not found."),
    "method_not_allowed": (
        405, "Method not allowed", "The method is not allowed for this resource."
    ),
    "not_pending": (409, "Verification not pending", "The verification is no longer pending."),
    "payload_too_large": (
        413, "Payload too large", "The request body is larger than the limit."
    ),
    "unsupported_media_type": (
        415, "Unsupported media type", "The request body must be application/json."
    ),
    "idempotency_key_in_use": (
        409,
        "Idempotency key in use",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    ),
    "idempotency_key_reused": (
        422,
        "Idempotency key reused",
        "The Idempotency-Key was already used with a different request body.",
    ),
    "resend_cooldown": (
        429, "Resend too soon", "A code was sent moments ago; retry after the cooldown."
    ),
    "max_send_attempts_reached": (
        429, "Too many sends", "This verification reached its maximum number of sends."
    ),
    "rate_limited": (429, "Too many requests", "Too many verifications were sent; retry later."),
    "max_check_attempts_reached": (
        429,
        "Too many check attempts",
        "This verification reached its maximum number of check attempts.",
    ),
    "prefix_rate_limited": (
        429,
        "Too many messages to this number range",
        "Too many SMS were sent to numbers like this one; retry later.",
    ),
    "prefix_blocked": (
        429,
        "Number range paused",
        "SMS to numbers like this one are paused: too few of their codes were entered.",
    ),
    "sms_capacity_exceeded": (
        429, "SMS capacity exceeded", "The service is sending too many SMS right now; retry later."
    ),
    "internal_error": (500, "Internal error", "An unexpected error occurred."),
    "service_unavailable": (
        503, "Service unavailable", "A dependency is unavailable; retry later."
    ),
}

# The problems that name a request member in `field`.
FIELD_CODES = frozenset({"invalid_parameter", "unsupported_number_type", "geo_not_permitted"})
TIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
VERIFICATION_ID = re.compile(r"^VE[0-9a-f]{32}$")
USER_ID = re.compile(r"^US[0-9a-f]{32}$")
VERIFICATION_MEMBERS = [
    "id", "to", "channel", "locale", "reference", "status", "send_attempts", "check_attempts",
    "created_at", "expires_at",
]
CHECK_MEMBERS = [
    "verification_id", "to", "channel", "status", "valid", "check_attempts", "remaining_attempts",
]


def describe(response: httpx.Response) -> str:
    """One readable line per exchange, for assertion messages."""
    request = response.request
    try:
        sent = request.content.decode("utf-8", "replace")[:300]
    except httpx.RequestNotRead:  # a streamed (chunked) body is not kept
        sent = "<streamed body>"
    interesting = {
        k: v for k, v in response.headers.items()
        if k.lower() in {"content-type", "location", "retry-after", "idempotent-replayed"}
    }
    return (
        f"\n  {request.method} {request.url} {sent}\n"
        f"  -> {response.status_code} {interesting} {response.text[:600]}"
    )


def media_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip().lower()


def retry_after(response: httpx.Response) -> int:
    raw = response.headers.get("retry-after")
    assert raw is not None, f"429/503 without Retry-After{describe(response)}"
    assert raw.isdigit(), f"Retry-After must be whole seconds, got {raw!r}{describe(response)}"
    seconds = int(raw)
    assert seconds >= 1, f"Retry-After must be at least 1{describe(response)}"
    return seconds


def assert_problem(response: httpx.Response, code: str, field: str | None = None) -> dict[str, Any]:
    status, title, detail = PROBLEMS[code]
    assert response.status_code == status, f"expected {status} {code}{describe(response)}"
    assert media_type(response) == "application/problem+json", describe(response)
    expected: dict[str, Any] = {
        "type": f"urn:problem:verify:{code}",
        "title": title,
        "status": status,
        "detail": detail.format(field=field),
        "code": code,
    }
    if code in FIELD_CODES:
        expected["field"] = field
    body: dict[str, Any] = response.json()
    assert body == expected, describe(response)
    assert list(body) == list(expected), f"members/order{describe(response)}"
    if status in (429, 503):
        retry_after(response)
    return body


def assert_json(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"expected {status}{describe(response)}"
    assert media_type(response) == "application/json", describe(response)
    body: dict[str, Any] = response.json()
    return body


def assert_time(value: object) -> None:
    assert isinstance(value, str) and TIME_PATTERN.match(value), (
        f"not RFC 3339 UTC with milliseconds and Z: {value!r}"
    )


def assert_verification(response: httpx.Response, status: int) -> dict[str, Any]:
    body = assert_json(response, status)
    assert list(body) == VERIFICATION_MEMBERS, f"members/order{describe(response)}"
    assert VERIFICATION_ID.match(body["id"]), describe(response)
    assert_time(body["created_at"])
    assert_time(body["expires_at"])
    return body


def assert_check(response: httpx.Response) -> dict[str, Any]:
    body = assert_json(response, 200)
    assert list(body) == CHECK_MEMBERS, f"members/order{describe(response)}"
    return body
