"""The status page in a real headless Chromium: it lists the rules and its live numbers move."""

from __future__ import annotations

import os

import aiohttp
import pytest

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
