"""`promote` walks real traffic through a real gateway to real (echo) backends: it backs out when
the new group fails, completes when it is healthy, and obeys pause, resume and abort from
another terminal; a killed CLI's plan resumes where it was."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from routing.cli.main import main
from routing.promotion import state
from routing.promotion.engine import EXIT_ABORTED, EXIT_COMPLETED, EXIT_FAILED
from routing.table.loader import load_table
from routing.table.weights import weights_of
from tests.integration.routing.conftest import Backend, Gateway, StartGateway

RULE = "verifications"
BEFORE = {"monolith": 100, "send": 0}


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


def _argv(gw: Gateway, *args: str) -> list[str]:
    return ["--table", str(gw.table), "promote", RULE, "--to", "send", "--gateway", gw.url,
            "--min-requests", "20", "--no-hooks", *args]


async def _promote(gw: Gateway, *args: str) -> int:
    return await asyncio.to_thread(main, _argv(gw, *args))


async def _until(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def _status(gw: Gateway) -> str | None:
    run = state.load(gw.table, RULE)
    return run.status if run else None


def _baking(gw: Gateway) -> bool:
    run = state.load(gw.table, RULE)
    return run is not None and run.step_started is not None


async def test_promote_rolls_back_when_the_new_group_fails(
        start_gateway: StartGateway, backends: dict[str, Backend],
        capsys: pytest.CaptureFixture[str]) -> None:
    backends["send"].behaviour.fail_status = 500
    gw = await start_gateway()
    async with traffic(gw.url + "/api/verifications") as statuses:
        code = await _promote(gw, "--steps", "20,50,100", "--pause", "5")
    assert code == EXIT_FAILED
    assert weights_of(load_table(gw.table), RULE) == BEFORE
    out = capsys.readouterr()
    assert "[1/3] verifications: send at 20%" in out.out and "[2/3]" not in out.out
    assert "ROLLED BACK" in out.err
    entries = [json.loads(line) for line in Path(gw.table.with_name("audit.log")).read_text()
               .splitlines()]
    assert [e["command"] for e in entries] == ["plan-start", "plan-step", "plan-verdict",
                                               "plan-rollback"]
    assert entries[-1]["to"] == BEFORE
    assert entries[2]["outcome"] == "fail" and entries[2]["baked_s"] < 5
    assert 500 in statuses and 200 in statuses  # real traffic reached both groups


async def test_promote_walks_all_steps_when_the_new_group_is_healthy(
        start_gateway: StartGateway, capsys: pytest.CaptureFixture[str]) -> None:
    gw = await start_gateway()
    async with traffic(gw.url + "/api/verifications") as statuses:
        code = await _promote(gw, "--steps", "50,100", "--pause", "1")
    assert code == EXIT_COMPLETED, capsys.readouterr()
    assert weights_of(load_table(gw.table), RULE) == {"monolith": 0, "send": 100}
    assert "promoted send to 100% of verifications" in capsys.readouterr().out
    assert set(statuses) == {200}
    # rollback returns to the weights before the plan, not to its last step
    assert main(["--table", str(gw.table), "rollback", RULE]) == 0
    assert weights_of(load_table(gw.table), RULE) == BEFORE


async def test_pause_stops_the_bake_clock_and_resume_continues(
        start_gateway: StartGateway, capsys: pytest.CaptureFixture[str]) -> None:
    gw = await start_gateway()
    async with traffic(gw.url + "/api/verifications"):
        running = asyncio.create_task(_promote(gw, "--steps", "50,100", "--pause", "2"))
        await _until(lambda: _baking(gw))
        assert await asyncio.to_thread(main, ["--table", str(gw.table), "pause", RULE]) == 0
        await asyncio.sleep(3)  # longer than the bake: a paused plan does not advance
        assert not running.done() and _status(gw) == "paused"
        assert weights_of(load_table(gw.table), RULE) == {"monolith": 50, "send": 50}
        assert await asyncio.to_thread(main, ["--table", str(gw.table), "resume", RULE]) == 0
        assert await asyncio.wait_for(running, 30) == EXIT_COMPLETED
    assert weights_of(load_table(gw.table), RULE) == {"monolith": 0, "send": 100}


async def test_abort_from_another_terminal_rolls_back_at_once(
        start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    async with traffic(gw.url + "/api/verifications"):
        running = asyncio.create_task(_promote(gw, "--steps", "50,100", "--pause", "60"))
        await _until(lambda: _baking(gw))
        assert await asyncio.to_thread(main, ["--table", str(gw.table), "abort", RULE]) == 0
        assert await asyncio.wait_for(running, 15) == EXIT_ABORTED
    assert weights_of(load_table(gw.table), RULE) == BEFORE
    assert _status(gw) == "aborted"


async def test_a_killed_cli_resumes_its_plan(start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    async with traffic(gw.url + "/api/verifications"):
        cli = subprocess.Popen([sys.executable, "-m", "routing", *_argv(
            gw, "--steps", "25,100", "--pause", "3")], env=env, cwd=Path(__file__).parents[3],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await _until(lambda: _baking(gw), timeout=30)
        finally:
            cli.send_signal(signal.SIGKILL)
            cli.wait()
        assert weights_of(load_table(gw.table), RULE) == {"monolith": 75, "send": 25}
        # The killed CLI's plan is not running any more; pause says how to go on.
        assert await asyncio.to_thread(main, ["--table", str(gw.table), "pause", RULE]) == 1
        code = await asyncio.to_thread(main, [
            "--table", str(gw.table), "promote", RULE, "--resume", "--gateway", gw.url,
            "--no-hooks", "--min-requests", "20"])
    assert code == EXIT_COMPLETED
    run = state.load(gw.table, RULE)
    assert run is not None and run.status == "completed" and run.steps[0]["bake_s"] == 3
