"""The gateway's counters: latency buckets as Prometheus has them, percentiles from them, the
bounded history."""

from __future__ import annotations

import pytest

from routing.gateway.stats import LATENCY_BOUNDS_S, Stats, cumulative, quantile_ms


def _counts(**by_index: int) -> list[int]:
    counts = [0] * (len(LATENCY_BOUNDS_S) + 1)
    for index, count in by_index.items():
        counts[int(index.removeprefix("b"))] = count
    return counts


def test_quantiles_interpolate_within_the_bucket_as_histogram_quantile_does() -> None:
    ten_in_second_bucket = _counts(b1=10)  # (1 ms, 2.5 ms]
    assert quantile_ms(0.5, ten_in_second_bucket) == pytest.approx(1.75)
    assert quantile_ms(0.99, ten_in_second_bucket) == pytest.approx(2.485, abs=0.01)
    split = _counts(b0=50, b6=50)  # half under 1 ms, half in (50 ms, 100 ms]
    assert quantile_ms(0.5, split) == pytest.approx(1.0)
    assert quantile_ms(0.99, split) == pytest.approx(99.0)
    assert quantile_ms(0.5, _counts(b14=3)) == 30_000  # in +Inf: the last finite bound
    assert quantile_ms(0.5, _counts()) is None
    assert cumulative([1, 0, 2, 3]) == [1, 1, 3, 6]


def test_latency_buckets_match_the_prometheus_histogram_at_its_bounds() -> None:
    stats = Stats(window_s=10)
    for seconds in (0.0004, 0.001, 0.005, 0.0051, 0.3, 30.0, 31.0):  # bounds land in their le
        stats.record("r", "g", 200, seconds)
    row = stats.snapshot()[0]
    for bound, count in row.latency_buckets:
        le = "+Inf" if bound is None else str(float(bound))
        assert stats.registry.get_sample_value(
            "gateway_request_duration_seconds_bucket",
            {"rule": "r", "target_group": "g", "le": le}) == count, le
    assert dict(row.latency_buckets)[0.001] == 2 and row.latency_buckets[-1] == (None, 7)


def test_history_counts_each_interval_once_and_keeps_only_its_span() -> None:
    stats = Stats(window_s=10, history_interval_s=1.0, history_span_s=3.0)
    stats.record("r", "g", 200, 0.002)
    stats.record("r", "g", 200, 0.002)
    stats.record("fixed", "-", 418, 0.0001)  # no target group: never in a group's history
    stats.sample(["g", "h"], now=100.0)
    stats.record("r", "g", 503, 0.2)
    stats.sample(["g", "h"], now=101.0)
    first, second = stats.history["g"]
    assert (first.t, first.requests, first.errors) == (100.0, 2, 0)
    assert (second.requests, second.errors) == (1, 1)
    assert second.p50_ms is not None and 100 < second.p50_ms <= 250
    for now in (102.0, 103.0, 104.0):
        stats.sample(["g", "h"], now=now)
    assert [s.t for s in stats.history["g"]] == [102.0, 103.0, 104.0]  # 3 s at 1 s
    assert all(s.requests == 0 and s.p50_ms is None for s in stats.history["g"])
    assert [s.requests for s in stats.history["h"]] == [0, 0, 0]
    assert "-" not in stats.history
