"""Hand-written pieces against the maintained library that does the same job (issue 32): where the library gives the
same numbers the code calls it, and these tests say so; where it does not, they show where and why."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import beta

from bayes_sauce.data.summary import stata_percentile
from bayes_sauce.intervals import proportion_interval


def _samples(seed: int = 0):
    """Random samples of every size 1..120, alternately with many ties (small integers) and none (normal)."""
    rng = np.random.default_rng(seed)
    for n in range(1, 121):
        yield rng.integers(0, 4, n).astype(float) if n % 2 else rng.normal(size=n) * 10


def _stata_exact(values: np.ndarray, q: int) -> float:
    """Stata's definition in exact arithmetic: the mean of x(k) and x(k+1) where n q / 100 = k, else x(ceil)."""
    x = np.sort(values)
    pos = Fraction(len(x) * q, 100)
    k = math.floor(pos)
    if pos == 0:
        return float(x[0])
    return float((x[k - 1] + x[min(k, len(x) - 1)]) / 2) if pos == k else float(x[k])


def test_stata_percentile_is_statas_definition_exactly():
    for x in _samples():
        for q in range(101):
            assert stata_percentile(x, q) == _stata_exact(x, q), (len(x), q)


def test_numpy_averaged_inverted_cdf_differs_only_where_its_float_position_misses():
    """numpy's averaged_inverted_cdf agrees (to rounding of the midpoint) wherever n * (q / 100) in floating point
    lands on the exact position n q / 100; where it misses, it takes the next order statistic: why the project keeps
    ``stata_percentile``."""
    missed = []
    for x in _samples():
        n = len(x)
        for q in range(101):
            ours, theirs = stata_percentile(x, q), float(np.percentile(x, q, method="averaged_inverted_cdf"))
            if n * (q / 100) == Fraction(n * q, 100):
                assert theirs == pytest.approx(ours, rel=1e-15, abs=1e-15 * np.abs(x).max()), (n, q)
            elif ours != theirs:
                missed.append((n, q))
    assert (50, 14) in missed  # 50 * 0.14 = 7.000000000000001: numpy returns x(8), Stata the mean of x(7) and x(8)
    x = np.arange(1.0, 51.0)
    assert stata_percentile(x, 14) == 7.5 and np.percentile(x, 14, method="averaged_inverted_cdf") == 8.0


@pytest.mark.parametrize("q", [5, 95])
def test_numpy_gives_the_reported_percentiles_bit_for_bit(q):
    """The project reports p5 and p95 (``compute_range_ratio``): for these numpy hits every exact position up to
    n = 10**6 and returns the same numbers on samples with and without ties, even and odd sizes."""
    n = np.arange(1, 10**6 + 1, dtype=np.int64)
    position = n * (q / 100)
    assert np.array_equal(position == np.floor(position), (n * q) % 100 == 0)
    assert np.array_equal(np.floor(position), (n * q) // 100)
    sizes = [*range(1, 121), *range(140, 2001, 20)]  # multiples of 20 put p5 and p95 on a midpoint
    rng = np.random.default_rng(q)
    for size in sizes:
        x = rng.integers(0, 6, size).astype(float) if size % 3 == 0 else rng.normal(size=size) * 10
        assert stata_percentile(x, q) == float(np.percentile(x, q, method="averaged_inverted_cdf")), size


def _clopper_pearson(k: int, n: int, prob: float) -> tuple[float, float]:
    """The beta-quantile form of the exact interval (the project's former hand-written version)."""
    tail = (1 - prob) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(tail, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - tail, k + 1, n - k))
    return lo, hi


@pytest.mark.parametrize("n", [1, 2, 7, 20, 53, 200, 1000])
@pytest.mark.parametrize("prob", [0.5, 0.9, 0.95])
def test_proportion_interval_is_the_beta_quantile_clopper_pearson(n, prob):
    """scipy's binomtest(...).proportion_ci(method="exact") gives the beta-quantile numbers to 1e-13, and 0 and 1
    exactly at k = 0 and k = n."""
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        assert proportion_interval(k, n, prob) == pytest.approx(_clopper_pearson(k, n, prob), abs=1e-13), k
    assert proportion_interval(0, n, prob)[0] == 0.0 and proportion_interval(0, n, prob)[1] < 1
    assert proportion_interval(n, n, prob)[1] == 1.0 and proportion_interval(n, n, prob)[0] > 0
    assert all(math.isnan(v) for v in proportion_interval(0, 0, prob))
