"""The answers the gateway makes itself: ALB's small HTML pages (`Server: awselb/2.0`) by default,
or application/problem+json typed urn:problem:gateway:<code>. Never the API's own error shape."""

from __future__ import annotations

import json

from aiohttp import web

from routing.gateway.alb_settings import ErrorBody

ALB_SERVER = "awselb/2.0"
ERRORS = {  # code -> (status, title)
    "bad_request": (400, "Bad Request"),
    "invalid_header_value": (400, "Invalid header value"),
    "method_not_allowed": (405, "Method Not Allowed"),
    "too_many_forwarded_for": (463, "Too many X-Forwarded-For addresses"),
    "internal_error": (500, "Internal Server Error"),
    "not_implemented": (501, "Not Implemented"),
    "bad_gateway": (502, "Bad Gateway"),
    "service_unavailable": (503, "Service Unavailable"),
    "gateway_timeout": (504, "Gateway Timeout"),
}
# The headings of ALB's pages (nginx's wording); 463 has no reason phrase.
ALB_HEADINGS = {400: "400 Bad Request", 405: "405 Method Not Allowed", 463: "463",
                500: "500 Internal Server Error", 501: "501 Not Implemented",
                502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable",
                504: "504 Gateway Time-out"}


def alb_page(status: int) -> str:
    """The page an ALB answers with, in its shape (CRLF lines, a centred heading)."""
    heading = ALB_HEADINGS[status]
    return (f"<html>\r\n<head><title>{heading}</title></head>\r\n<body>\r\n"
            f"<center><h1>{heading}</h1></center>\r\n</body>\r\n</html>\r\n")


def error_response(style: ErrorBody, code: str, detail: str, **extra: str) -> web.Response:
    """`extra` says what it is about (`target_group`, `header`); problem+json bodies carry it."""
    status, title = ERRORS[code]
    if style == "html":
        return web.Response(status=status, text=alb_page(status),
                            content_type="text/html", headers={"Server": ALB_SERVER})
    body = {"type": f"urn:problem:gateway:{code}", "title": title, "status": status,
            "detail": detail, "code": code, **extra}
    # A 503 is worth retrying soon: targets come back as soon as one registers.
    headers = {"Retry-After": "1"} if status == 503 else None
    return web.Response(status=status, text=json.dumps(body), headers=headers,
                        content_type="application/problem+json")
