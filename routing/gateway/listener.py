"""What an ALB listener refuses before any rule: size limits (400), TRACE (405), a
Transfer-Encoding it does not support (501), too many X-Forwarded-For addresses (463); and the
aiohttp server pieces that make ALB's answer when a request does not even parse.

aiohttp's own parser limits sit above ALB's (PARSER_LIMITS), so the gateway decides at ALB's
numbers; what aiohttp still refuses (beyond them, or a Transfer-Encoding whose last coding is not
chunked) gets ALB's answer too, from the request handler below.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from routing.gateway.alb_settings import ErrorBody
from routing.gateway.errors import error_response

MAX_REQUEST_LINE = 16 * 1024  # bytes of "METHOD target HTTP/1.1"
MAX_HEADER = 16 * 1024  # bytes of one "Name: value" line
MAX_HEADERS = 64 * 1024  # bytes of all header lines, each with its CRLF
MAX_FORWARDED_FOR = 30  # addresses in the incoming X-Forwarded-For
SUPPORTED_TRANSFER_CODINGS = frozenset({"chunked", "identity"})
PARSER_LIMITS = {"max_line_size": 2 * MAX_REQUEST_LINE, "max_field_size": 2 * MAX_HEADER,
                 "max_headers": 4096}


def refusal(request: web.Request) -> tuple[str, str] | None:
    """(error code, detail) when ALB's listener would refuse the request, else None."""
    line = len(request.method) + len(request.raw_path) + len("HTTP/1.1") + 2
    if line > MAX_REQUEST_LINE:
        return "bad_request", f"The request line is {line} bytes; the limit is {MAX_REQUEST_LINE}."
    longest = total = 0
    for name, value in request.raw_headers:
        size = len(name) + 2 + len(value)
        total += size + 2
        longest = max(longest, size)
    if longest > MAX_HEADER:
        return "bad_request", f"A header line is {longest} bytes; the limit is {MAX_HEADER}."
    if total > MAX_HEADERS:
        return "bad_request", f"The headers exceed {MAX_HEADERS} bytes."
    if request.method == "TRACE":
        return "method_not_allowed", "TRACE is not allowed."
    headers = request.headers
    codings = {coding.strip().lower() for value in headers.getall("Transfer-Encoding", ())
               for coding in value.split(",")}
    if codings and codings - SUPPORTED_TRANSFER_CODINGS:
        return "not_implemented", "Transfer-Encoding supports chunked and identity only."
    forwarded = headers.getall("X-Forwarded-For", ())
    if sum(value.count(",") + 1 for value in forwarded) <= MAX_FORWARDED_FOR:
        return None  # not even counting empty entries could it exceed the limit
    addresses = [a for value in forwarded for a in value.split(",") if a.strip()]
    if len(addresses) > MAX_FORWARDED_FOR:
        return "too_many_forwarded_for", (f"X-Forwarded-For carries {len(addresses)} addresses; "
                                          f"the limit is {MAX_FORWARDED_FOR}.")
    return None


class _AlbRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering like ALB when the parser refuses a request."""

    def __init__(self, manager: web.Server, *, error_body: ErrorBody, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._error_body = error_body

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs; refuses once bytes went out
        if isinstance(exc, BadHttpMessage) and "Transfer-Encoding" in str(exc):
            code = "not_implemented"
        else:
            code = {400: "bad_request", 504: "gateway_timeout"}.get(status, "internal_error")
        response = error_response(self._error_body, code, message or "The request is malformed.")
        response.force_close()
        return response


class _AlbServer(web.Server):
    def __init__(self, *args: Any, error_body: ErrorBody, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._error_body = error_body

    def __call__(self) -> RequestHandler:
        return _AlbRequestHandler(self, loop=self._loop, error_body=self._error_body,
                                  **self._kwargs)


class GatewayRunner(web.AppRunner):
    """web.AppRunner whose server answers unparseable requests the way ALB does."""

    def __init__(self, app: web.Application, *, error_body: ErrorBody, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._error_body = error_body

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return _AlbServer(plain.request_handler, request_factory=plain.request_factory,
                          loop=plain._loop, error_body=self._error_body, **plain._kwargs)
