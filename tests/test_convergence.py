"""The vectorised R-hat and ESS equal ArviZ's estimators, element by element, ties and short chains included."""

from __future__ import annotations

import arviz_stats
import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayes_sauce.fit.convergence import average_ranks, convergence


def _arviz(x: np.ndarray) -> dict[str, np.ndarray]:
    ds = xr.Dataset({"v": (("chain", "draw", "k"), np.moveaxis(x, 0, -1))})
    return {"rhat": arviz_stats.rhat(ds)["v"].values,
            "ess_bulk": arviz_stats.ess(ds, method="bulk")["v"].values,
            "ess_tail": arviz_stats.ess(ds, method="tail", prob=0.95)["v"].values}


@pytest.mark.parametrize(("chains", "draws"), [(4, 250), (2, 37), (3, 12)])
def test_convergence_equals_arviz(chains, draws):
    rng = np.random.default_rng(draws)
    # Autocorrelated chains with different means (some not mixed), and discrete quantities with ties.
    x = 0.1 * rng.normal(size=(60, chains, draws)).cumsum(axis=2) + rng.normal(size=(60, chains, draws))
    x[:10] += np.arange(chains)[:, None]
    x[10:20] = np.round(x[10:20])
    ours, theirs = convergence(x), _arviz(x)
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-9, err_msg=name)


def test_average_ranks_equal_scipy_with_ties():
    flat = np.random.default_rng(0).integers(0, 4, size=(20, 50)).astype(float)
    np.testing.assert_array_equal(average_ranks(flat), stats.rankdata(flat, axis=1))


def test_one_chain_has_no_rhat_but_has_ess():
    result = convergence(np.random.default_rng(1).normal(size=(3, 1, 200)))
    assert np.isnan(result["rhat"]).all() and (result["ess_bulk"] > 50).all()
