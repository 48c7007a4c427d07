"""The ratios the bench is judged by, from runs of one session."""

from __future__ import annotations

import pytest

from bench import ratios
from bench.results import (
    GATEWAY_SERVICES,
    MONOLITH_1W,
    NGINX_SERVICES,
    REF_EVALSHA,
    SERVICES,
    SERVICES_FEW_PENDING,
    SERVICES_FEW_PENDING_AFTER,
    SERVICES_MANY_PENDING,
    Goal,
    Report,
    Run,
)


def run(target: str, workload: str, rps: float, cpu_per_1k: float | None = 1.0) -> Run:
    return Run(target, workload, int(rps * 5), rps, 1.0, 2.0, cpu_per_1k, 0.1, {"201": 10})


def goal(report: Report, name: str) -> Goal:
    return next(g for g in ratios.throughput_goals(report) if g.name == name)


def test_overhead_is_the_share_of_direct_throughput_lost() -> None:
    assert ratios.overhead(850, 1000) == pytest.approx(0.15)
    assert ratios.overhead(1000, 1000) == pytest.approx(0.0)
    assert ratios.overhead(None, 1000) is None
    assert ratios.overhead(850, 0) is None


def test_judged_compares_in_the_right_direction() -> None:
    assert ratios.judged("x", 2.0, ">=", 2.0).passed is True
    assert ratios.judged("x", 1.99, ">=", 2.0).passed is False
    assert ratios.judged("x", 1.6, "<=", 1.5).passed is False
    unmeasured = ratios.judged("x", None, "<=", 1.5)
    assert unmeasured.passed is None and unmeasured.detail == "not measured"


def test_goals_from_a_full_session() -> None:
    report = Report(meta={"many_pending": 1_000_000}, runs=[
        run(MONOLITH_1W, "send", 1000, cpu_per_1k=1.0),
        run(SERVICES, "send", 2500, cpu_per_1k=0.4),
        run(REF_EVALSHA, "send", 3000),
        run(NGINX_SERVICES, "send", 2000),  # overhead 0.2
        run(GATEWAY_SERVICES, "send", 1750),  # overhead 0.3 -> ratio 1.5
        run(SERVICES_FEW_PENDING, "send", 2600),
        run(SERVICES_MANY_PENDING, "send", 2400),
        run(SERVICES_FEW_PENDING_AFTER, "send", 2400),
    ])
    per_core = goal(report, "services / monolith per core (send)")
    assert per_core.value == pytest.approx(2.5) and per_core.passed is True
    assert "by CPU per request: 2.50" in per_core.detail
    reference = goal(report, "services / FastAPI+EVALSHA reference (send)")
    assert reference.value == pytest.approx(0.8333, abs=1e-4) and reference.passed is False
    proxy = goal(report, "gateway overhead / nginx overhead (send)")
    assert proxy.value == pytest.approx(1.5) and proxy.passed is True
    assert "gateway overhead 0.300, nginx overhead 0.200" in proxy.detail
    # every run above spent 1.0 CPU s/1k except services (0.4): each proxy adds 0.6
    assert "CPU s/1k added: gateway 0.600, nginx 0.600 (ratio 1.00)" in proxy.detail
    pending = goal(report, "throughput with many pending / with 1,000 (send)")
    assert pending.value == pytest.approx(0.96) and pending.passed is True  # 2400 / 2500
    assert "1,000,000" in pending.detail and "mean of 2 runs" in pending.detail


def test_missing_runs_are_not_judged() -> None:
    report = Report(runs=[run(SERVICES, "check", 2000)])
    for name in ("services / monolith per core (check)",
                 "gateway overhead / nginx overhead (check)"):
        assert goal(report, name).passed is None


def test_nginx_costing_nothing_leaves_the_proxy_ratio_undefined() -> None:
    report = Report(runs=[run(SERVICES, "send", 1000), run(NGINX_SERVICES, "send", 1010),
                          run(GATEWAY_SERVICES, "send", 800)])
    proxy = goal(report, "gateway overhead / nginx overhead (send)")
    assert proxy.value is None and proxy.passed is None
    assert "ratio undefined" in proxy.detail


def test_runs_with_refusals_are_left_out_and_say_why() -> None:
    broken = Run(GATEWAY_SERVICES, "send", 10_000, 5000.0, 1.0, 2.0, 0.1, 0.0, {"503": 10_000})
    report = Report(runs=[run(SERVICES, "send", 1000), run(NGINX_SERVICES, "send", 850), broken])
    proxy = goal(report, "gateway overhead / nginx overhead (send)")
    assert proxy.value is None and proxy.passed is None
    assert "gateway->services answered only 0.0% 2xx" in proxy.detail


def test_added_cpu_ratio_divides_what_each_proxy_adds_over_direct() -> None:
    from bench.ratios import added_cpu_ratio
    assert added_cpu_ratio(1.0, 1.3, 1.2) == pytest.approx(1.5)
    assert added_cpu_ratio(1.0, 1.3, 1.0) is None  # nginx added nothing: undefined
    assert added_cpu_ratio(None, 1.3, 1.2) is None


def test_curve_stops_after_two_steps_with_less_than_five_percent_gain() -> None:
    from bench.mixed import curve_stopped
    assert not curve_stopped([10, 20, 40, 80])
    assert not curve_stopped([10, 20, 20.5])
    assert curve_stopped([10, 20, 20.5, 20.9])
    assert not curve_stopped([10, 20, 20.5, 30])


def test_mixed_goals_against_min_and_the_one_core_ceiling() -> None:
    report = Report(runs=[run(SERVICES, "send", 2000), run(SERVICES, "check", 3000)])
    report.mixed[SERVICES] = {"flows_per_s": 600.0, "concurrency": 16, "delivery_p50_ms": 4.0,
                              "delivery_p99_ms": 9.0,
                              "half_load": {"concurrency": 4, "flow_p99_ms": 12.0}}
    goals = {g.name: g for g in ratios.mixed_goals(report)}
    mixed = goals["mixed flows/s / min(send, check) req/s (services)"]
    assert mixed.value == pytest.approx(0.3) and mixed.passed is False
    # 1 / (1/2000 + 1/3000) = 1,200 flows/s: the API alone, on the one core
    assert "API alone on one core: 1,200 flows/s (ratio 0.50)" in mixed.detail
    delivery = goals["delivery p50 ms (services, mixed flow)"]
    assert delivery.value == 4.0 and delivery.passed is True
    assert "at half load (4 at once) flow p99 12.0 ms" in delivery.detail
