"""The gate's statistics, pure math on counts (stdlib only; gate.py decides with them).

Errors: a one-sided beta-mixture sequential probability ratio test (mixture SPRT). Under "no
regression" every 5xx of the window is the new side's with probability rho, its share of the
rule's requests in the same window, so given n errors the new side's count x is binomial(n, rho).
The mixture likelihood ratio over p ~ Beta(c rho, c (1 - rho)) restricted to p > rho is a
nonnegative martingale of mean 1 under H0, so by Ville's inequality P(it ever reaches 1/alpha)
<= alpha: the gate may look after every request without inflating false alarms (Lindon, Sanden,
Shirikian, "Rapid Regression Detection in Software Deployments through Sequential Testing",
KDD 2022, arXiv 2205.14762).

Latency: a quantile from a Prometheus cumulative histogram (as histogram_quantile computes it)
and the Mann-Whitney U test between two histograms with the same bounds (a bucket is one tie
group: its observations share its midrank), one-sided, by the normal approximation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PRIOR_CONCENTRATION = 16.0
"""c of the mixing prior Beta(c rho, c (1 - rho)): its spread (about sqrt(rho (1 - rho) / c))
matches the shift of a doubled error rate (rho -> 2 rho / (1 + rho)) for shares of 5-50 %, where
the test detects fastest. Any c > 0 keeps the false-alarm bound; c only moves the power."""

_CF_MAX_ITERATIONS = 100_000  # the continued fraction needs about sqrt(max(a, b)) terms
_CF_EPSILON = 1e-15
_TINY = 1e-300


def log_beta(a: float, b: float) -> float:
    """log B(a, b) = log Gamma(a) + log Gamma(b) - log Gamma(a + b)."""
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def log_regularized_beta(x: float, a: float, b: float) -> float:
    """log I_x(a, b), the regularized incomplete beta function (the Beta(a, b) CDF at x), exact
    in the far tails too (-inf at x = 0)."""
    if a <= 0 or b <= 0:
        raise ValueError(f"a and b must be positive: a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must be in [0, 1]: {x}")
    if x == 0.0:
        return -math.inf
    if x == 1.0:
        return 0.0
    if x < (a + 1.0) / (a + b + 2.0):  # where the continued fraction converges fast
        return _log_front(x, a, b) + math.log(_beta_continued_fraction(x, a, b) / a)
    upper = math.exp(_log_front(x, a, b)) * _beta_continued_fraction(1.0 - x, b, a) / b
    return math.log1p(-upper) if upper < 1.0 else -math.inf


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b)."""
    return math.exp(log_regularized_beta(x, a, b))


def _log_front(x: float, a: float, b: float) -> float:
    return a * math.log(x) + b * math.log1p(-x) - log_beta(a, b)


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz; Numerical Recipes' betacf)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _CF_MAX_ITERATIONS + 1):
        m2 = 2 * m
        even = m * (b - m) * x / ((qam + m2) * (a + m2))  # the two terms of step m, unrolled
        d = 1.0 + even * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + even / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + odd * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + odd / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _CF_EPSILON:
            return h
    raise ArithmeticError(f"incomplete beta did not converge: x={x}, a={a}, b={b}")


def _log_upper_beta(x: float, a: float, b: float) -> float:
    """log (1 - I_x(a, b)), the Beta(a, b) mass above x, exact where it is tiny."""
    return log_regularized_beta(1.0 - x, b, a)


@dataclass(frozen=True)
class SequentialErrorTest:
    """The error test at one look: x of n errors on the new side, H0 share rho."""

    new_errors: int
    errors: int
    rho: float
    log_likelihood_ratio: float  # log of the mixture likelihood ratio (0 when untestable)
    alpha: float

    @property
    def likelihood_ratio(self) -> float:
        return math.exp(min(self.log_likelihood_ratio, 690.0))  # finite, so JSON can carry it

    @property
    def threshold(self) -> float:
        return 1.0 / self.alpha

    @property
    def p_value(self) -> float:
        """Anytime-valid p-value of this look: min(1, 1 / likelihood ratio)."""
        return min(1.0, math.exp(-self.log_likelihood_ratio))

    @property
    def rejects(self) -> bool:
        return self.log_likelihood_ratio >= math.log(self.threshold)

    @property
    def expected_new_errors(self) -> float:
        return self.errors * self.rho


def sequential_error_test(new_errors: int, errors: int, rho: float, alpha: float,
                          concentration: float = PRIOR_CONCENTRATION) -> SequentialErrorTest:
    """One-sided mixture SPRT of H0 "p = rho" against "p > rho" for x = new_errors of n = errors.

    LR = integral over p > rho of p^x (1-p)^(n-x) Beta(p; a, b) dp / (1 - I_rho(a, b))
         / (rho^x (1 - rho)^(n - x)),  a = c rho, b = c (1 - rho),
       = B(a + x, b + n - x) (1 - I_rho(a + x, b + n - x))
         / (B(a, b) (1 - I_rho(a, b)) rho^x (1 - rho)^(n - x)).
    rho of 0 or 1 (one side had no requests) leaves nothing to test: LR = 1.
    """
    if not 0 <= new_errors <= errors:
        raise ValueError(f"new errors must be within 0..errors: {new_errors} of {errors}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1): {alpha}")
    if errors == 0 or not 0.0 < rho < 1.0:
        return SequentialErrorTest(new_errors, errors, rho, 0.0, alpha)
    a, b = concentration * rho, concentration * (1.0 - rho)
    x, rest = new_errors, errors - new_errors
    log_mixture = log_beta(a + x, b + rest) + _log_upper_beta(rho, a + x, b + rest)
    log_prior_mass = log_beta(a, b) + _log_upper_beta(rho, a, b)
    log_null = x * math.log(rho) + rest * math.log1p(-rho)
    return SequentialErrorTest(new_errors, errors, rho, log_mixture - log_prior_mass - log_null,
                               alpha)


