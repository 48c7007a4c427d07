"""The gate's error test by simulation (seeded, pure Python): with equal error rates on both
sides the gate, polled after every batch of a bake, aborts less often than 1 - confidence; with
the new side's error rate doubled it fails within the number of requests docs/promotion.md
states (DETECTION_WITHIN here)."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field

import pytest

from routing.promotion.evidence import GroupWindow
from routing.promotion.gate import judge
from routing.table.plans import Gate

pytestmark = pytest.mark.slow  # about 5 s of CPU

SHARES = (0.05, 0.10, 0.25, 0.50)  # the new side's share of the rule's requests
BASE_RATES = (0.01, 0.05)  # 5xx per request on the old side (and on the new one under H0)
# The ceiling is set out of the way: it is an absolute rule (a 5 % base rate crosses a 5 %
# ceiling by design); what is measured here is the sequential test.
GATE = Gate(confidence=0.95, max_error_ratio=0.5, min_requests=100)
ALPHA = 1 - GATE.confidence
BATCH = 100  # requests on the rule between two looks of the gate
BAKE_BATCHES = 50  # a bake of 5000 requests, 50 looks, the last one with bake_over
FALSE_ABORT_RUNS = 250  # per (share, base rate)
DETECTION_RUNS = 100
SIGMAS = 3.0  # the margin of the false-abort assertion, in binomial standard errors

DETECTION_WITHIN = {  # rule requests by which >= 95 % of bakes with a doubled rate failed:
    # the p95 measured over 1000 bakes (docs/promotion.md) plus about 20 % headroom
    (0.05, 0.01): 65_000, (0.05, 0.05): 13_000,
    (0.10, 0.01): 34_000, (0.10, 0.05): 7_000,
    (0.25, 0.01): 16_000, (0.25, 0.05): 3_300,
    (0.50, 0.01): 12_000, (0.50, 0.05): 2_700,
}
DETECTED_SHARE = 0.95


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """Successes in n Bernoulli(p) trials, by geometric skips (n p + 1 draws, not n)."""
    if p <= 0.0 or n == 0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - _binomial(rng, n, 1.0 - p)
    log_q, successes, position = math.log1p(-p), 0, -1
    while True:
        position += int(math.log(1.0 - rng.random()) / log_q) + 1
        if position >= n:
            return successes
        successes += 1


@dataclass
class _Rule:
    """The rule's cumulative window, one batch of requests at a time."""

    share: float
    old_rate: float
    new_rate: float
    new: GroupWindow = field(default_factory=GroupWindow)
    old: GroupWindow = field(default_factory=GroupWindow)

    def serve(self, rng: random.Random, requests: int) -> None:
        to_new = _binomial(rng, requests, self.share)
        self.new = GroupWindow(self.new.requests + to_new,
                               self.new.errors + _binomial(rng, to_new, self.new_rate))
        self.old = GroupWindow(self.old.requests + requests - to_new,
                               self.old.errors + _binomial(rng, requests - to_new, self.old_rate))


def _naive_z_rejects(new: GroupWindow, old: GroupWindow) -> bool:
    """The fixed-sample test the gate must not be: binomial z of the new side's errors against
    its share at the 95 % level, looked at after every batch as if each look were the only one."""
    errors, requests = new.errors + old.errors, new.requests + old.requests
    if not errors or not 0 < new.requests < requests:
        return False
    rho = new.requests / requests
    return (new.errors - errors * rho) / math.sqrt(errors * rho * (1 - rho)) > 1.645


def _bake(rng: random.Random, share: float, rate: float) -> tuple[bool, bool, str]:
    """One bake with equal rates: (the gate ever failed, the naive test ever rejected, the
    gate's final outcome)."""
    rule, naive = _Rule(share, rate, rate), False
    for look in range(BAKE_BATCHES):
        rule.serve(rng, BATCH)
        naive = naive or _naive_z_rejects(rule.new, rule.old)
        verdict = judge(GATE, rule.new, rule.old, bake_over=look == BAKE_BATCHES - 1)
        if verdict.outcome == "fail":
            return True, naive, "fail"
    return False, naive, verdict.outcome


def _margin(runs: int) -> float:
    return SIGMAS * math.sqrt(ALPHA * (1 - ALPHA) / runs)


def test_equal_error_rates_rarely_abort_however_often_the_gate_looks() -> None:
    aborts, naive_rejections, runs, passes = 0, 0, 0, 0
    for share in SHARES:
        for rate in BASE_RATES:
            rng = random.Random(f"equal {share} {rate}")
            results = [_bake(rng, share, rate) for _ in range(FALSE_ABORT_RUNS)]
            failed = sum(gate_failed for gate_failed, _, _ in results)
            print(f"share {share:.0%} rate {rate:.0%}: {failed}/{FALSE_ABORT_RUNS} aborted "
                  f"({failed / FALSE_ABORT_RUNS:.1%})")
            assert failed / FALSE_ABORT_RUNS <= ALPHA + _margin(FALSE_ABORT_RUNS), (share, rate)
            aborts += failed
            naive_rejections += sum(naive for _, naive, _ in results)
            passes += sum(outcome == "pass" for _, _, outcome in results)
            runs += FALSE_ABORT_RUNS
    print(f"all: gate {aborts}/{runs} ({aborts / runs:.2%}), naive z polled "
          f"{naive_rejections}/{runs} ({naive_rejections / runs:.1%})")
    assert aborts / runs <= ALPHA + _margin(runs)
    assert passes == runs - aborts  # every bake that was not aborted passed at its end
    # the simulation can tell: a test that is not anytime-valid aborts far more often
    assert naive_rejections / runs > ALPHA + _margin(runs)


def _requests_to_detection(rng: random.Random, share: float, rate: float, cap: int) -> int:
    rule = _Rule(share, rate, 2 * rate)
    served = 0
    while served < cap:
        rule.serve(rng, BATCH)
        served += BATCH
        if judge(GATE, rule.new, rule.old, bake_over=False).outcome == "fail":
            return served
    return cap + 1


def test_a_doubled_error_rate_is_caught_within_the_documented_requests() -> None:
    for (share, rate), within in DETECTION_WITHIN.items():
        rng = random.Random(f"doubled {share} {rate}")
        needed = sorted(_requests_to_detection(rng, share, rate, cap=2 * within)
                        for _ in range(DETECTION_RUNS))
        caught = sum(n <= within for n in needed) / DETECTION_RUNS
        p95 = needed[math.ceil(DETECTED_SHARE * DETECTION_RUNS) - 1]
        print(f"share {share:.0%} rate {rate:.0%} -> {2 * rate:.0%}: median "
              f"{statistics.median(needed):.0f}, p95 {p95} rule requests; "
              f"{caught:.0%} within {within}")
        assert caught >= DETECTED_SHARE, (share, rate, p95)
