"""Several targets in one target group, as ALB registers them: round robin or least outstanding
requests, each target with its own health; unhealthy ones skipped while a healthy one is left."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from routing.echo_backend import BEHAVIOUR, create_app, serve
from routing.gateway.settings import GatewaySettings, env_key
from routing.gateway.state import read_table
from routing.table.loader import load_table
from routing.table.store import save_table

from .conftest import Backend, StartGateway
from .helpers import eventually, set_weights

SEND = "/api/verifications"


@pytest.fixture
async def send_targets() -> AsyncIterator[list[Backend]]:
    """Three more echo backends, send-a, send-b and send-c: the send group's targets."""
    started = []
    for name in ("send-a", "send-b", "send-c"):
        app = create_app(name)
        runner, url = await serve(app)
        started.append(Backend(name, url, runner, app[BEHAVIOUR]))
    yield started
    for backend in started:
        await backend.stop()


def _table_with_send_targets(table: Path, targets: list[Backend], algorithm: str) -> None:
    loaded = load_table(table)
    groups = tuple(dataclasses.replace(g, url=", ".join(t.url for t in targets),
                                       algorithm=algorithm) if g.name == "send" else g
                   for g in loaded.target_groups)
    save_table(table, dataclasses.replace(loaded, target_groups=groups))
    set_weights(table, "verifications", {"monolith": 0, "send": 1})


async def _who(client: aiohttp.ClientSession, url: str, count: int,
               concurrency: int = 1) -> Counter[str]:
    gate = asyncio.Semaphore(concurrency)
    seen: Counter[str] = Counter()

    async def one() -> None:
        async with gate, client.post(url, json={}) as response:
            seen[(await response.json())["backend"]] += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return seen


async def test_round_robin_takes_the_targets_in_turn(
        start_gateway: StartGateway, backends: dict[str, Backend], send_targets: list[Backend],
        client: aiohttp.ClientSession) -> None:
    urls = {env_key(n): b.url for n, b in backends.items() if n != "send"}
    gw = await start_gateway(target_urls=urls)
    _table_with_send_targets(gw.table, send_targets, "round_robin")
    assert gw.state.reload_if_changed()
    assert await _who(client, gw.url + SEND, 9) == {"send-a": 3, "send-b": 3, "send-c": 3}


async def test_unhealthy_targets_are_skipped_until_none_is_healthy(
        start_gateway: StartGateway, backends: dict[str, Backend], send_targets: list[Backend],
        client: aiohttp.ClientSession) -> None:
    urls = {env_key(n): b.url for n, b in backends.items() if n != "send"}
    gw = await start_gateway(target_urls=urls)
    _table_with_send_targets(gw.table, send_targets, "round_robin")
    assert gw.state.reload_if_changed()
    send_targets[2].behaviour.ready = False
    group = gw.state.health.group

    async def c_is_out() -> bool:
        return [t.healthy for t in group("send").targets] == [True, True, False]

    await eventually(c_is_out, "send-c unhealthy")
    assert await _who(client, gw.url + SEND, 20, concurrency=4) == {"send-a": 10, "send-b": 10}
    for target in send_targets:
        target.behaviour.ready = False

    async def all_out() -> bool:
        return group("send").failing_open

    await eventually(all_out, "every send target unhealthy")
    seen = await _who(client, gw.url + SEND, 30, concurrency=4)
    assert seen == {"send-a": 10, "send-b": 10, "send-c": 10}  # fail open: all of them
    async with client.get(gw.url + "/__gateway/status.json") as response:
        send = {g["name"]: g for g in (await response.json())["target_groups"]}["send"]
    assert send["failing_open"] is True and send["algorithm"] == "round_robin"
    assert [t["url"] for t in send["targets"]] == [t.url for t in send_targets]
    assert all(t["healthy"] is False and t["last_health_error"] == "status 503"
               for t in send["targets"])


async def test_least_outstanding_requests_avoids_a_busy_target(
        start_gateway: StartGateway, backends: dict[str, Backend], send_targets: list[Backend],
        client: aiohttp.ClientSession) -> None:
    urls = {env_key(n): b.url for n, b in backends.items() if n != "send"}
    gw = await start_gateway(target_urls=urls)
    slow, fast = send_targets[:2]
    _table_with_send_targets(gw.table, [slow, fast], "least_outstanding_requests")
    assert gw.state.reload_if_changed()
    slow.behaviour.delay_s = 1.5
    busy = [asyncio.create_task(_who(client, gw.url + SEND, 1)) for _ in range(2)]
    targets = gw.state.health.group("send").targets

    async def slow_is_busy() -> bool:
        return targets[0].outstanding == 1 and targets[1].outstanding == 0

    await eventually(slow_is_busy, "one request outstanding on the slow target")
    assert await _who(client, gw.url + SEND, 10) == {fast.name: 10}
    assert sum(await asyncio.gather(*busy), Counter()) == {slow.name: 1, fast.name: 1}


async def test_target_lists_come_from_the_table_and_the_environment(
        table_file: Path, send_targets: list[Backend]) -> None:
    text = table_file.read_text()
    assert 'url = "http://127.0.0.1:8002"' in text
    table_file.write_text(text.replace('url = "http://127.0.0.1:8002"',
                                       'url = ["http://127.0.0.1:8002", "http://127.0.0.1:8012"]'))
    settings = GatewaySettings.from_env({}, table_path=table_file)
    send = read_table(settings).group("send")
    assert send is not None
    assert send.target_urls == ("http://127.0.0.1:8002", "http://127.0.0.1:8012")
    joined = f"{send_targets[0].url},{send_targets[1].url}"
    settings = GatewaySettings.from_env({"ROUTING_TARGET_SEND_URL": joined},
                                        table_path=table_file)
    send = read_table(settings).group("send")
    assert send is not None and send.target_urls == (send_targets[0].url, send_targets[1].url)
