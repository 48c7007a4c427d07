"""The status page in a real headless Chromium: it lists the rules, its live numbers move, it
shows a promotion run as written by the engine and charts each group's history."""

from __future__ import annotations

import os

import aiohttp
import pytest

from routing.promotion import state as runs
from tests.integration.routing.conftest import StartGateway
from tests.integration.routing.helpers import served_by

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


async def test_status_page_shows_rules_and_live_counts(start_gateway: StartGateway) -> None:
    from playwright.async_api import async_playwright, expect

    gw = await start_gateway()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(gw.url + "/__gateway/")
            rule = page.locator('#rules tr[data-rule="verifications"] td.action')
            await expect(rule).to_have_text("forward monolith 100 (100%), send 0 (0%)")
            monolith_requests = page.locator('#groups tr[data-group="monolith"] td.requests')
            await expect(monolith_requests).to_have_text("0")
            async with aiohttp.ClientSession() as client:
                seen = await served_by(client, gw.url + "/api/verifications", 25)
            assert seen == {"monolith": 25}
            # The page refreshes itself from status.json; no reload here.
            await expect(monolith_requests).to_have_text("25", timeout=5000)
            health = page.locator('#groups tr[data-group="send"] td.health')
            await expect(health).to_have_text("healthy")
        finally:
            await browser.close()


def _baking_run(gateway_url: str) -> runs.Run:
    """A run at its second step, the first step's verdict and a hook recorded."""
    check = {"name": "errors", "outcome": "pass",
             "detail": "verify 1/412 5xx (0.2%) vs baseline 3/3700 (0.1%)",
             "numbers": {"requests": 412, "errors": 1, "statistic": 0.42, "threshold": 20.0}}
    return runs.Run(
        rule="verification-checks", to="verify",
        steps=[{"weight": 10, "bake_s": 300.0}, {"weight": 50, "bake_s": 600.0},
               {"weight": 100, "bake_s": 0.0}],
        original_weights={"monolith": 100, "verify": 0}, front_door=f"gateway {gateway_url}",
        who="tester", step=1, step_started=runs.now_iso(), message="baking step 2 at 50 %",
        verdicts=[{"step": 1, "weight": 10, "when": runs.now_iso(), "baked_s": 300.0,
                   "outcome": "pass", "reason": "412 requests on verify, no evidence of more "
                   "errors", "checks": [check]}],
        hooks=[{"step": 2, "name": "contract", "after_last": False, "run": "contract",
                "exit_code": 0, "seconds": 4.2, "when": runs.now_iso(),
                "output_tail": "62 passed in 4.1s"}])


async def test_status_page_shows_a_plan_and_charts_the_history(
        start_gateway: StartGateway) -> None:
    from playwright.async_api import async_playwright, expect

    gw = await start_gateway(history_interval_s=0.3)
    run = _baking_run(gw.url)
    runs.save(gw.table, run)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(gw.url + "/__gateway/")
            plan = page.locator('#plans section.plan[data-plan="verification-checks"]')
            await expect(plan.locator(".plan-status")).to_have_text("running")
            steps = plan.locator("table.steps tbody tr")
            await expect(steps).to_have_count(3)
            await expect(steps.nth(0).locator("td.step-state")).to_have_text("done")
            await expect(steps.nth(1)).to_have_class("current")
            await expect(steps.nth(1).locator("td.step-state")).to_have_text(
                "▶ current: running")
            await expect(steps.nth(1).locator("td.bake")).to_have_text("10m")
            await expect(steps.nth(2).locator("td.step-state")).to_have_text("pending")
            check = plan.locator('.verdict[data-step="1"] tr[data-check="errors"]')
            await expect(check.locator("td.detail")).to_have_text(
                "verify 1/412 5xx (0.2%) vs baseline 3/3700 (0.1%)")
            await expect(check.locator("td.numbers")).to_have_text(
                "requests=412  errors=1  statistic=0.42  threshold=20")
            await expect(plan.locator('.verdict[data-step="1"] .outcome').first).to_have_text(
                "pass")
            hook = plan.locator('table.hooks tr[data-hook="contract"]')
            await expect(hook.locator("td.result")).to_have_text("passed")
            await expect(hook.locator("td.output pre")).to_have_text("62 passed in 4.1s")

            # The engine rolls back: the page follows the file without a reload.
            run.status, run.message = "failed", "verify 5xx above the ceiling: rolled back"
            runs.save(gw.table, run)
            await expect(plan.locator(".plan-status")).to_have_text("failed")
            await expect(steps.nth(1).locator("td.step-state")).to_have_text(
                "▶ current: failed")

            chart = page.locator('#history figure[data-history-group="monolith"]')
            p50 = chart.locator("svg.latency path.p50")
            await expect(p50).to_have_attribute("data-points", "0")  # no request: no latency
            await expect(chart.locator("svg.rates text.y-max")).to_have_text("0")
            async with aiohttp.ClientSession() as client:
                await served_by(client, gw.url + "/api/users", 40)
            await expect(p50).not_to_have_attribute("data-points", "0", timeout=5000)
            await expect(chart.locator("svg.rates text.y-max")).not_to_have_text("0")
            assert (await chart.locator("svg.rates path.request-rate").get_attribute("d"))
        finally:
            await browser.close()
