"""The gate's statistics against known values: closed forms and binomial identities for the
incomplete beta, numerical integration for the mixture likelihood ratio, a textbook Mann-Whitney
example (and one with ties) worked by hand, quantiles computed by hand."""

from __future__ import annotations

import math

import pytest

from routing.promotion.stats import (
    add_histograms,
    histogram_quantile,
    log_beta,
    log_regularized_beta,
    mann_whitney,
    normal_sf,
    regularized_beta,
    sequential_error_test,
)

INF = math.inf


def _binomial_upper_tail_log(k: int, n: int, p: float) -> float:
    """log P(Binomial(n, p) >= k) from the terms themselves (log-sum-exp)."""
    terms = [math.log(math.comb(n, j)) + j * math.log(p) + (n - j) * math.log1p(-p)
             for j in range(k, n + 1)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def test_log_beta_known_values() -> None:
    assert log_beta(2, 3) == pytest.approx(math.log(1 / 12))
    assert log_beta(0.5, 0.5) == pytest.approx(math.log(math.pi))
    assert log_beta(1, 7) == pytest.approx(math.log(1 / 7))


@pytest.mark.parametrize("x", [0.01, 0.2, 0.5, 0.77, 0.999])
def test_incomplete_beta_closed_forms(x: float) -> None:
    assert regularized_beta(x, 0.5, 0.5) == pytest.approx(2 / math.pi * math.asin(math.sqrt(x)))
    assert regularized_beta(x, 3.5, 1) == pytest.approx(x ** 3.5)
    assert regularized_beta(x, 1, 4.2) == pytest.approx(1 - (1 - x) ** 4.2)
    assert regularized_beta(x, 2.5, 7.0) == pytest.approx(1 - regularized_beta(1 - x, 7.0, 2.5))


def test_incomplete_beta_against_binomial_tails() -> None:
    # I_p(k, n - k + 1) = P(Binomial(n, p) >= k); by hand: 1 - 0.6^4 - 4 * 0.4 * 0.6^3
    assert regularized_beta(0.4, 2, 3) == pytest.approx(0.5248, abs=1e-12)
    for k, n, p in [(30, 200, 0.1), (5, 12, 0.7), (150, 300, 0.5), (1, 1000, 0.0005)]:
        assert log_regularized_beta(p, k, n - k + 1) == \
            pytest.approx(_binomial_upper_tail_log(k, n, p), rel=1e-9)


def test_incomplete_beta_far_tail_stays_exact_in_logs() -> None:
    # P(Binomial(319, 0.01) >= 300) is about 1e-570: far below a float, not below its log
    expected = _binomial_upper_tail_log(300, 319, 0.01)
    assert expected < -1300
    assert log_regularized_beta(0.01, 300, 20) == pytest.approx(expected, rel=1e-9)
    assert regularized_beta(0.01, 300, 20) == 0.0


def test_incomplete_beta_ends_and_bad_arguments() -> None:
    assert log_regularized_beta(0.0, 2, 3) == -INF
    assert regularized_beta(1.0, 2, 3) == 1.0
    with pytest.raises(ValueError, match="positive"):
        regularized_beta(0.5, 0, 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        regularized_beta(1.5, 1, 1)


# scipy.integrate.quad of the mixture over p in (rho, 1), over the binomial pmf at rho
@pytest.mark.parametrize(("x", "n", "rho", "likelihood_ratio"), [
    (3, 10, 0.1, 2.5380253860798616),
    (12, 13, 0.1, 413440.7556853008),
    (40, 200, 0.25, 0.11459694104173644),
    (150, 300, 0.5, 0.22170658015409858),
    (0, 50, 0.05, 0.25369810777050644),
    (30, 400, 0.05, 3.6704140746468354),
])
def test_mixture_likelihood_ratio_matches_numerical_integration(
        x: int, n: int, rho: float, likelihood_ratio: float) -> None:
    test = sequential_error_test(x, n, rho, alpha=0.05)
    assert test.likelihood_ratio == pytest.approx(likelihood_ratio, rel=1e-9)
    assert test.p_value == pytest.approx(min(1.0, 1 / likelihood_ratio))
    assert test.rejects is (likelihood_ratio >= 20)
    assert test.expected_new_errors == pytest.approx(n * rho)


@pytest.mark.parametrize(("n", "rho"), [(1, 0.5), (30, 0.2), (200, 0.05)])
def test_the_likelihood_ratio_has_mean_one_under_no_regression(n: int, rho: float) -> None:
    """E[LR] = 1 under H0 at every n: what makes it a test martingale (Ville's inequality)."""
    mean = sum(math.comb(n, x) * rho ** x * (1 - rho) ** (n - x)
               * sequential_error_test(x, n, rho, 0.05).likelihood_ratio for x in range(n + 1))
    assert mean == pytest.approx(1.0, rel=1e-9)


def test_sequential_test_with_nothing_to_test() -> None:
    for x, n, rho in [(0, 0, 0.1), (0, 5, 0.0), (5, 5, 1.0)]:
        test = sequential_error_test(x, n, rho, 0.05)
        assert (test.likelihood_ratio, test.rejects, test.p_value) == (1.0, False, 1.0)
    assert sequential_error_test(0, 5, 0.1, 0.01).threshold == pytest.approx(100)
    with pytest.raises(ValueError, match="within"):
        sequential_error_test(6, 5, 0.1, 0.05)
    with pytest.raises(ValueError, match="alpha"):
        sequential_error_test(1, 5, 0.1, 1.0)


def test_an_overwhelming_regression_stays_finite() -> None:
    test = sequential_error_test(5000, 5000, 0.05, 0.05)
    assert test.rejects and math.isfinite(test.likelihood_ratio) and test.p_value == 0.0


HISTOGRAM = ((0.1, 10), (0.2, 30), (0.5, 90), (INF, 100))


@pytest.mark.parametrize(("q", "expected"), [
    (0.05, 0.05),  # rank 5 of the first bucket's 10, from 0: 0.1 * 5 / 10
    (0.5, 0.3),  # rank 50: 0.2 + 0.3 * (50 - 30) / 60
    (0.9, 0.5),  # rank 90: the top of the (0.2, 0.5] bucket
    (0.99, 0.5),  # rank 99 is in +inf: the highest finite bound, as Prometheus
    (0.0, 0.0),
])
def test_quantile_as_histogram_quantile_computes_it(q: float, expected: float) -> None:
    assert histogram_quantile(q, HISTOGRAM) == pytest.approx(expected)


def test_quantile_edges() -> None:
    assert histogram_quantile(0.99, ((0.1, 0), (INF, 0))) is None
    assert histogram_quantile(0.5, ((0.1, 0), (0.2, 0), (0.4, 4), (INF, 4))) == \
        pytest.approx(0.3)  # empty buckets below are skipped
    with pytest.raises(ValueError, match="inf"):
        histogram_quantile(0.5, ((0.1, 3), (0.2, 4)))
    with pytest.raises(ValueError, match="must not fall"):
        histogram_quantile(0.5, ((0.1, 3), (0.2, 2), (INF, 4)))
    with pytest.raises(ValueError, match="quantile"):
        histogram_quantile(1.5, HISTOGRAM)


def _histogram(values: list[float], bounds: list[float]) -> tuple[tuple[float, int], ...]:
    return tuple((bound, sum(v <= bound for v in values)) for bound in [*bounds, INF])


MALES = [19.0, 22, 16, 29, 24]  # age at diagnosis, the scipy.stats.mannwhitneyu example
FEMALES = [20.0, 11, 17, 12]


def test_mann_whitney_textbook_example() -> None:
    bounds = sorted(set(MALES + FEMALES))  # one bucket per value: the exact test, no ties
    result = mann_whitney(_histogram(MALES, bounds), _histogram(FEMALES, bounds))
    # U by hand: 19 > 11,17,12 (3); 22 > all (4); 16 > 11,12 (2); 29 (4); 24 (4) -> 17
    assert result.u == 17
    # mean 5 * 4 / 2 = 10, variance 5 * 4 * 10 / 12; z = (17 - 10 - 0.5) / sqrt(50 / 3)
    assert result.z == pytest.approx(6.5 / math.sqrt(50 / 3))
    assert result.p_value == pytest.approx(0.05567344326657024)  # scipy's asymptotic / 2
    assert result.effect == pytest.approx(17 / 20)


def test_mann_whitney_ties_share_their_bucket_midrank() -> None:
    slow = [2.0, 3, 3, 4, 4, 5, 5, 5]
    fast = [1.0, 2, 2, 3, 3, 3, 4]
    bounds = [1.0, 2, 3, 4, 5]
    result = mann_whitney(_histogram(slow, bounds), _histogram(fast, bounds))
    pairs = sum((s > f) + 0.5 * (s == f) for s in slow for f in fast)
    assert result.u == pairs == 45
    # tie groups of 1, 3, 5, 3, 3: sum(t^3 - t) = 192; variance 8*7/12 * (16 - 192 / (15*14))
    variance = 8 * 7 / 12 * (16 - 192 / 210)
    assert result.z == pytest.approx((45 - 28 - 0.5) / math.sqrt(variance))
    assert result.p_value == pytest.approx(0.024619483919276697)  # scipy, alternative greater
    reverse = mann_whitney(_histogram(fast, bounds), _histogram(slow, bounds))
    assert reverse.u == 8 * 7 - 45
    assert reverse.p_value == pytest.approx(0.9814970702168354)


def test_mann_whitney_without_a_difference() -> None:
    same = ((0.1, 50), (0.2, 80), (INF, 100))
    assert mann_whitney(same, same).p_value > 0.5
    one_bucket = ((0.1, 10), (INF, 10))
    assert mann_whitney(one_bucket, ((0.1, 30), (INF, 30))).p_value == 0.5
    assert mann_whitney(((0.1, 0), (INF, 0)), one_bucket).p_value == 1.0
    with pytest.raises(ValueError, match="same bucket bounds"):
        mann_whitney(one_bucket, ((0.2, 10), (INF, 10)))


def test_normal_tail() -> None:
    assert normal_sf(0.0) == 0.5
    assert normal_sf(1.6448536269514722) == pytest.approx(0.05)
    assert normal_sf(-1.96) == pytest.approx(0.9750021048517795)


def test_add_histograms() -> None:
    a = ((0.1, 1), (INF, 3))
    assert add_histograms([a, ((0.1, 4), (INF, 4))]) == ((0.1, 5), (INF, 7))
    assert add_histograms([a, ((0.2, 4), (INF, 4))]) is None
    assert add_histograms([]) is None
