"""Hand-written pieces against the maintained library that does the same job (issue 32): where the library gives the
same numbers the code calls it, and these tests say so; where it does not, they show where and why."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from scipy.stats import beta

from bayes_sauce.data.filters import exclude_for_analysis
from bayes_sauce.data.load import load
from bayes_sauce.data.summary import stata_percentile
from bayes_sauce.intervals import proportion_interval
from bayes_sauce.paths import MODELS_DIR, OLS_SPEC
from bayes_sauce.periods import PERIOD_COLUMN
from bayes_sauce.replication.ols import COMPUTE_TERM, build_design, fit_ols
from bayes_sauce.spec.schema import load_spec

# pyfixest 0.60 calls pandas methods that pandas 3.1 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")


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


@pytest.mark.parametrize("spec_path", [OLS_SPEC, MODELS_DIR / "ols_quarter.toml", MODELS_DIR / "ols_majors.toml"])
def test_design_dummies_are_pyfixests_own_fixed_effect_coding(spec_path):
    """pyfixest's formula coding of the periods and groups (``i(var, ref=base)``) gives the replication's
    coefficients, clustered SEs and covariance, R2 and N bit for bit. The replication keeps its explicit design
    matrix because the Shapley-Owen shares, the cluster bootstrap, the components and the backtest read its columns
    (pyfixest has no public model matrix), so the fit is run on those columns and this test ties them to pyfixest."""
    spec = load_spec(spec_path)
    assert not spec.ols.controls  # the formula below has no control terms
    dataset = exclude_for_analysis(load(None, spec.data.filters.to_filters()), spec.data.outcome, spec.data.time,
                                   logit=True, duplicates=False)
    design = build_design(spec, dataset)
    ours = fit_ols(design)
    m = design.models
    frame = pd.DataFrame({"y": design.y, "x": m[COMPUTE_TERM], "period": m[PERIOD_COLUMN[spec.data.time]].astype(str),
                          "group": m["developer_group"], "cluster": design.cluster.astype(str)})
    theirs = pf.feols(f"y ~ x + i(period, ref='{design.base_period}') + i(group, ref='{design.base_group}')",
                      data=frame, vcov={"CRV1": "cluster"}, ssc=pf.ssc(k_adj=True, G_adj=True))
    terms = [{"x": COMPUTE_TERM}.get(c, c.split("::")[-1]) for c in map(str, theirs.coef().index)]
    assert terms == list(ours.coefficients["term"])
    assert np.array_equal(theirs.coef().to_numpy(), ours.coefficients["estimate"].to_numpy())
    assert np.array_equal(theirs.se().to_numpy(), ours.coefficients["std_error"].to_numpy())
    assert np.array_equal(theirs._vcov, ours.vcov.to_numpy())
    assert theirs._r2 == ours.r2 and theirs._N == ours.n_obs == len(m)
