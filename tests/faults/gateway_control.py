"""The operator's and the observer's view of the gateway: shift weights with the routing CLI (on
the fault stack's own table copy), read its status page, and tell which group served a response."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.faults.api import GATEWAY_PROBLEM_TYPE
from tests.faults.load import Outcome
from tests.faults.stack_control import FaultStack


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
