"""`promote` walks real traffic through a real gateway to real backends, and backs out when the
new group answers with errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from routing.cli.main import main
from routing.table.loader import load_table
from routing.table.weights import weights_of
from tests.integration.routing.conftest import Backend, Gateway, StartGateway


@contextlib.asynccontextmanager
async def traffic(url: str) -> AsyncIterator[list[int]]:
    """A steady trickle of requests for the whole block; yields the statuses seen."""
    statuses: list[int] = []

    async def worker(client: aiohttp.ClientSession) -> None:
        while True:
            async with client.post(url, json={}) as response:
                await response.read()
                statuses.append(response.status)
            await asyncio.sleep(0.002)

    async with aiohttp.ClientSession() as client:
        tasks = [asyncio.create_task(worker(client)) for _ in range(4)]
        try:
            yield statuses
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _promote(gw: Gateway, *args: str) -> int:
    argv = ["--table", str(gw.table), "promote", "verifications", "--to", "send",
            "--gateway", gw.url, *args]
    return await asyncio.to_thread(main, argv)


async def test_promote_aborts_and_rolls_back_when_the_new_group_fails(
        start_gateway: StartGateway, backends: dict[str, Backend],
        capsys: pytest.CaptureFixture[str]) -> None:
    backends["send"].behaviour.fail_status = 500
    gw = await start_gateway()
    async with traffic(gw.url + "/api/verifications") as statuses:
        code = await _promote(gw, "--steps", "20,50,100", "--pause", "1",
                              "--max-error-delta", "0.05")
    assert code == 1
    assert weights_of(load_table(gw.table), "verifications") == {"monolith": 100, "send": 0}
    out = capsys.readouterr()
    assert "[1/3] verifications: send at 20%" in out.out and "[2/3]" not in out.out
    assert "ABORTED at 20%" in out.err
    entries = [json.loads(line) for line in Path(gw.table.with_name("audit.log")).read_text()
               .splitlines()]
    assert [e["command"] for e in entries] == ["promote", "promote-abort"]
    assert entries[-1]["to"] == {"monolith": 100, "send": 0}
    assert 500 in statuses and 200 in statuses  # real traffic reached both groups


async def test_promote_walks_all_steps_when_the_new_group_is_healthy(
        start_gateway: StartGateway, capsys: pytest.CaptureFixture[str]) -> None:
    gw = await start_gateway()
    async with traffic(gw.url + "/api/verifications") as statuses:
        code = await _promote(gw, "--steps", "50,100", "--pause", "0.6")
    assert code == 0, capsys.readouterr()
    assert weights_of(load_table(gw.table), "verifications") == {"monolith": 0, "send": 100}
    assert "promoted send to 100% of verifications" in capsys.readouterr().out
    assert set(statuses) == {200}
    assert main(["--table", str(gw.table), "rollback", "verifications"]) == 0
    assert weights_of(load_table(gw.table), "verifications") == {"monolith": 50, "send": 50}
