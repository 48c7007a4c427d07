"""The gate: one bake window's evidence -> a Verdict, with every number behind it.

Four checks (docs/promotion.md "The gate"): the sample (min_requests per side by the end of the
bake), the sequential error test against the baseline (stats.sequential_error_test), the
absolute 5xx ceiling and, at the end of the bake, latency (p99 against a tolerance band,
confirmed by Mann-Whitney when both sides have histograms). Errors may fail a bake at any look;
nothing passes before the bake is over. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.promotion.evidence import Check, Evidence, GroupWindow, Outcome, Verdict
from routing.promotion.stats import (
    PRIOR_CONCENTRATION,
    MannWhitney,
    add_histograms,
    histogram_quantile,
    mann_whitney,
    sequential_error_test,
)
from routing.table.plans import Gate

_FAIL_FIRST: tuple[Outcome, ...] = ("fail", "inconclusive", "wait", "pass")


def baseline_of(evidence: Evidence, to: str) -> GroupWindow | None:
    """The rule's other groups merged into one baseline: requests and errors summed, histograms
    summed bucket-wise (None unless every group that served requests has one, all with the
    same bounds), p99/p50 the largest of the groups that served requests (an upper bound of the
    merged percentile; only used without histograms). None when `to` is the only group; at the
    step to 100 % the others are still listed (weight 0, no requests), so the engine passes
    baseline=None to judge there itself."""
    others = [window for name, window in evidence.items() if name != to]
    if not others:
        return None
    served = [window for window in others if window.requests > 0]
    histograms = [window.latency for window in others if window.latency is not None]
    complete = all(window.latency is not None for window in served)
    return GroupWindow(
        requests=sum(window.requests for window in others),
        errors=sum(window.errors for window in others),
        latency=add_histograms(histograms) if histograms and complete else None,
        p99_s=max((w.p99_s for w in served if w.p99_s is not None), default=None),
        p50_s=max((w.p50_s for w in served if w.p50_s is not None), default=None),
    )


def judge(gate: Gate, new: GroupWindow, baseline: GroupWindow | None, *, bake_over: bool,
          new_name: str = "new side", baseline_name: str = "baseline") -> Verdict:
    """The verdict on one window (cumulative since the step's weights were served).

    Mid-bake: "fail" as soon as the error test rejects or the ceiling is crossed, else "wait".
    At the end: "fail" on those or on latency, "inconclusive" with too few requests on either
    side, else "pass". Without a baseline (the step at 100 %) only the sample and the ceiling
    are checked."""
    names = _Names(new_name, baseline_name)
    checks = [_sample(gate, new, baseline, names, bake_over)]
    if baseline is not None:
        checks.append(_errors(gate, new, baseline, names, bake_over))
    checks.append(_ceiling(gate, new, names, bake_over))
    if baseline is not None:
        checks.append(_latency(gate, new, baseline, names, bake_over))
    outcome = _combine([check.outcome for check in checks], bake_over)
    return Verdict(outcome, tuple(checks), _reason(outcome, gate, new, baseline, checks, names))


@dataclass(frozen=True)
class _Names:
    new: str
    baseline: str


def _combine(outcomes: list[Outcome], bake_over: bool) -> Outcome:
    if "fail" in outcomes:
        return "fail"
    if not bake_over:
        return "wait"
    return next(outcome for outcome in _FAIL_FIRST if outcome in outcomes)


def _alpha(gate: Gate) -> float:
    """1 - confidence, rounded so that 0.95 gives 0.05 exactly (a threshold of 20, not 19.99..)."""
    return round(1.0 - gate.confidence, 12)


def _open(bake_over: bool) -> Outcome:
    """A check that found nothing wrong: decided only when the bake is over."""
    return "pass" if bake_over else "wait"


def _rate(window: GroupWindow) -> float:
    return window.errors / window.requests if window.requests else 0.0


def _sample(gate: Gate, new: GroupWindow, baseline: GroupWindow | None, names: _Names,
            bake_over: bool) -> Check:
    sides = [(names.new, new.requests)]
    if baseline is not None:
        sides.append((names.baseline, baseline.requests))
    short = [name for name, requests in sides if requests < gate.min_requests]
    outcome: Outcome = ("inconclusive" if bake_over else "wait") if short else _open(bake_over)
    detail = (" and ".join(f"{name} {requests}" for name, requests in sides)
              + f" requests, {gate.min_requests} needed per side: "
              + (f"too few on {' and '.join(short)}" if short else "enough"))
    return Check("sample", outcome, {
        "requests": new.requests,
        "baseline_requests": baseline.requests if baseline is not None else None,
        "min_requests": gate.min_requests,
        "decision": "too few requests" if short else "enough requests",
    }, detail)


def _errors(gate: Gate, new: GroupWindow, baseline: GroupWindow, names: _Names,
            bake_over: bool) -> Check:
    alpha = _alpha(gate)
    total_requests = new.requests + baseline.requests
    rho = new.requests / total_requests if total_requests else 0.0
    errors = new.errors + baseline.errors
    test = sequential_error_test(new.errors, errors, rho, alpha)
    testable = errors > 0 and 0.0 < rho < 1.0
    if test.rejects:
        decision = "regression: more errors than the new side's share explains"
    elif testable:
        decision = "no evidence of a regression"
    else:
        decision = "nothing to test yet" if errors == 0 else "one side has no requests"
    numbers: dict[str, float | int | str | None] = {
        "requests": new.requests, "errors": new.errors, "rate": _rate(new),
        "baseline_requests": baseline.requests, "baseline_errors": baseline.errors,
        "baseline_rate": _rate(baseline),
        "rho": rho, "errors_total": errors, "expected_errors": test.expected_new_errors,
        "statistic": test.likelihood_ratio, "threshold": test.threshold,
        "p_value": test.p_value, "confidence": gate.confidence,
        "prior_concentration": PRIOR_CONCENTRATION, "decision": decision,
    }
    detail = (f"{_errors_text(names.new, new)} vs {_errors_text(names.baseline, baseline)}; "
              f"share {rho:.1%}: {new.errors} of {errors} errors where "
              f"{test.expected_new_errors:.1f} expected; likelihood ratio "
              f"{test.likelihood_ratio:.3g} {'>=' if test.rejects else '<'} "
              f"{test.threshold:.3g} ({gate.confidence:.0%} confidence): {decision}")
    return Check("errors", "fail" if test.rejects else _open(bake_over), numbers, detail)


def _ceiling(gate: Gate, new: GroupWindow, names: _Names, bake_over: bool) -> Check:
    rate, enough = _rate(new), new.requests >= gate.min_requests
    over = enough and rate > gate.max_error_ratio
    outcome: Outcome
    if over:
        outcome, decision = "fail", "over the ceiling"
    elif enough:
        outcome, decision = _open(bake_over), "under the ceiling"
    else:
        outcome = "inconclusive" if bake_over else "wait"
        decision = f"not judged below {gate.min_requests} requests"
    numbers: dict[str, float | int | str | None] = {
        "requests": new.requests, "errors": new.errors, "rate": rate,
        "threshold": gate.max_error_ratio, "min_requests": gate.min_requests,
        "decision": decision,
    }
    detail = (f"{_errors_text(names.new, new)} against a ceiling of "
              f"{gate.max_error_ratio:.2%}: {decision}")
    return Check("error-ceiling", outcome, numbers, detail)


def _latency(gate: Gate, new: GroupWindow, baseline: GroupWindow, names: _Names,
             bake_over: bool) -> Check:
    new_p99, base_p99 = _p99(new), _p99(baseline)
    alpha = _alpha(gate)
    test: MannWhitney | None = None
    if new.latency is not None and baseline.latency is not None and \
            [b for b, _ in new.latency] == [b for b, _ in baseline.latency]:
        test = mann_whitney(new.latency, baseline.latency)
    limit = None if base_p99 is None else \
        max(base_p99 * gate.max_p99_ratio, base_p99 + gate.p99_slack_ms / 1000.0)
    over = new_p99 is not None and limit is not None and new_p99 > limit
    significant = test is None or test.p_value < alpha  # without histograms p99 decides alone
    enough = min(new.requests, baseline.requests) >= gate.min_requests
    outcome: Outcome
    if new_p99 is None or limit is None:
        outcome, decision = _open(bake_over), "not judged without latency data on both sides"
    elif not enough:
        outcome = "inconclusive" if bake_over else "wait"
        decision = f"not judged below {gate.min_requests} requests per side"
    elif over and significant:
        outcome = "fail" if bake_over else "wait"  # latency is judged once, at the end
        decision = "slower: p99 over the limit" + (" and significant" if test else "") + (
            "" if bake_over else " (judged at the end of the bake)")
    elif over:
        outcome, decision = _open(bake_over), "p99 over the limit but not significant"
    else:
        outcome, decision = _open(bake_over), "within the limit"
    numbers: dict[str, float | int | str | None] = {
        "requests": new.requests, "baseline_requests": baseline.requests,
        "p99_s": new_p99, "baseline_p99_s": base_p99, "threshold": limit,
        "p99_ratio": new_p99 / base_p99 if new_p99 is not None and base_p99 else None,
        "max_p99_ratio": gate.max_p99_ratio, "p99_slack_ms": gate.p99_slack_ms,
        "source": "histogram" if new.latency is not None else "reported p99",
        "statistic": test.z if test else None, "u": test.u if test else None,
        "effect": test.effect if test else None, "p_value": test.p_value if test else None,
        "confidence": gate.confidence, "decision": decision,
    }
    return Check("latency", outcome, numbers,
                 _latency_text(names, new_p99, base_p99, limit, gate, test, alpha, decision))


def _p99(window: GroupWindow) -> float | None:
    """From the histogram when there is one (both sides measured alike), else as reported."""
    if window.latency is not None:
        return histogram_quantile(0.99, window.latency)
    return window.p99_s


def _errors_text(name: str, window: GroupWindow) -> str:
    return f"{name} {window.errors}/{window.requests} 5xx ({_rate(window):.2%})"


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def _latency_text(names: _Names, new_p99: float | None, base_p99: float | None,
                  limit: float | None, gate: Gate, test: MannWhitney | None, alpha: float,
                  decision: str) -> str:
    if new_p99 is None or base_p99 is None or limit is None:
        return f"{names.new} p99 {_ms(new_p99)}, {names.baseline} {_ms(base_p99)}: {decision}"
    text = (f"{names.new} p99 {_ms(new_p99)} vs {names.baseline} {_ms(base_p99)} (limit "
            f"{_ms(limit)} = max({gate.max_p99_ratio:g}x, +{gate.p99_slack_ms:g} ms))")
    if test is not None:
        text += (f"; Mann-Whitney z {test.z:.2f}, one-sided p {test.p_value:.3g} "
                 f"{'<' if test.p_value < alpha else '>='} {alpha:.3g}")
    return f"{text}: {decision}"


def _reason(outcome: Outcome, gate: Gate, new: GroupWindow, baseline: GroupWindow | None,
            checks: list[Check], names: _Names) -> str:
    if outcome == "fail":
        return "; ".join(f"{check.name}: {check.detail}" for check in checks
                         if check.outcome == "fail")
    counts = f"{names.new} {new.requests} requests" + (
        f", {names.baseline} {baseline.requests}" if baseline is not None else "")
    if outcome == "wait":
        return f"baking: {counts}; nothing wrong so far"
    if outcome == "inconclusive":
        return _missing(gate, new, baseline, names)
    return f"every check passed with {counts}"


def _missing(gate: Gate, new: GroupWindow, baseline: GroupWindow | None, names: _Names) -> str:
    """What an inconclusive bake lacked, e.g. "send has 40 of the 200 requests needed;
    monolith 1200"."""
    needed = gate.min_requests
    sides = [(names.new, new.requests)]
    if baseline is not None:
        sides.append((names.baseline, baseline.requests))
    short = [(name, n) for name, n in sides if n < needed]
    enough = [(name, n) for name, n in sides if n >= needed]
    if len(short) == 2:
        (a, n_a), (b, n_b) = short
        return f"{a} has {n_a} and {b} has {n_b} of the {needed} requests needed per side"
    if not short:
        return "not enough evidence"
    name, count = short[0]
    return f"{name} has {count} of the {needed} requests needed" + "".join(
        f"; {other} {n}" for other, n in enough)
