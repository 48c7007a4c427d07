"""Counters per (rule, target group): Prometheus metrics, cumulative latency buckets (the
promotion engine subtracts two snapshots to get one bake's evidence), a short window for live
rates and percentiles, and a bounded history per target group for the status page's charts."""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from routing.promotion.stats import histogram_quantile

NO_GROUP = "-"  # fixed-response and redirect rules reach no target group

LATENCY_BOUNDS_S: tuple[float, ...] = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5,
                                       5, 10, 30)
"""Upper bounds of gateway_request_duration_seconds and of status.json's latency_buckets
(+Inf follows the last)."""


def bucket_index(seconds: float) -> int:
    """The bucket an observation falls in, as Prometheus places it (value <= upper bound);
    len(LATENCY_BOUNDS_S) is +Inf."""
    return bisect_left(LATENCY_BOUNDS_S, seconds)


def cumulative(counts: Sequence[int]) -> list[int]:
    """Per-bucket counts -> Prometheus' cumulative counts (the last is the total)."""
    total, out = 0, []
    for count in counts:
        total += count
        out.append(total)
    return out


def quantile_ms(q: float, counts: Sequence[int]) -> float | None:
    """The q-quantile of per-bucket counts in milliseconds, as the gate computes it from the
    same buckets (Prometheus' histogram_quantile); None without observations."""
    histogram = tuple(zip((*LATENCY_BOUNDS_S, math.inf), cumulative(counts), strict=True))
    seconds = histogram_quantile(q, histogram)
    return None if seconds is None else round(seconds * 1000, 2)


def empty_buckets() -> list[int]:
    return [0] * (len(LATENCY_BOUNDS_S) + 1)


def add_counts(into: list[int], counts: Iterable[int]) -> None:
    for index, count in enumerate(counts):
        into[index] += count


@dataclass(frozen=True)
class TrafficRow:
    rule: str
    target_group: str
    requests_total: int
    errors_total: int
    request_rate: float  # per second over the window
    error_rate: float
    error_ratio: float  # errors / requests over the window
    # Since start, cumulative: [[upper bound s, count <= it], ..., [None (+Inf), requests_total]]
    latency_buckets: list[tuple[float | None, int]]
    p50_ms: float | None  # over the window; None without requests in it
    p99_ms: float | None
    window_buckets: list[int] = field(repr=False)  # per-bucket counts over the window

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "target_group": self.target_group,
                "requests_total": self.requests_total, "errors_total": self.errors_total,
                "request_rate": self.request_rate, "error_rate": self.error_rate,
                "error_ratio": self.error_ratio,
                "latency_buckets": [list(b) for b in self.latency_buckets],
                "p50_ms": self.p50_ms, "p99_ms": self.p99_ms}


@dataclass(frozen=True)
class Sample:
    """One target group's traffic over one history interval (ending at `t`)."""

    t: float  # unix time of the end of the interval
    requests: int
    errors: int
    request_rate: float  # per second
    error_rate: float  # 5xx per second
    p50_ms: float | None  # None: no request in the interval
    p99_ms: float | None


@dataclass
class _Second:
    second: int
    requests: int = 0
    errors: int = 0
    buckets: list[int] = field(default_factory=empty_buckets)


@dataclass
class _Series:
    requests: int = 0
    errors: int = 0
    buckets: list[int] = field(default_factory=empty_buckets)  # per bucket, since start
    window: deque[_Second] = field(default_factory=deque)


@dataclass
class _Totals:
    requests: int = 0
    errors: int = 0
    buckets: list[int] = field(default_factory=empty_buckets)


