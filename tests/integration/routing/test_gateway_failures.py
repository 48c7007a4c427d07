"""What clients see when targets fail, as from an ALB: 502 and 504 for the failing group only,
fail open when every target is unhealthy, 503 only for a group without targets; ALB's HTML
error pages by default, problem+json as an option."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from routing.gateway.alb_settings import AlbSettings
from routing.gateway.settings import env_key

from .conftest import Backend, StartGateway
from .helpers import eventually, served_by, set_weights

SEND = "/api/verifications"
PROBLEM = AlbSettings(idle_timeout_s=5.0, connect_timeout_s=2.0, error_body="problem")


async def _post(client: aiohttp.ClientSession, url: str) -> tuple[int, str, aiohttp.ClientResponse]:
    async with client.post(url, json={}) as response:
        return response.status, await response.text(), response


def _assert_alb_page(status: int, text: str, response: aiohttp.ClientResponse,
                     expected: int, title: str) -> None:
    assert status == expected, text
    assert response.headers["Server"] == "awselb/2.0"
    assert response.headers["Content-Type"].startswith("text/html")
    assert text == (f"<html>\r\n<head><title>{expected} {title}</title></head>\r\n<body>\r\n"
                    f"<center><h1>{expected} {title}</h1></center>\r\n</body>\r\n</html>\r\n")


async def test_a_dead_backend_gives_502_and_fails_open_once_unhealthy(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    gw = await start_gateway(health_interval_s=0.2)
    set_weights(gw.table, "verifications", {"monolith": 0, "send": 1})
    assert gw.state.reload_if_changed()
    assert (await _post(client, gw.url + SEND))[0] == 200
    await backends["send"].stop()
    _assert_alb_page(*await _post(client, gw.url + SEND), 502, "Bad Gateway")
    assert (await _post(client, gw.url + "/api/users"))[0] == 200

    async def send_is_out() -> bool:
        return not gw.state.health.group("send").healthy

    await eventually(send_is_out, "health checks mark send's only target unhealthy")
    # ALB routes to unhealthy targets when a group has no healthy one: still tried, still 502.
    _assert_alb_page(*await _post(client, gw.url + SEND), 502, "Bad Gateway")
    async with client.get(gw.url + "/__gateway/status.json") as response:
        send = {g["name"]: g for g in (await response.json())["target_groups"]}["send"]
    assert (send["healthy"], send["failing_open"]) == (False, True)
    assert send["targets"][0]["healthy"] is False and send["targets"][0]["last_health_error"]
    async with client.get(gw.url + "/__gateway/metrics") as response:
        metrics = await response.text()
    assert 'gateway_target_group_failing_open{target_group="send"} 1.0' in metrics
    assert 'gateway_target_group_failing_open{target_group="monolith"} 0.0' in metrics
    assert f'gateway_target_healthy{{target="{backends["send"].url}",target_group="send"}} 0.0' \
        in metrics


async def test_a_group_whose_targets_all_fail_their_checks_still_serves(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    set_weights(gw.table, "verifications", {"monolith": 1, "send": 1})
    assert gw.state.reload_if_changed()
    backends["send"].behaviour.ready = False

    async def send_is_out() -> bool:
        return gw.state.health.group("send").failing_open

    await eventually(send_is_out, "send unhealthy")
    seen = await served_by(client, gw.url + SEND, 200)
    assert set(seen) == {"monolith", "send"}, seen  # fail open: no 503
    backends["send"].behaviour.ready = True

    async def send_is_back() -> bool:
        return gw.state.health.group("send").healthy

    await eventually(send_is_back, "send healthy again")
    assert set(await served_by(client, gw.url + SEND, 100)) == {"monolith", "send"}


async def test_a_group_without_targets_answers_503(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    urls = {env_key(n): b.url for n, b in backends.items()} | {"SEND": ""}
    gw = await start_gateway(target_urls=urls)
    set_weights(gw.table, "verifications", {"monolith": 0, "send": 1})
    assert gw.state.reload_if_changed()
    status, text, response = await _post(client, gw.url + SEND)
    _assert_alb_page(status, text, response, 503, "Service Temporarily Unavailable")
    assert "Retry-After" not in response.headers
    async with client.get(gw.url + "/__gateway/status.json") as answer:
        send = {g["name"]: g for g in (await answer.json())["target_groups"]}["send"]
    assert send["targets"] == [] and send["failing_open"] is False


async def test_problem_json_bodies_are_a_setting(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    urls = {env_key(n): b.url for n, b in backends.items()} | {"SEND": ""}
    gw = await start_gateway(alb=PROBLEM, target_urls=urls)
    set_weights(gw.table, "verifications", {"monolith": 0, "send": 1})
    assert gw.state.reload_if_changed()
    async with client.post(gw.url + SEND, json={}) as response:
        assert response.status == 503
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.headers["Retry-After"] == "1"
        body = await response.json(content_type=None)
    assert body["type"] == "urn:problem:gateway:service_unavailable"
    assert (body["code"], body["status"], body["target_group"]) == (
        "service_unavailable", 503, "send")
    await backends["monolith"].stop()
    async with client.get(gw.url + "/api/users") as response:
        body = await response.json(content_type=None)
    assert (response.status, body["code"], body["target_group"]) == (502, "bad_gateway",
                                                                     "monolith")


async def test_a_slow_target_gives_504_after_the_idle_timeout(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    backends["monolith"].behaviour.delay_s = 3.0
    gw = await start_gateway(alb=AlbSettings(idle_timeout_s=0.3))
    started = time.monotonic()
    _assert_alb_page(*await _post(client, gw.url + "/api/users"), 504, "Gateway Time-out")
    assert time.monotonic() - started < 2.0


@pytest.fixture
def unanswering_target() -> Iterator[str]:
    """A listener whose accept queue is full: connecting to it hangs (the SYN is dropped)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    yield f"http://127.0.0.1:{address[1]}"
    for sock in (*fillers, server):
        sock.close()


