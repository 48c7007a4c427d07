"""`python -m routing.gateway` as the supervisor starts it: routes, stops on SIGTERM, refuses
to start on a broken table."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

from routing.echo_backend import bound_socket
from tests.integration.routing.conftest import Backend


def _env(backends: dict[str, Backend]) -> dict[str, str]:
    env = dict(os.environ, ROUTING_HEALTH_INTERVAL_S="0.2")
    env.update({f"ROUTING_TARGET_{n.upper()}_URL": b.url for n, b in backends.items()})
    return env


async def _ready(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as client:
        for _ in range(100):
            assert process.returncode is None, "the gateway exited during start-up"
            try:
                async with client.get(url + "/__gateway/status.json") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise AssertionError("the gateway did not start within 10 s")


async def test_the_gateway_process_routes_and_stops_on_sigterm(
        backends: dict[str, Backend], table_file: Path) -> None:
    port = bound_socket().getsockname()[1]  # a free port (closed again at once)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "routing.gateway", "--table", str(table_file), "--host",
        "127.0.0.1", "--port", str(port), env=_env(backends),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        await _ready(url, process)
        async with aiohttp.ClientSession() as client, client.post(
                url + "/api/verification-checks", headers={"X-Backend": "services"},
                json={}) as response:
            assert response.status == 200
            assert (await response.json())["backend"] == "verify"
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=10)
    assert code == 0


async def test_the_gateway_refuses_to_start_on_a_broken_table(
        backends: dict[str, Backend], table_file: Path) -> None:
    table_file.write_text(table_file.read_text().replace("send = 0", "send = 1000"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "routing.gateway", "--table", str(table_file), "--port", "0",
        env=_env(backends), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "rule 'verifications': action.weights.send: weight 1000 is outside 0..999" in \
        stderr.decode()
