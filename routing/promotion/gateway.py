"""The local front door: the gateway (routing/gateway/) serves the table file it polls, and its
/__gateway/status.json counts requests, 5xx and latency per rule and target group. A bake's
evidence is the difference of two snapshots of those cumulative counters."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from routing.cli.status_client import fetch_status
from routing.promotion.evidence import Evidence, GroupWindow, Histogram
from routing.promotion.frontdoor import FrontDoorError
from routing.table.model import RouteTable
from routing.table.weights import weights_of

RELOAD_TIMEOUT_S = 15.0


class GatewayFrontDoor:
    def __init__(self, url: str, reload_timeout_s: float = RELOAD_TIMEOUT_S) -> None:
        self.url, self.reload_timeout_s = url.rstrip("/"), reload_timeout_s

    def describe(self) -> str:
        return f"gateway {self.url}"

    def pin_url(self) -> str | None:
        return self.url

    def apply(self, table: RouteTable, rule: str) -> None:
        """The gateway polls the table file; return once it serves the rule's weights."""
        wanted = weights_of(table, rule)
        deadline = time.monotonic() + self.reload_timeout_s
        served: object = None
        while True:
            try:
                status = fetch_status(self.url)
            except OSError as error:
                raise FrontDoorError(str(error)) from error
            live = next((r for r in status["rules"] if r["name"] == rule), None)
            served = live["action"].get("weights") if live else None
            if served == wanted:
                return
            if time.monotonic() > deadline:
                refused = status["table"].get("error")
                raise FrontDoorError(
                    f"the gateway at {self.url} serves {served} for {rule!r}, not {wanted}, "
                    f"{self.reload_timeout_s:.0f}s after the table was written"
                    + (f"; it refused the table: {refused}" if refused else
                       "; is it reading this table? (`routing show --live URL`)"))
            time.sleep(0.1)


class TableOnly:
    """No front door to drive: the table file is the change (a gateway started on it picks
    it up); there is nothing to read back."""

    def describe(self) -> str:
        return "the table file only (no --gateway or --listener-arn)"

    def pin_url(self) -> str | None:
        return None

    def apply(self, table: RouteTable, rule: str) -> None:
        return None


def _histogram(raw: object) -> Histogram | None:
    if not isinstance(raw, list) or not raw:
        return None
    return tuple((math.inf if bound is None else float(bound), int(count))
                 for bound, count in raw)


def rule_snapshot(status: Mapping[str, Any], rule: str) -> dict[str, GroupWindow]:
    """The gateway's cumulative counters for one rule, per target group."""
    return {row["target_group"]: GroupWindow(int(row["requests_total"]), int(row["errors_total"]),
                                             _histogram(row.get("latency_buckets")))
            for row in status["traffic"] if row["rule"] == rule}


def _minus(now: GroupWindow, then: GroupWindow | None) -> GroupWindow:
    if then is None:
        return now
    latency = None
    if now.latency is not None:
        before = dict(then.latency or ())
        latency = tuple((bound, count - before.get(bound, 0)) for bound, count in now.latency)
    return GroupWindow(now.requests - then.requests, now.errors - then.errors, latency)


class GatewayWindow:
    def __init__(self, url: str, rule: str) -> None:
        self.url, self.rule = url, rule
        self.start = rule_snapshot(fetch_status(url), rule)

    def read(self) -> Evidence:
        now = rule_snapshot(fetch_status(self.url), self.rule)
        if any(now[g].requests < self.start[g].requests for g in now if g in self.start):
            self.start = {}  # the gateway restarted: its counters began again from zero
        return {group: _minus(window, self.start.get(group)) for group, window in now.items()}


class GatewayEvidence:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def describe(self) -> str:
        return f"the gateway's counters at {self.url}/__gateway/status.json"

    def open_window(self, rule: str) -> GatewayWindow:
        return GatewayWindow(self.url, rule)
