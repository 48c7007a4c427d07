"""The gate's verdicts: each outcome, when it comes (mid-bake or at the end), and the numbers
each check carries."""

from __future__ import annotations

import json
import math

import pytest

from routing.promotion.evidence import Check, GroupWindow, Histogram, Verdict
from routing.promotion.gate import baseline_of, judge
from routing.promotion.stats import sequential_error_test
from routing.table.plans import Gate

INF = math.inf
GATE = Gate(confidence=0.95, max_error_ratio=0.05, min_requests=200, max_p99_ratio=1.5,
            p99_slack_ms=25.0)
HEALTHY_NEW = GroupWindow(400, 2)
HEALTHY_OLD = GroupWindow(3600, 20)


def _judge(new: GroupWindow, baseline: GroupWindow | None, bake_over: bool) -> Verdict:
    return judge(GATE, new, baseline, bake_over=bake_over, new_name="send",
                 baseline_name="monolith")


def _check(verdict: Verdict, name: str) -> Check:
    return next(check for check in verdict.checks if check.name == name)


def _outcomes(verdict: Verdict) -> dict[str, str]:
    return {check.name: check.outcome for check in verdict.checks}


def test_healthy_traffic_waits_mid_bake_and_passes_at_the_end() -> None:
    waiting = _judge(HEALTHY_NEW, HEALTHY_OLD, bake_over=False)
    assert waiting.outcome == "wait"
    assert set(_outcomes(waiting).values()) == {"wait"}
    assert waiting.reason == "baking: send 400 requests, monolith 3600; nothing wrong so far"
    passed = _judge(HEALTHY_NEW, HEALTHY_OLD, bake_over=True)
    assert passed.outcome == "pass"
    assert _outcomes(passed) == {"sample": "pass", "errors": "pass", "error-ceiling": "pass",
                                 "latency": "pass"}
    assert passed.reason == "every check passed with send 400 requests, monolith 3600"


def test_the_error_test_fails_a_bake_at_once_with_its_numbers() -> None:
    new, old = GroupWindow(400, 12), GroupWindow(3600, 1)
    verdict = _judge(new, old, bake_over=False)
    assert verdict.outcome == "fail"
    errors = _check(verdict, "errors")
    expected = sequential_error_test(12, 13, 0.1, 0.05)
    assert errors.outcome == "fail"
    assert errors.numbers == {
        "requests": 400, "errors": 12, "rate": 0.03,
        "baseline_requests": 3600, "baseline_errors": 1, "baseline_rate": 1 / 3600,
        "rho": 0.1, "errors_total": 13, "expected_errors": pytest.approx(1.3),
        "statistic": pytest.approx(expected.likelihood_ratio), "threshold": 20.0,
        "p_value": pytest.approx(1 / expected.likelihood_ratio), "confidence": 0.95,
        "prior_concentration": 16.0,
        "decision": "regression: more errors than the new side's share explains",
    }
    assert errors.detail == (
        "send 12/400 5xx (3.00%) vs monolith 1/3600 5xx (0.03%); share 10.0%: 12 of 13 errors "
        "where 1.3 expected; likelihood ratio 4.13e+05 >= 20 (95% confidence): regression: "
        "more errors than the new side's share explains")
    assert verdict.reason == f"errors: {errors.detail}"


def test_errors_in_proportion_to_the_share_do_not_fail() -> None:
    verdict = _judge(GroupWindow(400, 6), GroupWindow(3600, 54), bake_over=True)
    errors = _check(verdict, "errors")
    assert errors.outcome == "pass" and errors.numbers["decision"] == \
        "no evidence of a regression"
    assert isinstance(errors.numbers["statistic"], float)
    assert errors.numbers["statistic"] < 20


def test_the_ceiling_fails_even_when_both_sides_err_alike() -> None:
    new, old = GroupWindow(400, 30), GroupWindow(3600, 270)  # 7.5 % on both sides
    for bake_over in (False, True):
        verdict = _judge(new, old, bake_over=bake_over)
        assert verdict.outcome == "fail"
        assert _outcomes(verdict)["errors"] != "fail"
        ceiling = _check(verdict, "error-ceiling")
        assert ceiling.numbers == {"requests": 400, "errors": 30, "rate": 0.075,
                                   "threshold": 0.05, "min_requests": 200,
                                   "decision": "over the ceiling"}
        assert verdict.reason == ("error-ceiling: send 30/400 5xx (7.50%) against a ceiling "
                                  "of 5.00%: over the ceiling")


