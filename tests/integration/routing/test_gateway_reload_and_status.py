"""Table reloads (bad edits refused, good ones picked up) and the /__gateway/ endpoints."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from routing.cli.main import main

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
