"""problem+json answers (RFC 9457), in the same shape as the verification API's errors."""

from __future__ import annotations

import json

from aiohttp import web

TITLES = {
    "malformed_json": (400, "Malformed JSON", "The request body is not valid JSON."),
    "invalid_parameter": (
        400, "Invalid parameter", "The parameter '{field}' is missing or invalid."
    ),
    "not_found": (404, "Not found", "The requested resource was not found."),
    "method_not_allowed": (
        405, "Method not allowed", "The method is not allowed for this resource."
    ),
    "payload_too_large": (413, "Payload too large", "The request body is larger than the limit."),
    "unsupported_media_type": (
        415, "Unsupported media type", "The request body must be application/json."
    ),
    "internal_error": (500, "Internal error", "An unexpected error occurred."),
}

STATUS_CODES = {status: code for code, (status, _, _) in TITLES.items()}


class Problem(Exception):
    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


def problem_response(code: str, field: str | None = None) -> web.Response:
    status, title, detail = TITLES[code]
    body: dict[str, object] = {
        "type": f"urn:problem:devinbox:{code}",
        "title": title,
        "status": status,
        "detail": detail.format(field=field),
        "code": code,
    }
    if field is not None:
        body["field"] = field
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/problem+json"
    )
