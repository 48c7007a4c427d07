"""A service process is SIGKILLed while the gateway splits its path 50/50 with the monolith: only
requests routed to the dead group fail (502/503 naming it), the monolith's all succeed, and the
restarted service (same port) takes traffic again once its health check passes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.faults.api import (
    CHECK_PATH,
    GATEWAY_PROBLEM_TYPE,
    SEND_PATH,
    Findings,
    ReportFn,
    as_client,
    created_id,
    new_client_ip,
    new_phone,
    send,
)
from tests.faults.load import Call, Outcome, Probe, run_load
from tests.faults.stack_control import FaultStack

HEALTHY_WAIT_S = 15.0  # restart -> healthy takes HEALTHY_THRESHOLD (2) checks at 1 s intervals
DEAD_S = 3.0  # long enough for the gateway to mark the dead group unhealthy (2 failed checks)


def shift(stack: FaultStack, rule: str, group: str, percent: int) -> None:
    """`python -m routing shift`, the operator's command, on the stack's own table copy."""
    subprocess.run([sys.executable, "-m", "routing", "--table", str(stack.table), "--audit-log",
                    str(stack.audit_log), "shift", rule, str(percent), "--to", group],
                   check=True, capture_output=True, timeout=30)


StatusCheck = Callable[[dict[str, Any]], bool]


def gateway_status(stack: FaultStack) -> dict[str, Any]:
    status: dict[str, Any] = httpx.get(stack.url("gateway") + "/__gateway/status.json",
                                          timeout=5).json()
    return status


def wait_gateway(stack: FaultStack, what: str, ready: StatusCheck,
                 timeout: float = 10.0) -> float:
    """Poll the gateway's status until `ready(status)` holds; the seconds it took."""
    started = time.monotonic()
    while not ready(gateway_status(stack)):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"the gateway did not reach '{what}' within {timeout:.0f}s: "
                                 f"{json.dumps(gateway_status(stack))[:1500]}")
        time.sleep(0.1)
    return time.monotonic() - started


def weights_are(rule: str, weights: dict[str, int]) -> StatusCheck:
    def check(status: dict[str, Any]) -> bool:
        found = [r["action"].get("weights") for r in status["rules"] if r["name"] == rule]
        return found == [weights]
    return check


def group_healthy(group: str, healthy: bool) -> StatusCheck:
    def check(status: dict[str, Any]) -> bool:
        return any(g["name"] == group and g["healthy"] is healthy
                   for g in status["target_groups"])
    return check


def served_by(outcome: Outcome) -> str | None:
    if outcome.headers.get("x-served-by"):
        return outcome.headers["x-served-by"]
    if isinstance(outcome.body, dict) and str(outcome.body.get("type")).startswith(
            GATEWAY_PROBLEM_TYPE):
        return str(outcome.body.get("target_group"))
    return None


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
        await asyncio.to_thread(stack.restart, group)
        ready = time.monotonic()
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
    back = [o for o in outcomes if o.normal and served_by(o) == group and o.started >= ready]
    report(f"{group}_killed_answers_by_group_and_status", dict(by_group))
    report(f"{group}_failed_requests", dict(Counter(o.status for o in failed)))
    report(f"{group}_healthy_in_gateway_after_restart_s", round(healthy_after, 2))
    report(f"{group}_first_traffic_after_restart_s",
           round(back[0].finished - ready, 2) if back else None)
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
              and killed + 0.05 < o.started and o.finished < ready]
    found.expect(not ghosts, f"{group} answered while it was dead", ghosts)
    after = [o.describe() for o in outcomes if o.started > healthy + 0.5 and not o.normal]
    found.expect(not after, "failures after the gateway saw it healthy again", after)
    found.expect(bool(back), f"{group} took no traffic after its restart")
    found.assert_none()
