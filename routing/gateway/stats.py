"""Counters per (rule, target group): Prometheus metrics plus a short window for live rates."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

NO_GROUP = "-"  # fixed-response and redirect rules reach no target group


@dataclass(frozen=True)
class TrafficRow:
    rule: str
    target_group: str
    requests_total: int
    errors_total: int
    request_rate: float  # per second over the window
    error_rate: float
    error_ratio: float  # errors / requests over the window


@dataclass
class _Series:
    requests: int = 0
    errors: int = 0
    buckets: deque[list[int]] = field(default_factory=deque)  # [second, requests, errors]


class Stats:
    def __init__(self, window_s: int) -> None:
        self.window_s = max(1, window_s)
        self.started = time.monotonic()
        self.registry = CollectorRegistry()
        self.requests = Counter("gateway_requests", "Requests answered, by rule, target group and"
                                " status code", ["rule", "target_group", "code"],
                                registry=self.registry)
        self.errors = Counter("gateway_errors", "5xx answers (from the target or the gateway's "
                              "502/503/504), by reason", ["rule", "target_group", "reason"],
                              registry=self.registry)
        self.latency = Histogram("gateway_request_duration_seconds", "Time to the response "
                                 "headers", ["rule", "target_group"], registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5,
                                          5, 10, 30))
        self.healthy = Gauge("gateway_target_healthy", "1 when the target passes its health "
                             "check", ["target_group", "target"], registry=self.registry)
        self.group_healthy = Gauge("gateway_target_group_healthy", "1 when at least one target "
                                   "of the group passes its health check", ["target_group"],
                                   registry=self.registry)
        self.failing_open = Gauge("gateway_target_group_failing_open", "1 when every target of "
                                  "the group fails its health check and takes traffic anyway",
                                  ["target_group"], registry=self.registry)
        self.series: dict[tuple[str, str], _Series] = {}

    def record(self, rule: str, group: str, status: int, seconds: float,
               reason: str | None = None) -> None:
        self.requests.labels(rule, group, str(status)).inc()
        self.latency.labels(rule, group).observe(seconds)
        failed = status >= 500
        if failed:
            self.errors.labels(rule, group, reason or "target_5xx").inc()
        series = self.series.setdefault((rule, group), _Series())
        series.requests += 1
        series.errors += failed
        now = int(time.monotonic())
        if series.buckets and series.buckets[-1][0] == now:
            series.buckets[-1][1] += 1
            series.buckets[-1][2] += failed
        else:
            series.buckets.append([now, 1, int(failed)])
        while series.buckets[0][0] <= now - self.window_s:
            series.buckets.popleft()

    def snapshot(self) -> list[TrafficRow]:
        now = int(time.monotonic())
        span = max(1.0, min(float(self.window_s), time.monotonic() - self.started))
        rows = []
        for (rule, group), series in sorted(self.series.items()):
            recent = [b for b in series.buckets if b[0] > now - self.window_s]
            requests, errors = sum(b[1] for b in recent), sum(b[2] for b in recent)
            rows.append(TrafficRow(rule, group, series.requests, series.errors,
                                   round(requests / span, 2), round(errors / span, 2),
                                   round(errors / requests, 4) if requests else 0.0))
        return rows
