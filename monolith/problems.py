"""The error catalogue of docs/api.md: fixed title and detail per code, the same on both sides."""

from __future__ import annotations

import math
from dataclasses import dataclass

CATALOGUE: dict[str, tuple[int, str, str]] = {
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
    "payload_too_large": (413, "Payload too large", "The request body is larger than the limit."),
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

# The answer of every 401 (docs/api.md "Authentication").
CHALLENGE = 'Bearer realm="verify"'


def retry_after_seconds(milliseconds: int) -> int:
    """Whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(milliseconds / 1000))


@dataclass
class Problem(Exception):
    """Raised anywhere in a request; the app turns it into application/problem+json."""

    code: str
    field: str | None = None
    retry_after_ms: int | None = None

    @property
    def status(self) -> int:
        return CATALOGUE[self.code][0]

    def body(self) -> dict[str, object]:
        status, title, detail = CATALOGUE[self.code]
        document: dict[str, object] = {
            "type": f"urn:problem:verify:{self.code}",
            "title": title,
            "status": status,
            "detail": detail.format(field=self.field or ""),
            "code": self.code,
        }
        if self.field is not None:
            document["field"] = self.field
        return document

    def headers(self) -> dict[str, str]:
        if self.code == "unauthorized":
            return {"WWW-Authenticate": CHALLENGE}
        if self.retry_after_ms is None and self.status not in (429, 503):
            return {}
        return {"Retry-After": str(retry_after_seconds(self.retry_after_ms or 1000))}


def invalid(field: str) -> Problem:
    return Problem("invalid_parameter", field=field)
