"""The catch-all handler: match the table, then forward (streaming), answer or redirect."""

from __future__ import annotations

import json
import logging
import random
import time

import aiohttp
from aiohttp import web
from yarl import URL

from routing.conditions.base import RequestView
from routing.gateway.headers import downstream_headers, upstream_headers
from routing.gateway.matcher import choose_group, match
from routing.gateway.redirect import listen_port, redirect
from routing.gateway.state import GatewayState
from routing.gateway.stats import NO_GROUP
from routing.table.model import FixedResponse, Forward, Redirect, RouteTable

log = logging.getLogger("routing.gateway.proxy")
STATE: web.AppKey[GatewayState] = web.AppKey("routing_state", GatewayState)
STICKY_COOKIE = "AWSALBTG"
WHOLE_BODY_LIMIT = 64 * 1024
_rng = random.Random()  # noqa: S311 -- traffic splitting, not security
PROBLEMS = {  # the gateway's own errors: code -> (status, title); never the API's
    "invalid_header_value": (400, "Invalid header value"),
    "bad_gateway": (502, "Bad Gateway"),
    "service_unavailable": (503, "Service Unavailable"),
    "gateway_timeout": (504, "Gateway Timeout"),
}


def problem(code: str, detail: str, **extra: str) -> web.Response:
    """application/problem+json typed urn:problem:gateway:<code>, plus what it is about
    (`target_group`, `header`)."""
    status, title = PROBLEMS[code]
    body = {"type": f"urn:problem:gateway:{code}", "title": title, "status": status,
            "detail": detail, "code": code, **extra}
    # A 503 is worth retrying soon: health checks run every few seconds.
    headers = {"Retry-After": "1"} if status == 503 else None
    return web.Response(status=status, text=json.dumps(body), headers=headers,
                        content_type="application/problem+json")


def _undecodable_header(request: web.Request) -> str | None:
    """The first header whose value is not UTF-8. Forwarding it would re-encode the bytes and could
    turn two different values (say, two Idempotency-Keys) into one, so such a request stops here."""
    for name, value in request.raw_headers:
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
    bad_header = _undecodable_header(request)
    if bad_header is not None:
        return problem("invalid_header_value", f"The value of header {bad_header!r} is not "
                       "UTF-8; the gateway does not forward it.", header=bad_header)
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


async def _forward(request: web.Request, state: GatewayState, table: RouteTable, rule: str,
                   action: Forward, started: float) -> web.StreamResponse:
    sticky = request.cookies.get(STICKY_COOKIE) if action.stickiness_seconds else None
    usable = {n: state.health.is_healthy(n) for n, _ in action.weights}
    group_name = choose_group(action, _rng, sticky=sticky, usable=usable)
    group = table.group(group_name)
    assert group is not None  # validation guarantees every forwarded group exists

    def finish(status: int, reason: str | None = None) -> None:
        state.stats.record(rule, group_name, status, time.perf_counter() - started, reason)

    if not usable[group_name]:
        finish(503, "unavailable")
        return problem("service_unavailable", "The target group has no healthy target.",
                       target_group=group_name)
    peer = request.remote or ""
    headers = upstream_headers(request.headers, peer, request.scheme, listen_port(request))
    url = URL(group.url.rstrip("/") + request.raw_path, encoded=True)
    session = state.pool(group.url)
    try:
        upstream = await session.request(
            request.method, url, headers=headers, allow_redirects=False,
            data=request.content if request.body_exists else None)
    except TimeoutError:
        finish(504, "timeout")
        return problem("gateway_timeout", "The target did not answer in time.",
                       target_group=group_name)
    except (aiohttp.ClientError, ValueError) as error:
        finish(502, "bad_gateway")
        log.warning("%s %s -> %s: %s", request.method, request.path, group_name, error)
        return problem("bad_gateway", "The target closed the connection or answered "
                       "something that is not HTTP.", target_group=group_name)
    async with upstream:
        headers = downstream_headers(upstream.headers)
        if state.settings.served_by_header:
            headers["X-Served-By"] = group_name
        whole = _whole_body_size(request, upstream)
        try:
            # A small body with a known length goes out in one write with the headers;
            # anything else is streamed chunk by chunk.
            body = await upstream.read() if whole else None
        except (aiohttp.ClientError, TimeoutError) as error:
            timed_out = isinstance(error, TimeoutError)
            finish(504 if timed_out else 502, "timeout" if timed_out else "bad_gateway")
            return problem("gateway_timeout" if timed_out else "bad_gateway",
                           "The target's response body was cut short.", target_group=group_name)
        response: web.StreamResponse
        if body is not None:
            headers.popall("Content-Length", None)
            response = web.Response(status=upstream.status, reason=upstream.reason,
                                    headers=headers, body=body)
        else:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                          headers=headers)
        if action.stickiness_seconds:
            _set_sticky(response, group_name, action.stickiness_seconds)
        finish(upstream.status)
        if body is not None:
            return response
        return await _stream(request, upstream, response, group_name)


def _whole_body_size(request: web.Request, upstream: aiohttp.ClientResponse) -> bool:
    length = upstream.content_length
    return (length is not None and length <= WHOLE_BODY_LIMIT and request.method != "HEAD"
            and upstream.status not in (204, 304) and upstream.status >= 200)


def _set_sticky(response: web.StreamResponse, group: str, seconds: int) -> None:
    response.set_cookie(STICKY_COOKIE, group, max_age=seconds, path="/", httponly=True)
    # ALB's CORS twin of the cookie, for cross-origin callers.
    response.set_cookie(STICKY_COOKIE + "CORS", group, max_age=seconds, path="/",
                        httponly=True, samesite="None", secure=True)


async def _stream(request: web.Request, upstream: aiohttp.ClientResponse,
                  response: web.StreamResponse, group: str) -> web.StreamResponse:
    try:
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client left; nothing to tell it
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("body from %s cut short: %r", group, error)
        if request.transport is not None:
            request.transport.close()  # the client must not take a short body as whole
    return response