# ---- latency ----

Buckets = Sequence[tuple[float, int]]
"""(upper bound in seconds, cumulative count), ascending, the last bound +inf (evidence.py)."""


def histogram_count(histogram: Buckets) -> int:
    return histogram[-1][1] if histogram else 0


def histogram_quantile(q: float, histogram: Buckets) -> float | None:
    """The q-quantile as Prometheus' histogram_quantile has it: find the bucket holding rank
    q * count, interpolate linearly inside it (the first bucket starts at 0 when its bound is
    positive); a rank in the +inf bucket gives the highest finite bound. None with no
    observations."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile is in [0, 1]: {q}")
    _check_histogram(histogram)
    total = histogram_count(histogram)
    if total == 0:
        return None
    rank = q * total
    index = next(i for i, (_, count) in enumerate(histogram) if count >= rank)
    upper, count = histogram[index]
    if math.isinf(upper):
        return histogram[index - 1][0] if index > 0 else None
    if index == 0:
        if upper <= 0:  # no lower end to interpolate from
            return upper
        lower, below = 0.0, 0
    else:
        lower, below = histogram[index - 1]
    inside = count - below
    if inside == 0:  # rank 0 at an empty bucket: its lower end
        return lower
    return lower + (upper - lower) * (rank - below) / inside


@dataclass(frozen=True)
class MannWhitney:
    """U of the new side (pairs where the new observation is larger, ties count half)."""

    u: float
    n_new: int
    n_baseline: int
    z: float
    p_value: float  # one-sided: the new side is slower (stochastically larger)

    @property
    def mean_u(self) -> float:
        return self.n_new * self.n_baseline / 2.0

    @property
    def effect(self) -> float:
        """U / (n_new n_baseline): P(new > baseline) + P(tie) / 2, 0.5 when they match."""
        pairs = self.n_new * self.n_baseline
        return self.u / pairs if pairs else 0.5


def mann_whitney(new: Buckets, baseline: Buckets, continuity: bool = True) -> MannWhitney:
    """Mann-Whitney U between two histograms of the same bounds, midranks within a bucket,
    the tie-corrected variance and the one-sided normal p-value of "new is slower"
    (with the 0.5 continuity correction, as scipy.stats.mannwhitneyu(alternative="greater",
    method="asymptotic") computes it)."""
    _check_histogram(new)
    _check_histogram(baseline)
    if [bound for bound, _ in new] != [bound for bound, _ in baseline]:
        raise ValueError("Mann-Whitney needs two histograms with the same bucket bounds")
    n1, n2 = histogram_count(new), histogram_count(baseline)
    u, ties, below_new, below_base = 0.0, 0.0, 0, 0
    for (_, cum_new), (_, cum_base) in zip(new, baseline, strict=True):
        in_new, in_base = cum_new - below_new, cum_base - below_base
        u += in_new * (below_base + in_base / 2.0)
        t = in_new + in_base
        ties += t * t * t - t
        below_new, below_base = cum_new, cum_base
    total = n1 + n2
    if n1 == 0 or n2 == 0:
        return MannWhitney(u, n1, n2, 0.0, 1.0)
    variance = n1 * n2 / 12.0 * ((total + 1) - ties / (total * (total - 1)))
    if variance <= 0:  # every observation in one bucket: nothing tells the sides apart
        return MannWhitney(u, n1, n2, 0.0, 0.5)
    # P(U >= u) ~ P(Z >= (u - 0.5 - mean) / sd): the continuity correction of the upper tail
    z = (u - n1 * n2 / 2.0 - (0.5 if continuity else 0.0)) / math.sqrt(variance)
    return MannWhitney(u, n1, n2, z, normal_sf(z))


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def add_histograms(histograms: Sequence[Buckets]) -> tuple[tuple[float, int], ...] | None:
    """Bucket-wise sum of histograms with the same bounds; None when the bounds differ."""
    if not histograms:
        return None
    bounds = [bound for bound, _ in histograms[0]]
    if any([bound for bound, _ in h] != bounds for h in histograms[1:]):
        return None
    return tuple((bound, sum(h[i][1] for h in histograms)) for i, bound in enumerate(bounds))


def _check_histogram(histogram: Buckets) -> None:
    if not histogram:
        raise ValueError("a histogram needs at least the +inf bucket")
    if not math.isinf(histogram[-1][0]):
        raise ValueError("a histogram's last bound must be +inf")
    previous_bound, previous_count = -math.inf, 0
    for bound, count in histogram:
        if bound <= previous_bound or count < previous_count:
            raise ValueError(f"histogram bounds must rise and counts must not fall: {histogram}")
        previous_bound, previous_count = bound, count
