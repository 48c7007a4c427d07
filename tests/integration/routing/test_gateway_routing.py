"""The gateway in front of real backends: routing, headers, weights, stickiness."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime

import aiohttp

from routing.table.loader import load_table
from routing.table.model import Forward
from routing.table.store import save_table

from .conftest import Backend, Gateway, StartGateway
from .helpers import served_by, set_weights


async def test_rules_route_by_header_pin_and_path(start_gateway: StartGateway,
                                                  client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    cases = [("GET", "/api/users/1", {}, "monolith"),
             ("POST", "/api/verifications", {}, "monolith"),
             ("POST", "/api/verifications", {"X-Backend": "services"}, "send"),
             ("GET", "/api/verifications/VE1?x=1", {"x-backend": "SERVICES"}, "send"),
             ("POST", "/api/verification-checks", {"X-Backend": "services"}, "verify"),
             ("POST", "/api/verification-checks", {"X-Backend": "monolith"}, "monolith"),
             ("GET", "/healthz", {"X-Backend": "services"}, "monolith")]
    for method, path, headers, expected in cases:
        async with client.request(method, gw.url + path, headers=headers,
                                  data=b'{"to": "+1"}') as response:
            echoed = await response.json()
            assert response.status == 200, (path, echoed)
            assert echoed["backend"] == expected, (method, path, headers)
            assert response.headers["X-Served-By"] == expected
            assert echoed["path"] == path  # path and query reach the target unchanged
            assert echoed["body"] == '{"to": "+1"}'


async def test_forwarding_headers_are_added(start_gateway: StartGateway,
                                            client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    port = gw.url.rsplit(":", 1)[1]
    async with client.get(gw.url + "/x", headers={"X-Forwarded-For": "203.0.113.9",
                                                  "Connection": "keep-alive"}) as response:
        seen = (await response.json())["headers"]
    assert seen["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http" and seen["X-Forwarded-Port"] == port
    root = re.fullmatch(r"Root=1-([0-9a-f]{8})-[0-9a-f]{24}", seen["X-Amzn-Trace-Id"])
    assert root and abs(int(root.group(1), 16) - time.time()) < 60
    incoming = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    async with client.get(gw.url + "/x", headers={"X-Amzn-Trace-Id": incoming}) as response:
        trace = (await response.json())["headers"]["X-Amzn-Trace-Id"]
    assert re.fullmatch(r"Self=1-[0-9a-f]{8}-[0-9a-f]{24};" + re.escape(incoming), trace)


async def test_served_by_header_can_be_turned_off(start_gateway: StartGateway,
                                                  client: aiohttp.ClientSession) -> None:
    gw = await start_gateway(served_by_header=False)
    async with client.get(gw.url + "/x") as response:
        assert response.status == 200 and "X-Served-By" not in response.headers


async def test_a_25_75_split_holds_over_2000_requests(start_gateway: StartGateway,
                                                      client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    set_weights(gw.table, "verifications", {"monolith": 75, "send": 25})
    assert gw.state.reload_if_changed()
    seen = await served_by(client, gw.url + "/api/verifications/VE1", 2000)
    assert set(seen) == {"monolith", "send"}, seen
    sigma = math.sqrt(2000 * 0.25 * 0.75)
    assert abs(seen["send"] - 500) <= 4.5 * sigma, seen


async def _sticky_table(gw: Gateway, weights: dict[str, int]) -> None:
    table = load_table(gw.table)
    rules = tuple(dataclasses.replace(r, action=Forward(tuple(weights.items()), 60))
                  if r.name == "verifications" else r for r in table.rules)
    save_table(gw.table, dataclasses.replace(table, rules=rules))
    assert gw.state.reload_if_changed()


def _expires(cookie: str) -> float:
    found = re.search(r"; Expires=([^;]+);", cookie)
    assert found, cookie
    return parsedate_to_datetime(found.group(1)).timestamp()


def _assert_alb_sticky_cookies(cookies: list[str], group: str, seconds: int) -> None:
    """ALB's shape: AWSALBTG with Expires and Path=/ (no Max-Age, no HttpOnly), and its
    AWSALBTGCORS twin with SameSite=None; Secure, both expiring `seconds` from now."""
    date = r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT"
    assert len(cookies) == 2, cookies
    assert re.fullmatch(rf"AWSALBTG={group}; Expires={date}; Path=/", cookies[0]), cookies
    assert re.fullmatch(rf"AWSALBTGCORS={group}; Expires={date}; Path=/; SameSite=None; Secure",
                        cookies[1]), cookies
    assert _expires(cookies[0]) == _expires(cookies[1])
    assert abs(_expires(cookies[0]) - (time.time() + seconds)) < 2


async def test_stickiness_keeps_a_client_on_one_group(start_gateway: StartGateway,
                                                      backends: dict[str, Backend]) -> None:
    gw = await start_gateway()
    await _sticky_table(gw, {"monolith": 50, "send": 50})
    url = gw.url + "/api/verifications"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as fresh:
        # without the cookie both groups show up
        assert set(await served_by(fresh, url, 60)) == {"monolith", "send"}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as sticky:
        async with sticky.get(url) as first:
            group = first.headers["X-Served-By"]
            cookies = first.headers.getall("Set-Cookie")
        _assert_alb_sticky_cookies(cookies, group, 60)
        assert await served_by(sticky, url, 40, concurrency=1) == {group: 40}
        await asyncio.sleep(1.1)  # Expires has one-second resolution
        async with sticky.get(url) as later:  # every response renews the expiry
            renewed = later.headers.getall("Set-Cookie")
        _assert_alb_sticky_cookies(renewed, group, 60)
        assert _expires(renewed[0]) > _expires(cookies[0])
        other = "send" if group == "monolith" else "monolith"
        await _sticky_table(gw, {group: 0, other: 1})  # the sticky group leaves the rule
        assert await served_by(sticky, url, 10, concurrency=1) == {other: 10}


async def test_large_bodies_stream_through_intact_and_head_has_no_body(
        start_gateway: StartGateway, client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    payload = bytes(range(97, 123)) * 20000  # 520 kB each way: the streamed path

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start:start + 65536]

    async with client.post(gw.url + "/upload", data=chunks()) as response:
        echoed = await response.json()
        assert response.status == 200 and echoed["body"] == payload.decode()
        assert echoed["headers"]["Transfer-Encoding"] == "chunked"
    async with client.post(gw.url + "/upload", data=payload) as response:
        echoed = await response.json()
        assert echoed["headers"]["Content-Length"] == str(len(payload))
        assert echoed["body"] == payload.decode()
    async with client.head(gw.url + "/api/users") as response:
        assert response.status == 200 and await response.read() == b""


async def test_the_cors_twin_alone_keeps_a_client_on_its_group(
        start_gateway: StartGateway) -> None:
    """Cross-origin callers may only send AWSALBTGCORS; ALB honours it as the group cookie."""
    gw = await start_gateway()
    await _sticky_table(gw, {"monolith": 50, "send": 50})
    url = gw.url + "/api/verifications"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as bare:
        for group in ("monolith", "send"):
            seen = await served_by(bare, url, 20, headers={"Cookie": f"AWSALBTGCORS={group}"})
            assert seen == {group: 20}
