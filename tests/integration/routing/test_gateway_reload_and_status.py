"""Table reloads (bad edits refused, good ones picked up) and the /__gateway/ endpoints."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from routing.cli.main import main
from routing.gateway.stats import LATENCY_BOUNDS_S
from routing.promotion import state as runs

from .conftest import Backend, StartGateway
from .helpers import eventually, served_by, set_weights

VERIFICATIONS = "/api/verifications/VE1"


async def test_a_broken_edit_is_refused_and_traffic_stays_on_the_old_table(
        start_gateway: StartGateway, client: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture) -> None:
    gw = await start_gateway()
    text = gw.table.read_text()
    broken = text.replace("priority = 20", "priority = 10")  # duplicate priority
    assert broken != text
    with caplog.at_level(logging.ERROR, logger="routing.gateway"):
        gw.table.write_text(broken)

        async def refused() -> bool:
            return gw.state.table_error is not None

        await eventually(refused, "the watcher sees the edit")
    assert "rule 'verification-checks': priority: 10 is already used" in caplog.text
    assert "still serving version 1" in caplog.text
    assert await served_by(client, gw.url + VERIFICATIONS, 20) == {"monolith": 20}
    async with client.get(gw.url + "/__gateway/status.json") as response:
        status = await response.json()
    assert status["table"]["version"] == 1 and "already used" in status["table"]["error"]

    good = gw.table.with_name("good.toml")  # a good edit, written in one go: send takes all
    good.write_text(text)
    set_weights(good, "verifications", {"monolith": 0, "send": 100})
    good.replace(gw.table)

    async def picked_up() -> bool:
        return gw.state.version == 2

    await eventually(picked_up, "the good edit is loaded")
    assert gw.state.table_error is None
    assert await served_by(client, gw.url + VERIFICATIONS, 20) == {"send": 20}


async def test_metrics_and_status_count_per_rule_and_group(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    set_weights(gw.table, "verifications", {"monolith": 50, "send": 50})
    assert gw.state.reload_if_changed()
    seen = await served_by(client, gw.url + VERIFICATIONS, 40)
    await served_by(client, gw.url + "/api/users", 7)
    async with client.get(gw.url + "/__gateway/metrics") as response:
        metrics = await response.text()
    for group in ("monolith", "send"):
        line = (f'gateway_requests_total{{code="200",rule="verifications",'
                f'target_group="{group}"}} {float(seen[group])}')
        assert line in metrics
    assert 'gateway_requests_total{code="200",rule="default",target_group="monolith"} 7.0' \
        in metrics
    assert 'gateway_request_duration_seconds_count{rule="default",target_group="monolith"} 7.0' \
        in metrics
    assert 'gateway_target_group_healthy{target_group="send"} 1.0' in metrics
    send_url = backends["send"].url
    assert f'gateway_target_healthy{{target="{send_url}",target_group="send"}} 1.0' in metrics
    async with client.get(gw.url + "/__gateway/status.json") as response:
        status = await response.json()
    groups = {g["name"]: g for g in status["target_groups"]}
    assert groups["send"]["requests_total"] == seen["send"]
    assert groups["monolith"]["requests_total"] == seen["monolith"] + 7
    assert groups["send"]["request_rate"] > 0 and groups["verify"]["requests_total"] == 0
    rule = next(r for r in status["rules"] if r["name"] == "verifications")
    assert rule["action"]["weights"] == {"monolith": 50, "send": 50}
    async with client.get(gw.url + "/__gateway/") as response:
        assert response.status == 200 and "status.json" in await response.text()


FIXED_AND_REDIRECT = '''
[[rules]]
name = "teapot"
priority = 30
conditions = [
    { field = "path-pattern", values = ["/tea"] },
    { field = "http-request-method", values = ["GET"] },
]
action = { type = "fixed-response", status_code = 418, content_type = "application/json", \
body = "{}" }

[[rules]]
name = "old"
priority = 40
conditions = [
    { field = "path-pattern", values = ["/old/*"] },
]
action = { type = "redirect", status_code = 302, path = "/new/#{path}", \
query = "from=old&#{query}" }
'''


async def test_fixed_response_and_redirect_rules(start_gateway: StartGateway,
                                                 client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    gw.table.write_text(gw.table.read_text() + FIXED_AND_REDIRECT)
    assert gw.state.reload_if_changed() and gw.state.table_error is None
    async with client.get(gw.url + "/tea") as response:
        assert response.status == 418 and await response.text() == "{}"
    async with client.post(gw.url + "/tea") as response:
        assert response.headers["X-Served-By"] == "monolith"
    port = gw.url.rsplit(":", 1)[1]
    async with client.get(gw.url + "/old/a/b?x=1", allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == \
            f"http://127.0.0.1:{port}/new/old/a/b?from=old&x=1"


async def test_cli_show_live_adds_the_gateways_counts(
        start_gateway: StartGateway, client: aiohttp.ClientSession,
        capsys: pytest.CaptureFixture[str]) -> None:
    gw = await start_gateway()
    await served_by(client, gw.url + VERIFICATIONS, 12)
    argv = ["--table", str(gw.table), "show", "--live", gw.url]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert f"live from {gw.url}: table version 1" in out
    assert "monolith: 12 requests, 0 errors" in out
    assert await asyncio.to_thread(main, [*argv[:-1], "http://127.0.0.1:9"]) == 1
    assert "is the gateway running?" in capsys.readouterr().err


async def _status(client: aiohttp.ClientSession, gw_url: str) -> dict[str, Any]:
    async with client.get(gw_url + "/__gateway/status.json") as response:
        data: dict[str, Any] = await response.json()
    return data


def _row(status: dict[str, Any], rule: str, group: str) -> dict[str, Any]:
    return next(t for t in status["traffic"] if t["rule"] == rule and t["target_group"] == group)


async def _metric_buckets(client: aiohttp.ClientSession, gw_url: str, rule: str,
                          group: str) -> dict[float, int]:
    async with client.get(gw_url + "/__gateway/metrics") as response:
        text = await response.text()
    return {float(s.labels["le"]): int(s.value)
            for family in text_string_to_metric_families(text)
            if family.name == "gateway_request_duration_seconds"
            for s in family.samples if s.name.endswith("_bucket")
            and s.labels["rule"] == rule and s.labels["target_group"] == group}


async def test_latency_buckets_are_cumulative_and_agree_with_requests_and_metrics(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    set_weights(gw.table, "verifications", {"monolith": 0, "send": 100})
    assert gw.state.reload_if_changed()
    backends["send"].behaviour.delay_s = 0.03  # every answer takes more than the 25 ms bound
    assert await served_by(client, gw.url + VERIFICATIONS, 20) == {"send": 20}
    first = _row(await _status(client, gw.url), "verifications", "send")
    assert [bound for bound, _ in first["latency_buckets"]] == [*LATENCY_BOUNDS_S, None]
    counts = [count for _, count in first["latency_buckets"]]
    assert counts == sorted(counts) and counts[-1] == first["requests_total"] == 20
    assert dict(first["latency_buckets"])[0.025] == 0
    assert first["p50_ms"] >= 25 and first["p99_ms"] >= first["p50_ms"]
    # The same counts as the Prometheus histogram (+Inf is null in JSON).
    metric = await _metric_buckets(client, gw.url, "verifications", "send")
    assert metric == {float("inf") if b is None else b: c for b, c in first["latency_buckets"]}

    backends["send"].behaviour.delay_s = 0.3  # now over the 250 ms bound
    assert await served_by(client, gw.url + VERIFICATIONS, 15) == {"send": 15}
    second = _row(await _status(client, gw.url), "verifications", "send")
    later = [count for _, count in second["latency_buckets"]]
    assert all(b >= a for a, b in zip(counts, later, strict=True))  # since start: only grows
    assert later[-1] == second["requests_total"] == 35
    # What one bake saw is the difference of two snapshots: 15 answers, none within 250 ms.
    window = {bound: count - dict(first["latency_buckets"])[bound]
              for bound, count in second["latency_buckets"]}
    assert window[None] == 15 and window[0.25] == 0


async def test_history_samples_every_group_at_its_interval(
        start_gateway: StartGateway, backends: dict[str, Backend],
        client: aiohttp.ClientSession) -> None:
    gw = await start_gateway(history_interval_s=0.2, history_span_s=30.0)
    backends["monolith"].behaviour.fail_status = 503
    await served_by(client, gw.url + "/api/users", 10)
    backends["monolith"].behaviour.fail_status = None
    await served_by(client, gw.url + "/api/users", 20)

    async def sampled() -> bool:
        status = await _status(client, gw.url)
        return all(len(g["history"]) >= 5 for g in status["target_groups"])

    await eventually(sampled, "five samples of every group")
    status = await _status(client, gw.url)
    assert status["history_interval_seconds"] == 0.2 and status["history_span_seconds"] == 30.0
    groups = {g["name"]: g for g in status["target_groups"]}
    history = groups["monolith"]["history"]
    # Each sample counts its own interval: together they hold each request once.
    assert sum(s["requests"] for s in history) == 30 and sum(s["errors"] for s in history) == 10
    busy = [s for s in history if s["requests"]]
    assert all(s["request_rate"] > 0 and s["p50_ms"] is not None and s["p99_ms"] >= s["p50_ms"]
               for s in busy)
    times = [s["t"] for s in history]
    assert times == sorted(times) and set(history[0]) == {
        "t", "requests", "errors", "request_rate", "error_rate", "p50_ms", "p99_ms"}
    idle = groups["verify"]["history"]
    assert all(s["requests"] == 0 and s["p50_ms"] is None for s in idle)
    assert groups["monolith"]["p50_ms"] is not None and groups["verify"]["p50_ms"] is None


async def test_status_lists_the_promotion_runs_next_to_the_table(
        start_gateway: StartGateway, client: aiohttp.ClientSession) -> None:
    gw = await start_gateway()
    status = await _status(client, gw.url)
    assert status["plans"] == [] and status["plans_dir"] == str(runs.state_dir(gw.table))
    run = runs.Run(rule="verification-checks", to="verify",
                   steps=[{"weight": 10, "bake_s": 60.0}, {"weight": 100, "bake_s": 0.0}],
                   original_weights={"monolith": 100, "verify": 0},
                   front_door=f"gateway {gw.url}", who="tester")
    runs.save(gw.table, run)
    assert (await _status(client, gw.url))["plans"] == [run.to_json()]
    # Read anew on each request: the next step and its verdict show at once.
    run.step = 1
    run.verdicts.append({"step": 1, "weight": 10, "when": runs.now_iso(), "outcome": "pass",
                         "reason": "enough evidence", "checks": [
                             {"name": "errors", "outcome": "pass", "detail": "0/250 5xx",
                              "numbers": {"requests": 250, "errors": 0}}]})
    runs.save(gw.table, run)
    plans = (await _status(client, gw.url))["plans"]
    assert len(plans) == 1 and plans[0]["step"] == 1
    assert plans[0]["verdicts"][0]["checks"][0]["numbers"] == {"requests": 250, "errors": 0}