class Stats:
    def __init__(self, window_s: int, history_interval_s: float = 5.0,
                 history_span_s: float = 600.0) -> None:
        self.window_s = max(1, window_s)
        self.history_interval_s = history_interval_s
        self.history_span_s = history_span_s
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
                                 buckets=LATENCY_BOUNDS_S)
        self.healthy = Gauge("gateway_target_healthy", "1 when the target passes its health "
                             "check", ["target_group", "target"], registry=self.registry)
        self.group_healthy = Gauge("gateway_target_group_healthy", "1 when at least one target "
                                   "of the group passes its health check", ["target_group"],
                                   registry=self.registry)
        self.failing_open = Gauge("gateway_target_group_failing_open", "1 when every target of "
                                  "the group fails its health check and takes traffic anyway",
                                  ["target_group"], registry=self.registry)
        self.series: dict[tuple[str, str], _Series] = {}
        # The labelled children, looked up once per label set (labels() costs more than inc()).
        self._answered: dict[tuple[str, str, int], tuple[Counter, Histogram, _Series]] = {}
        self._failed: dict[tuple[str, str, str], Counter] = {}
        samples = max(1, math.ceil(history_span_s / history_interval_s))
        self.history: dict[str, deque[Sample]] = {}
        self._history_len = samples
        self._sampled: dict[str, _Totals] = {}  # each group's totals at its last sample
        self._sampled_at = time.monotonic()

    def record(self, rule: str, group: str, status: int, seconds: float,
               reason: str | None = None) -> None:
        children = self._answered.get((rule, group, status))
        if children is None:
            children = (self.requests.labels(rule, group, str(status)),
                        self.latency.labels(rule, group),
                        self.series.setdefault((rule, group), _Series()))
            self._answered[(rule, group, status)] = children
        requests, latency, series = children
        requests.inc()
        latency.observe(seconds)
        failed = status >= 500
        if failed:
            why = reason or "target_5xx"
            errors = self._failed.get((rule, group, why))
            if errors is None:
                errors = self._failed[(rule, group, why)] = self.errors.labels(rule, group, why)
            errors.inc()
        index = bucket_index(seconds)
        series.requests += 1
        series.errors += failed
        series.buckets[index] += 1
        now = int(time.monotonic())
        if not series.window or series.window[-1].second != now:
            series.window.append(_Second(now))
        second = series.window[-1]
        second.requests += 1
        second.errors += failed
        second.buckets[index] += 1
        while series.window[0].second <= now - self.window_s:
            series.window.popleft()

    def snapshot(self) -> list[TrafficRow]:
        now = int(time.monotonic())
        span = max(1.0, min(float(self.window_s), time.monotonic() - self.started))
        rows = []
        for (rule, group), series in sorted(self.series.items()):
            recent = [s for s in series.window if s.second > now - self.window_s]
            requests, errors = sum(s.requests for s in recent), sum(s.errors for s in recent)
            window = empty_buckets()
            for second in recent:
                add_counts(window, second.buckets)
            bounds: list[float | None] = [*LATENCY_BOUNDS_S, None]
            rows.append(TrafficRow(
                rule, group, series.requests, series.errors, round(requests / span, 2),
                round(errors / span, 2), round(errors / requests, 4) if requests else 0.0,
                list(zip(bounds, cumulative(series.buckets), strict=True)),
                quantile_ms(0.5, window), quantile_ms(0.99, window), window))
        return rows

    def _group_totals(self) -> dict[str, _Totals]:
        totals: dict[str, _Totals] = {}
        for (_, group), series in self.series.items():
            if group == NO_GROUP:
                continue
            total = totals.setdefault(group, _Totals())
            total.requests += series.requests
            total.errors += series.errors
            add_counts(total.buckets, series.buckets)
        return totals

    def sample(self, groups: Iterable[str], now: float | None = None) -> None:
        """Close one history interval: each group's traffic since the previous sample."""
        elapsed = max(1e-3, time.monotonic() - self._sampled_at)
        self._sampled_at = time.monotonic()
        wall = time.time() if now is None else now
        totals = self._group_totals()
        for group in groups:
            current = totals.get(group, _Totals())
            before = self._sampled.get(group, _Totals())
            requests = current.requests - before.requests
            errors = current.errors - before.errors
            counts = [a - b for a, b in zip(current.buckets, before.buckets, strict=True)]
            history = self.history.setdefault(group, deque(maxlen=self._history_len))
            history.append(Sample(round(wall, 3), requests, errors, round(requests / elapsed, 2),
                                  round(errors / elapsed, 2), quantile_ms(0.5, counts),
                                  quantile_ms(0.99, counts)))
            self._sampled[group] = current

    async def sample_forever(self, groups: Callable[[], Iterable[str]]) -> None:
        """Sample the history every interval (the gateway runs this as a task)."""
        while True:
            await asyncio.sleep(self.history_interval_s)
            self.sample(groups())
