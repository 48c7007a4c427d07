"""The gateway's hop to a target at the byte level: kept-alive connections are reused, a body that
ends at close passes whole, HEAD leaves the connection usable, a target closing an idle connection
costs no request. The target here is a raw socket server, so every answer is exactly as written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest

from routing.gateway.settings import env_key

from .conftest import StartGateway

Answer = Callable[[bytes], bytes]  # request head -> the raw answer


@dataclass
class RawTarget:
    answer: Answer
    close_after: int = 0  # close the connection after this many answers (0: keep it open)
    connections: int = 0
    requests: list[tuple[int, bytes]] = field(default_factory=list)  # (connection, request)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection, answered = self.connections, 0
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append((connection, head + await reader.readexactly(length)))
                writer.write(self.answer(head))
                await writer.drain()
                answered += 1
                if b"close" in self.answer(head).lower() or answered == self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


StartTarget = Callable[..., Awaitable[RawTarget]]


@pytest.fixture
async def raw_target() -> AsyncIterator[StartTarget]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer, close_after: int = 0) -> RawTarget:
        target = RawTarget(answer, close_after)
        server = await asyncio.start_server(target.handle, "127.0.0.1", 0)
        servers.append(server)
        target.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return target

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def _ok(body: bytes = b'{"ok":true}', extra: bytes = b"") -> Answer:
    def answer(head: bytes) -> bytes:
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%b"
                b"\r\n%b" % (len(body), extra, b"" if head.startswith(b"HEAD ") else body))
    return answer


async def _gateway(start_gateway: StartGateway, target: RawTarget) -> str:
    gw = await start_gateway(target_urls={env_key(n): target.url
                                          for n in ("monolith", "send", "verify")},
                             health_interval_s=60.0)
    return gw.url


async def test_sequential_requests_reuse_one_kept_alive_connection(
        start_gateway: StartGateway, raw_target: StartTarget,
        client: aiohttp.ClientSession) -> None:
    target: RawTarget = await raw_target(_ok())
    url = await _gateway(start_gateway, target)
    for _ in range(5):
        async with client.post(url + "/api/users", data=b'{"a":1}') as response:
            assert response.status == 200 and await response.read() == b'{"ok":true}'
    proxied = [(c, r) for c, r in target.requests if r.startswith(b"POST /api/users ")]
    assert len(proxied) == 5 and all(r.endswith(b'{"a":1}') for _, r in proxied)
    assert len({c for c, _ in proxied}) == 1  # health checks have connections of their own


async def test_a_body_that_ends_when_the_target_closes_passes_whole(
        start_gateway: StartGateway, raw_target: StartTarget,
        client: aiohttp.ClientSession) -> None:
    body = b"x" * 200_000
    target: RawTarget = await raw_target(
        lambda head: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)
    url = await _gateway(start_gateway, target)
    for _ in range(2):  # the closed connection is not reused
        async with client.get(url + "/api/users") as response:
            assert response.status == 200 and await response.read() == body


async def test_head_leaves_the_connection_usable_for_the_next_request(
        start_gateway: StartGateway, raw_target: StartTarget,
        client: aiohttp.ClientSession) -> None:
    target: RawTarget = await raw_target(_ok())
    url = await _gateway(start_gateway, target)
    async with client.head(url + "/api/users") as response:
        assert response.status == 200 and response.headers["Content-Length"] == "11"
        assert await response.read() == b""
    async with client.get(url + "/api/users") as response:
        assert response.status == 200 and await response.read() == b'{"ok":true}'


async def test_a_target_closing_its_idle_connection_costs_no_request(
        start_gateway: StartGateway, raw_target: StartTarget,
        client: aiohttp.ClientSession) -> None:
    target: RawTarget = await raw_target(_ok(), close_after=1)
    url = await _gateway(start_gateway, target)
    for _ in range(4):
        async with client.post(url + "/api/users", data=b"{}") as response:
            assert response.status == 200 and await response.read() == b'{"ok":true}'
        await asyncio.sleep(0.05)  # the close reaches the gateway while its connection idles