def test_too_few_requests_is_inconclusive_and_says_what_is_missing() -> None:
    verdict = _judge(GroupWindow(40, 0), GroupWindow(1200, 3), bake_over=True)
    assert verdict.outcome == "inconclusive"
    assert verdict.reason == "send has 40 of the 200 requests needed; monolith 1200"
    sample = _check(verdict, "sample")
    assert sample.numbers == {"requests": 40, "baseline_requests": 1200, "min_requests": 200,
                              "decision": "too few requests"}
    assert sample.detail == ("send 40 and monolith 1200 requests, 200 needed per side: "
                             "too few on send")
    both = _judge(GroupWindow(40, 0), GroupWindow(150, 0), bake_over=True)
    assert both.reason == "send has 40 and monolith has 150 of the 200 requests needed per side"
    nothing = _judge(GroupWindow(), GroupWindow(), bake_over=True)
    assert nothing.outcome == "inconclusive"
    assert _judge(GroupWindow(40, 0), HEALTHY_OLD, bake_over=False).outcome == "wait"


def test_a_failure_wins_over_a_short_sample() -> None:
    verdict = _judge(GroupWindow(60, 30), GroupWindow(1200, 3), bake_over=True)
    assert verdict.outcome == "fail"
    assert _outcomes(verdict)["sample"] == "inconclusive"


def _histogram(*counts: int) -> Histogram:
    """Cumulative buckets at 50 ms, 100 ms, 250 ms, 500 ms, 1 s and +inf from per-bucket
    counts."""
    bounds = (0.05, 0.1, 0.25, 0.5, 1.0, INF)
    cumulative, total = [], 0
    for bound, count in zip(bounds, counts, strict=True):
        total += count
        cumulative.append((bound, total))
    return tuple(cumulative)


def test_a_slower_new_side_fails_at_the_end_of_the_bake_only() -> None:
    new = GroupWindow(400, 0, latency=_histogram(100, 150, 100, 40, 10, 0))
    old = GroupWindow(3600, 0, latency=_histogram(2000, 1200, 380, 20, 0, 0))
    assert _judge(new, old, bake_over=False).outcome == "wait"
    latency_mid = _check(_judge(new, old, bake_over=False), "latency")
    assert latency_mid.outcome == "wait"
    assert latency_mid.numbers["decision"] == ("slower: p99 over the limit and significant "
                                               "(judged at the end of the bake)")
    verdict = _judge(new, old, bake_over=True)
    assert verdict.outcome == "fail"
    latency = _check(verdict, "latency")
    # new p99: rank 396 of 400 in (0.5, 1]: 0.5 + 0.5 * (396 - 390) / 10 = 0.8 s;
    # old p99: rank 3564 of 3600 in (0.1, 0.25]: 0.1 + 0.15 * (3564 - 3200) / 380
    old_p99 = 0.1 + 0.15 * 364 / 380
    assert latency.numbers["p99_s"] == pytest.approx(0.8)
    assert latency.numbers["baseline_p99_s"] == pytest.approx(old_p99)
    assert latency.numbers["threshold"] == pytest.approx(old_p99 * 1.5)
    assert latency.numbers["source"] == "histogram"
    assert isinstance(latency.numbers["statistic"], float)
    assert latency.numbers["statistic"] > 10
    assert isinstance(latency.numbers["p_value"], float)
    assert latency.numbers["p_value"] < 0.05
    assert latency.detail.startswith("send p99 800.0 ms vs monolith 243.7 ms (limit 365.5 ms "
                                     "= max(1.5x, +25 ms)); Mann-Whitney z ")
    assert verdict.reason == f"latency: {latency.detail}"


