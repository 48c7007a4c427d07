"""`python -m routing.gateway` as the supervisor starts it: routes, stops on SIGTERM, refuses
to start on a broken table."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path

import aiohttp

from devtools.components import local_spec
from devtools.processes import HttpReady, start_one
from devtools.redis_server import free_port
from infra.components import by_name
from tests.integration.routing.conftest import Backend


def _env(backends: dict[str, Backend]) -> dict[str, str]:
    return {"ROUTING_HEALTH_INTERVAL_S": "0.2",
            **{f"ROUTING_TARGET_{n.upper()}_URL": b.url for n, b in backends.items()}}


async def test_the_gateway_process_routes_and_stops_on_sigterm(
        backends: dict[str, Backend], table_file: Path) -> None:
    spec = local_spec(by_name("gateway"), {"gateway": free_port()}, _env(backends),
                      fill={"table": str(table_file)})
    spec = dataclasses.replace(spec, ready=HttpReady(f"{spec.url}/__gateway/status.json"))
    # In a thread: the backends answer on this test's event loop meanwhile.
    process = await asyncio.to_thread(start_one, spec, timeout=10)
    try:
        async with aiohttp.ClientSession() as client, client.post(
                f"{spec.url}/api/verification-checks", headers={"X-Backend": "services"},
                json={}) as response:
            assert response.status == 200
            assert (await response.json())["backend"] == "verify"
    finally:
        code = await asyncio.to_thread(process.stop, 10)
    assert code == 0


async def test_the_gateway_refuses_to_start_on_a_broken_table(
        backends: dict[str, Backend], table_file: Path) -> None:
    table_file.write_text(table_file.read_text().replace("send = 0", "send = 1000"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "routing.gateway", "--table", str(table_file), "--port", "0",
        env={**os.environ, **_env(backends)}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "rule 'verifications': action.weights.send: weight 1000 is outside 0..999" in \
        stderr.decode()
