"""What clients see when targets fail: 502, 503, 504 - only for the failing group."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from routing.gateway.settings import env_key

from .conftest import Backend, StartGateway
from .helpers import eventually, served_by, set_weights

SEND = "/api/verifications"


async def _status(client: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]]:
    async with client.post(url, json={}) as response:
        return response.status, await response.json(content_type=None)


async def test_a_dead_backend_gives_502_then_503_only_for_its_group(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    gw = await start_gateway(health_interval_s=0.5)
    set_weights(gw.table, "verifications", {"monolith": 0, "send": 1})
    assert gw.state.reload_if_changed()
    assert (await _status(client, gw.url + SEND))[0] == 200
    await backends["send"].stop()
    status, body = await _status(client, gw.url + SEND)
    assert status == 502 and body["code"] == "bad_gateway" and body["target_group"] == "send"
    assert (await _status(client, gw.url + "/api/users"))[0] == 200

    async def unavailable() -> bool:
        return (await _status(client, gw.url + SEND))[0] == 503

    await eventually(unavailable, "health checks mark send unhealthy -> 503")
    async with client.post(gw.url + SEND, json={}) as response:
        body = await response.json(content_type=None)
        assert body["code"] == "service_unavailable"
        assert response.headers["Retry-After"] == "1"
    assert (await _status(client, gw.url + "/api/users"))[0] == 200


async def test_failing_readiness_marks_the_group_unhealthy_and_back(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    set_weights(gw.table, "verifications", {"monolith": 1, "send": 1})
    assert gw.state.reload_if_changed()
    backends["send"].behaviour.ready = False

    async def send_is_out() -> bool:
        return not gw.state.health.is_healthy("send")

    await eventually(send_is_out, "send unhealthy")
    seen = await served_by(client, gw.url + SEND, 200)
    assert set(seen) == {"monolith", "503"}, seen  # the weight still picks send: ALB answers 503
    backends["send"].behaviour.ready = True

    async def send_is_back() -> bool:
        return gw.state.health.is_healthy("send")

    await eventually(send_is_back, "send healthy again")
    assert set(await served_by(client, gw.url + SEND, 100)) == {"monolith", "send"}


async def test_a_slow_target_gives_504(start_gateway: StartGateway,
                                       backends: dict[str, Backend],
                                       client: aiohttp.ClientSession) -> None:
    backends["monolith"].behaviour.delay_s = 3.0
    gw = await start_gateway(upstream_timeout_s=0.3)
    started = time.monotonic()
    status, body = await _status(client, gw.url + "/api/users")
    assert status == 504 and body["code"] == "gateway_timeout"
    assert time.monotonic() - started < 2.0


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"this is not HTTP at all\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


async def test_garbage_from_the_target_gives_502(start_gateway: StartGateway,
                                                 backends: dict[str, Backend],
                                                 garbage_server: str,
                                                 client: aiohttp.ClientSession) -> None:
    urls = {env_key(n): b.url for n, b in backends.items()} | {"SEND": garbage_server}
    gw = await start_gateway(target_urls=urls, health_interval_s=30)
    status, body = await _status(client, gw.url + "/api/verifications")
    assert status == 200  # monolith at 100 %
    set_weights(gw.table, "verifications", {"monolith": 0, "send": 1})
    assert gw.state.reload_if_changed()
    status, body = await _status(client, gw.url + "/api/verifications")
    assert status == 502 and body["target_group"] == "send"


async def test_target_5xx_passes_through_and_counts_as_error(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    backends["monolith"].behaviour.fail_status = 500
    gw = await start_gateway()
    status, body = await _status(client, gw.url + "/api/users")
    assert status == 500 and body["backend"] == "monolith"
    (row,) = [t for t in gw.state.stats.snapshot() if t.rule == "default"]
    assert (row.requests_total, row.errors_total) == (1, 1)


async def test_a_header_value_that_is_not_utf8_stops_at_the_gateway(
        start_gateway: StartGateway, client: aiohttp.ClientSession) -> None:
    """Re-encoding it would let two different Idempotency-Keys reach the target as one."""
    gw = await start_gateway()
    port = int(gw.url.rsplit(":", 1)[1].rstrip("/"))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /api/verifications HTTP/1.1\r\nHost: x\r\nIdempotency-Key: cl\xe9\r\n"
                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"Content-Type: application/problem+json" in head
    problem = json.loads(body)
    assert problem["type"] == "urn:problem:gateway:invalid_header_value"
    assert problem["code"] == "invalid_header_value" and problem["status"] == 400
    assert problem["header"] == "Idempotency-Key"