def test_a_p99_over_the_limit_that_is_not_significant_passes() -> None:
    # the same shape on both sides but for 2 % slow requests on the new one
    new = GroupWindow(200, 0, latency=_histogram(178, 18, 4, 0, 0, 0))
    old = GroupWindow(1000, 0, latency=_histogram(900, 95, 5, 0, 0, 0))
    verdict = _judge(new, old, bake_over=True)
    latency = _check(verdict, "latency")
    assert latency.numbers["p99_s"] == pytest.approx(0.1 + 0.15 * 2 / 4)
    assert latency.numbers["decision"] == "p99 over the limit but not significant"
    assert verdict.outcome == "pass"


def test_reported_p99s_decide_alone_without_histograms() -> None:
    slow = _judge(GroupWindow(400, 0, p99_s=0.3), GroupWindow(3600, 0, p99_s=0.1), True)
    assert slow.outcome == "fail"
    assert _check(slow, "latency").numbers["source"] == "reported p99"
    assert _check(slow, "latency").numbers["p_value"] is None
    # 10 ms -> 30 ms is three times slower but within the 25 ms slack
    small = _judge(GroupWindow(400, 0, p99_s=0.03), GroupWindow(3600, 0, p99_s=0.01), True)
    assert small.outcome == "pass"
    assert _check(small, "latency").numbers["threshold"] == pytest.approx(0.035)
    none = _judge(GroupWindow(400, 0, p99_s=0.3), GroupWindow(3600, 0), True)
    assert _check(none, "latency").numbers["decision"] == \
        "not judged without latency data on both sides"
    assert none.outcome == "pass"


def test_latency_is_not_judged_on_a_short_sample() -> None:
    verdict = _judge(GroupWindow(50, 0, p99_s=0.9), GroupWindow(3600, 0, p99_s=0.1), True)
    assert verdict.outcome == "inconclusive"
    assert _outcomes(verdict)["latency"] == "inconclusive"


def test_without_a_baseline_only_the_sample_and_the_ceiling_count() -> None:
    passed = _judge(GroupWindow(400, 2, p99_s=5.0), None, bake_over=True)
    assert passed.outcome == "pass"
    assert [check.name for check in passed.checks] == ["sample", "error-ceiling"]
    assert _check(passed, "sample").numbers["baseline_requests"] is None
    assert _judge(GroupWindow(400, 40), None, bake_over=False).outcome == "fail"
    short = _judge(GroupWindow(50, 20), None, bake_over=True)
    assert short.outcome == "inconclusive"
    assert short.reason == "send has 50 of the 200 requests needed"


def test_every_verdict_is_plain_json() -> None:
    verdicts = [_judge(GroupWindow(5000, 5000), GroupWindow(5000, 0), True),
                _judge(HEALTHY_NEW, HEALTHY_OLD, False), _judge(GroupWindow(), None, True)]
    for verdict in verdicts:
        text = json.dumps(verdict.to_json(), allow_nan=False)
        assert json.loads(text)["outcome"] == verdict.outcome
        for check in verdict.checks:
            assert check.numbers["decision"] and check.detail


def test_baseline_merges_the_other_groups() -> None:
    a = GroupWindow(100, 1, latency=((0.1, 90), (INF, 100)), p99_s=0.2)
    b = GroupWindow(300, 4, latency=((0.1, 200), (INF, 300)), p99_s=0.4)
    new = GroupWindow(50, 9)
    merged = baseline_of({"old-a": a, "new": new, "old-b": b}, "new")
    assert merged == GroupWindow(400, 5, latency=((0.1, 290), (INF, 400)), p99_s=0.4)
    assert baseline_of({"new": new}, "new") is None
    idle = GroupWindow(0, 0)  # a group that served nothing neither lacks nor adds a histogram
    assert baseline_of({"old-a": a, "idle": idle, "new": new}, "new") == a
    no_histogram = GroupWindow(10, 0, p99_s=0.9)
    mixed = baseline_of({"old-a": a, "cw": no_histogram, "new": new}, "new")
    assert mixed == GroupWindow(110, 1, latency=None, p99_s=0.9)
    other_bounds = GroupWindow(10, 0, latency=((0.2, 10), (INF, 10)))
    merged_bounds = baseline_of({"old-a": a, "x": other_bounds}, "new")
    assert merged_bounds is not None and merged_bounds.latency is None
