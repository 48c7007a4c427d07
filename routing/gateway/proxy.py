"""The catch-all handler: match the table, then forward (streaming), answer or redirect."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from email.utils import formatdate

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from routing.conditions.base import RequestView
from routing.gateway.errors import error_response
from routing.gateway.headers import downstream_headers, upstream_headers
from routing.gateway.listener import refusal
from routing.gateway.matcher import choose_group, match
from routing.gateway.redirect import listen_port, redirect
from routing.gateway.state import GatewayState
from routing.gateway.stats import NO_GROUP
from routing.gateway.upstream import UpstreamError, UpstreamResponse
from routing.table.model import FixedResponse, Forward, Redirect, RouteTable

log = logging.getLogger("routing.gateway.proxy")
STATE: web.AppKey[GatewayState] = web.AppKey("routing_state", GatewayState)
STICKY_COOKIE = "AWSALBTG"  # ALB's target-group stickiness cookie; its CORS twin: + "CORS"
WHOLE_BODY_LIMIT = 64 * 1024
_rng = random.Random()  # noqa: S311 -- traffic splitting, not security


def _undecodable_header(request: web.Request) -> str | None:
    """The first header whose value is not UTF-8. Forwarding it would re-encode the bytes and could
    turn two different values (say, two Idempotency-Keys) into one, so such a request stops here."""
    for name, value in request.raw_headers:
        if value.isascii():
            continue  # ASCII is UTF-8: the common case, without decoding
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return name.decode("latin-1")
    return None


def _view(request: web.Request) -> RequestView:
    return RequestView(method=request.method, path=request.raw_path.split("?", 1)[0],
                       headers=tuple(request.headers.items()),
                       query=tuple(request.query.items()), source_ip=request.remote or "")


async def handle(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    table = state.table  # one read: this request sees one table even if a reload swaps it
    started = time.perf_counter()
    refused = refusal(request)
    if refused is not None:
        return error_response(state.alb.error_body, *refused)
    bad_header = _undecodable_header(request)
    if bad_header is not None:
        return error_response(state.alb.error_body, "invalid_header_value",
                              f"The value of header {bad_header!r} is not UTF-8; the gateway "
                              "does not forward it.", header=bad_header)
    found = match(table, _view(request))
    action = found.action
    if isinstance(action, FixedResponse):
        response = web.Response(status=action.status_code, text=action.body,
                                content_type=action.content_type)
    elif isinstance(action, Redirect):
        response = redirect(request, action)
    else:
        return await _forward(request, state, table, found.rule, action, started)
    state.stats.record(found.rule, NO_GROUP, response.status, time.perf_counter() - started)
    return response


def sticky_cookie(cookies: Mapping[str, str], action: Forward) -> str | None:
    """The group a stickiness cookie names, when the action has group stickiness; cross-origin
    callers may send only the CORS twin."""
    if not action.stickiness_seconds:
        return None
    return cookies.get(STICKY_COOKIE) or cookies.get(STICKY_COOKIE + "CORS")


async def _forward(request: web.Request, state: GatewayState, table: RouteTable, rule: str,
                   action: Forward, started: float) -> web.StreamResponse:
    # Cookies are parsed only for a rule with stickiness; registration matters only for a
    # group a cookie names.
    sticky = sticky_cookie(request.cookies, action) if action.stickiness_seconds else None
    registered = ({n: bool(state.health.group(n).targets) for n, _ in action.weights}
                  if sticky is not None else None)
    group_name = choose_group(action, _rng, sticky=sticky, usable=registered)
    group = table.group(group_name)
    assert group is not None  # validation guarantees every forwarded group exists
    style = state.alb.error_body

    def finish(status: int, reason: str | None = None) -> None:
        state.stats.record(rule, group_name, status, time.perf_counter() - started, reason)

    # Unhealthy targets are skipped while the group has a healthy one; else all take traffic.
    target = state.health.group(group_name).choose()
    if target is None:
        finish(503, "unavailable")
        return error_response(style, "service_unavailable",
                              "The target group has no registered target.",
                              target_group=group_name)
    target.outstanding += 1  # in flight until answered in full (least outstanding requests)
    try:
        return await _proxy(request, state, action, group_name, target.url, finish)
    finally:
        target.outstanding -= 1


async def _proxy(request: web.Request, state: GatewayState, action: Forward, group_name: str,
                 target_url: str, finish: Callable[..., None]) -> web.StreamResponse:
    style = state.alb.error_body
    peer = request.remote or ""
    headers = upstream_headers(request.headers, peer, request.scheme, listen_port(request),
                               state.alb.xff_mode)
    pool = state.pool(target_url)
    if "Host" not in headers:  # HTTP/1.0 callers may send none; HTTP/1.1 needs one
        headers.add("Host", f"{pool.host}:{pool.port}")
    try:
        body, chunked = await _request_body(request, headers)
        upstream = await pool.request(request.method, request.raw_path, headers.items(), body,
                                      chunked=chunked)
    except TimeoutError:
        finish(504, "timeout")
        return error_response(style, "gateway_timeout", "The target did not answer in time.",
                              target_group=group_name)
    except (UpstreamError, aiohttp.ClientError, ConnectionResetError) as error:
        # The client's own body failing (it left, or sent broken chunks) ends here too.
        finish(502, "bad_gateway")
        log.warning("%s %s -> %s (%s): %s", request.method, request.path, group_name,
                    target_url, error)
        return error_response(style, "bad_gateway", "The target closed the connection or "
                              "answered something that is not HTTP.", target_group=group_name)
    try:
        headers = downstream_headers(upstream.headers)
        if state.settings.served_by_header:
            headers["X-Served-By"] = group_name
        whole = _whole_body_size(request, upstream)
        try:
            # A small body with a known length goes out in one write with the headers;
            # anything else is streamed chunk by chunk.
            body = await upstream.read() if whole else None
        except (UpstreamError, TimeoutError) as error:
            timed_out = isinstance(error, TimeoutError)
            finish(504 if timed_out else 502, "timeout" if timed_out else "bad_gateway")
            return error_response(style, "gateway_timeout" if timed_out else "bad_gateway",
                                  "The target's response body was cut short.",
                                  target_group=group_name)
        response: web.StreamResponse
        if body is not None:
            headers.popall("Content-Length", None)
            response = web.Response(status=upstream.status, reason=upstream.reason,
                                    headers=headers, body=body)
        else:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                          headers=headers)
        if action.stickiness_seconds:
            set_sticky(response, group_name, action.stickiness_seconds)
        finish(upstream.status)
        if body is not None:
            return response
        return await _stream(request, upstream, response, group_name)
    finally:
        upstream.release()


BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "DELETE", "CONNECT"})


async def _request_body(request: web.Request, headers: CIMultiDict[str],
                        ) -> tuple[bytes | AsyncIterator[bytes] | None, bool]:
    """The body to send and whether it goes chunked. A small body of known length is read
    whole and goes out with the head in one write; a large one is streamed with its length;
    one the client sent chunked is sent on chunked (Transfer-Encoding is hop-by-hop)."""
    if not request.body_exists:
        if request.method not in BODYLESS_METHODS and "Content-Length" not in headers:
            headers.add("Content-Length", "0")
        return None, False
    length = request.content_length
    if length is not None and length <= WHOLE_BODY_LIMIT:
        return await request.read(), False
    if length is None:
        headers.add("Transfer-Encoding", "chunked")
    return request.content.iter_any(), length is None


def _whole_body_size(request: web.Request, upstream: UpstreamResponse) -> bool:
    length = upstream.content_length
    return (length is not None and length <= WHOLE_BODY_LIMIT and request.method != "HEAD"
            and upstream.status not in (204, 304) and upstream.status >= 200)


def set_sticky(response: web.StreamResponse, group: str, seconds: int,
               now: float | None = None) -> None:
    """As ALB: AWSALBTG with Expires (no Max-Age, not HttpOnly) and Path=/, plus AWSALBTGCORS
    with SameSite=None; Secure for cross-origin callers; set anew, so renewed, on every response.
    ALB's value is opaque; here it names the group."""
    expires = formatdate((time.time() if now is None else now) + seconds, usegmt=True)
    # Written out, not set_cookie: http.cookies would spell the attribute `expires`.
    response.headers.add("Set-Cookie", f"{STICKY_COOKIE}={group}; Expires={expires}; Path=/")
    response.headers.add("Set-Cookie", f"{STICKY_COOKIE}CORS={group}; Expires={expires}; "
                                       "Path=/; SameSite=None; Secure")


async def _stream(request: web.Request, upstream: UpstreamResponse,
                  response: web.StreamResponse, group: str) -> web.StreamResponse:
    try:
        await response.prepare(request)
        async for chunk in upstream.iter_chunks():
            await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client left; nothing to tell it
    except (UpstreamError, TimeoutError) as error:
        log.warning("body from %s cut short: %r", group, error)
        if request.transport is not None:
            request.transport.close()  # the client must not take a short body as whole
    return response
