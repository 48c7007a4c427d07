"""A service process is SIGKILLed while the gateway splits its path 50/50 with the monolith: only
requests routed to the dead group fail (502 naming it), the monolith's all succeed, and the
restarted service (same port) takes traffic again as soon as it listens: its group's only target
is unhealthy, and the gateway, like ALB, then fails open and forwards to it anyway."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from tests.faults.api import (
    CHECK_PATH,
    SEND_PATH,
    Findings,
    ReportFn,
    as_client,
    created_id,
    new_client_ip,
    new_phone,
    send,
)
from tests.faults.gateway_control import (
    group_healthy,
    served_by,
    shift,
    wait_gateway,
    weights_are,
)
from tests.faults.load import Call, Probe, run_load
from tests.faults.stack_control import FaultStack

HEALTHY_WAIT_S = 15.0  # restart -> healthy takes HEALTHY_THRESHOLD (2) checks at 1 s intervals
DEAD_S = 3.0  # long enough for the gateway to mark the dead group unhealthy (2 failed checks)


@pytest.mark.parametrize(("rule", "group"), [("verifications", "send"),
                                             ("verification-checks", "verify")])
async def test_killed_target_fails_only_its_share_and_returns_after_health_check(
        stack: FaultStack, http: httpx.Client, report: ReportFn, rule: str, group: str) -> None:
    gateway = stack.url("gateway")
    if group == "send":
        known_id = created_id(send(http, stack.url("monolith"), new_phone()))
        probe = Probe("gateway", "read", lambda: Call("GET", f"{gateway}{SEND_PATH}/{known_id}"),
                      frozenset({200}), 0.02)
        extra = [Probe("gateway", "send", lambda: Call(
            "POST", gateway + SEND_PATH, {"to": new_phone(), "channel": "sms"},
            as_client(new_client_ip())), frozenset({201}), 0.2)]
    else:
        probe = Probe("gateway", "check", lambda: Call(
            "POST", gateway + CHECK_PATH, {"to": new_phone(), "code": "123456"}),
            frozenset({404}), 0.02)
        extra = []
    shift(stack, rule, group, 50)
    try:
        wait_gateway(stack, f"{rule} 50/50", weights_are(rule, {"monolith": 50, group: 50}))
        stop = asyncio.Event()
        load = asyncio.create_task(run_load([probe, probe, probe, *extra], stop, max_seconds=40))
        await asyncio.sleep(1.5)
        await asyncio.to_thread(stack.kill, group)
        killed = time.monotonic()
        await asyncio.sleep(DEAD_S)
        restarting = time.monotonic()
        await asyncio.to_thread(stack.restart, group)
        healthy_after = await asyncio.to_thread(
            wait_gateway, stack, f"{group} healthy", group_healthy(group, True), HEALTHY_WAIT_S)
        healthy = time.monotonic()
        await asyncio.sleep(2.0)
        stop.set()
        outcomes = await load
    finally:
        shift(stack, rule, group, 0)
    await asyncio.to_thread(wait_gateway, stack, f"{rule} back to the monolith",
                            weights_are(rule, {"monolith": 100, group: 0}))

    by_group = Counter(f"{served_by(o)} {o.status}" for o in outcomes)
    failed = [o for o in outcomes if not o.normal]
    back = [o for o in outcomes if o.normal and served_by(o) == group and o.started >= restarting]
    report(f"{group}_killed_answers_by_group_and_status", dict(by_group))
    report(f"{group}_failed_requests", dict(Counter(o.status for o in failed)))
    report(f"{group}_healthy_in_gateway_after_restart_s", round(healthy_after, 2))
    report(f"{group}_first_traffic_after_restart_s",
           round(back[0].finished - restarting, 2) if back else None)
    report(f"{group}_gateway_503_without_retry_after",
           sum(1 for o in failed if o.status == 503 and "retry-after" not in o.headers))

    found = Findings()
    found.expect(not [o for o in outcomes if o.status is None], "requests without an answer",
                 [o.describe() for o in outcomes if o.status is None])
    before = Counter(served_by(o) for o in outcomes if o.finished < killed and o.normal)
    found.expect(before["monolith"] > 0 and before[group] > 0, f"no 50/50 split before: {before}")
    monolith_bad = [o.describe() for o in outcomes if served_by(o) == "monolith" and not o.normal]
    found.expect(not monolith_bad, "requests served by the monolith failed", monolith_bad)
    misattributed = [o.describe() for o in failed if o.status not in (502, 503)
                     or served_by(o) != group or o.media_type != "application/problem+json"]
    found.expect(not misattributed, f"failures that are not 502/503 for {group}", misattributed)
    found.expect(any(o.started >= killed for o in failed), "no request failed after the kill")
    ghosts = [o.describe() for o in outcomes if served_by(o) == group and o.normal
              and killed + 0.05 < o.started and o.finished < restarting]
    found.expect(not ghosts, f"{group} answered while it was dead", ghosts)
    after = [o.describe() for o in outcomes if o.started > healthy + 0.5 and not o.normal]
    found.expect(not after, "failures after the gateway saw it healthy again", after)
    found.expect(bool(back), f"{group} took no traffic after its restart")
    found.assert_none()