async def test_a_target_that_does_not_accept_gives_504_after_the_connect_timeout(
        start_gateway: StartGateway, backends: dict[str, Backend], unanswering_target: str,
        client: aiohttp.ClientSession) -> None:
    urls = {env_key(n): b.url for n, b in backends.items()} | {"MONOLITH": unanswering_target}
    gw = await start_gateway(alb=AlbSettings(connect_timeout_s=0.3), target_urls=urls,
                             health_interval_s=30)
    started = time.monotonic()
    _assert_alb_page(*await _post(client, gw.url + "/api/users"), 504, "Gateway Time-out")
    assert 0.25 < time.monotonic() - started < 2.0


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
    assert (await _post(client, gw.url + SEND))[0] == 200  # monolith at 100 %
    set_weights(gw.table, "verifications", {"monolith": 0, "send": 1})
    assert gw.state.reload_if_changed()
    _assert_alb_page(*await _post(client, gw.url + SEND), 502, "Bad Gateway")


async def test_target_5xx_passes_through_and_counts_as_error(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    backends["monolith"].behaviour.fail_status = 500
    gw = await start_gateway()
    status, text, _ = await _post(client, gw.url + "/api/users")
    assert status == 500 and json.loads(text)["backend"] == "monolith"
    (row,) = [t for t in gw.state.stats.snapshot() if t.rule == "default"]
    assert (row.requests_total, row.errors_total) == (1, 1)


async def _raw(url: str, request: bytes) -> tuple[bytes, bytes]:
    port = int(url.rsplit(":", 1)[1].rstrip("/"))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


NOT_UTF8 = (b"POST /api/verifications HTTP/1.1\r\nHost: x\r\nIdempotency-Key: cl\xe9\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n")


async def test_a_header_value_that_is_not_utf8_stops_at_the_gateway(
        start_gateway: StartGateway) -> None:
    """Re-encoding it would let two different Idempotency-Keys reach the target as one."""
    head, body = await _raw((await start_gateway(alb=PROBLEM)).url, NOT_UTF8)
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"Content-Type: application/problem+json" in head
    problem = json.loads(body)
    assert problem["type"] == "urn:problem:gateway:invalid_header_value"
    assert problem["code"] == "invalid_header_value" and problem["status"] == 400
    assert problem["header"] == "Idempotency-Key"
    head, body = await _raw((await start_gateway()).url, NOT_UTF8)  # ALB's page by default
    assert head.startswith(b"HTTP/1.1 400") and b"Server: awselb/2.0" in head
    assert b"<h1>400 Bad Request</h1>" in body
