"""The catch-all handler: match the table, then forward (streaming), answer or redirect."""

from __future__ import annotations

import json
import logging
import random
import time

import aiohttp
from aiohttp import web
from yarl import URL

from routing.gateway.headers import downstream_headers, upstream_headers
from routing.gateway.state import GatewayState
from routing.gateway.stats import NO_GROUP
from routing.matcher import RequestView, choose_group, match
from routing.model import FixedResponse, Forward, Redirect, RouteTable

log = logging.getLogger("routing.gateway.proxy")
STATE: web.AppKey[GatewayState] = web.AppKey("routing_state", GatewayState)
STICKY_COOKIE = "AWSALBTG"
_rng = random.Random()  # noqa: S311 -- traffic splitting, not security
_PROBLEMS = {502: ("bad_gateway", "Bad Gateway"), 503: ("service_unavailable",
             "Service Unavailable"), 504: ("gateway_timeout", "Gateway Timeout")}


def problem(status: int, detail: str, group: str) -> web.Response:
    code, title = _PROBLEMS[status]
    body = {"type": f"urn:problem:gateway:{code}", "title": title, "status": status,
            "detail": detail, "code": code, "target_group": group}
    return web.Response(status=status, text=json.dumps(body),
                        content_type="application/problem+json")


def _view(request: web.Request) -> RequestView:
    return RequestView(method=request.method, path=request.raw_path.split("?", 1)[0],
                       headers=tuple(request.headers.items()),
                       query=tuple(request.query.items()), source_ip=request.remote or "")


def _listen_port(request: web.Request) -> str:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return str(sockname[1]) if sockname else "80"


def _redirect(request: web.Request, action: Redirect) -> web.Response:
    parts = {"#{protocol}": request.scheme, "#{host}": request.host.split(":", 1)[0],
             "#{port}": _listen_port(request), "#{path}": request.raw_path.split("?", 1)[0][1:],
             "#{query}": request.query_string}

    def fill(text: str) -> str:
        for placeholder, value in parts.items():
            text = text.replace(placeholder, value)
        return text

    protocol = fill(action.protocol).lower()
    port = fill(action.port)
    default_port = {"http": "80", "https": "443"}.get(protocol)
    query = fill(action.query)
    location = f"{protocol}://{fill(action.host)}{'' if port == default_port else ':' + port}" \
               f"{fill(action.path)}{'?' + query if query else ''}"
    return web.Response(status=action.status_code, headers={"Location": location})


async def handle(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    table = state.table  # one read: this request sees one table even if a reload swaps it
    started = time.perf_counter()
    found = match(table, _view(request))
    action = found.action
    if isinstance(action, FixedResponse):
        response = web.Response(status=action.status_code, text=action.body,
                                content_type=action.content_type)
    elif isinstance(action, Redirect):
        response = _redirect(request, action)
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
        return problem(503, "The target group has no healthy target.", group_name)
    peer = request.remote or ""
    headers = upstream_headers(request.headers, peer, request.scheme, _listen_port(request))
    url = URL(group.url.rstrip("/") + request.raw_path, encoded=True)
    session = state.pool(group.url)
    try:
        upstream = await session.request(
            request.method, url, headers=headers, allow_redirects=False,
            data=request.content if request.body_exists else None)
    except TimeoutError:
        finish(504, "timeout")
        return problem(504, "The target did not answer in time.", group_name)
    except (aiohttp.ClientError, ValueError) as error:
        finish(502, "bad_gateway")
        log.warning("%s %s -> %s: %s", request.method, request.path, group_name, error)
        return problem(502, "The target closed the connection or answered something that is "
                            "not HTTP.", group_name)
    async with upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                      headers=downstream_headers(upstream.headers))
        if state.settings.served_by_header:
            response.headers["X-Served-By"] = group_name
        if action.stickiness_seconds:
            response.set_cookie(STICKY_COOKIE, group_name, max_age=action.stickiness_seconds,
                                path="/", httponly=True)
        finish(upstream.status)
        await response.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("body from %s cut short: %r", group_name, error)
            if request.transport is not None:
                request.transport.close()  # the client must not take a short body as whole
            return response
        await response.write_eof()
    return response
