"""Decomposition maths on synthetic components with known answers, with and without sample dims."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayes_sauce.quantities import decompose

N = 60


def _orthogonal(n: int, k: int, seed: int = 0) -> np.ndarray:
    """k centred, mutually orthogonal vectors of unit norm (exactly uncorrelated columns)."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(n, k))
    raw -= raw.mean(axis=0)
    q, _ = np.linalg.qr(raw)
    return q


def _components(scales: dict[str, float], seed: int = 0, beta: float = 0.8) -> xr.Dataset:
    cols = _orthogonal(N, len(scales), seed)
    data = {name: ("model", scale * cols[:, i]) for i, (name, scale) in enumerate(scales.items())}
    return xr.Dataset(data | {"beta": beta}, coords={"model": [f"m{i}" for i in range(N)]})


SCALES = {"compute": 2.0, "time": 0.5, "developer": 1.0, "model_effect": 1.5}


def test_independent_components_give_variance_shares():
    shares = decompose.component_shapley(_components(SCALES))
    variance = {k: v**2 for k, v in SCALES.items()}
    total = sum(variance.values())
    expected = [variance[c] / total for c in ("compute", "time", "developer", "model_effect")]
    np.testing.assert_allclose(shares.sel(component=["compute", "time", "developer", "model_effect"]), expected,
                               atol=1e-12)
    assert float(shares.sum()) == pytest.approx(1.0)


def test_shapley_with_sample_dims_is_vectorised_and_sums_to_one():
    rng = np.random.default_rng(1)
    chains, draws = 2, 5
    data = {name: (("chain", "draw", "model"), rng.normal(size=(chains, draws, N)) * s) for name, s in SCALES.items()}
    # Correlate compute and developer so that the Shapley split is not trivial.
    data["developer"] = (("chain", "draw", "model"), data["developer"][1] + 0.5 * data["compute"][1])
    comps = xr.Dataset(data | {"beta": (("chain", "draw"), rng.uniform(0.5, 1.0, size=(chains, draws)))})
    shares = decompose.component_shapley(comps)
    assert set(shares.dims) == {"chain", "draw", "component"}
    np.testing.assert_allclose(shares.sum("component"), 1.0, atol=1e-12)
    # Each draw equals the decomposition of that draw alone.
    one = decompose.component_shapley(comps.isel(chain=1, draw=3))
    assert one.dims == ("component",)
    np.testing.assert_allclose(shares.isel(chain=1, draw=3).transpose("component"), one, atol=1e-12)


def test_two_player_shapley_matches_the_formula():
    r2 = xr.DataArray([0.0, 0.3, 0.2, 0.45], dims="subset", coords={"subset": ["none", "a", "b", "a+b"]})
    shares = decompose.shapley_owen(r2, ["a", "b"])
    assert float(shares.sel(component="a")) == pytest.approx((0.3 + (0.45 - 0.2)) / 2)
    assert float(shares.sel(component="b")) == pytest.approx((0.2 + (0.45 - 0.3)) / 2)
    assert float(shares.sel(component="model_effect")) == pytest.approx(0.55)


def _lstsq_r2(y: np.ndarray, X: np.ndarray, w: np.ndarray | None = None) -> float:
    """Independent check: R2 of a (frequency-)weighted least-squares fit with an intercept."""
    w = np.ones(len(y)) if w is None else w
    A = np.column_stack([np.ones(len(y)), X]) * np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)
    fitted = np.column_stack([np.ones(len(y)), X]) @ coef
    ybar = np.average(y, weights=w)
    return 1 - np.sum(w * (y - fitted) ** 2) / np.sum(w * (y - ybar) ** 2)


def test_subset_r2_equals_least_squares_including_collinear_and_weighted():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(N, 4))
    X[:, 3] = X[:, 1] - X[:, 2]  # exact collinearity across groups
    y = X @ [1.0, 0.5, -0.3, 0.0] + rng.normal(size=N)
    cols = xr.DataArray(np.column_stack([y, X]), dims=("model", "var"), coords={"var": ["y", "a", "b", "c", "d"]})
    groups = {"g1": ["a"], "g2": ["b", "c"], "g3": ["d"]}
    weights = xr.DataArray(rng.integers(0, 3, size=(3, N)).astype(float), dims=("replicate", "model"))
    r2 = decompose.subset_r2(decompose.covariance(cols, weights=weights), "y", groups)
    index = {"a": 0, "b": 1, "c": 2, "d": 3}
    for members in decompose.coalitions(list(groups)):
        columns = [index[c] for g in members for c in groups[g]]
        for rep in range(3):
            w = weights.values[rep]
            expected = _lstsq_r2(y, X[:, columns], w) if columns else 0.0
            got = float(r2.sel(subset=decompose.subset_label(members)).isel(replicate=rep))
            assert got == pytest.approx(expected, abs=1e-10)


def test_frequency_weights_equal_duplicated_rows():
    rng = np.random.default_rng(3)
    cols = xr.DataArray(rng.normal(size=(N, 3)), dims=("model", "var"), coords={"var": ["y", "a", "b"]})
    w = rng.integers(0, 4, size=N)
    duplicated = cols.isel(model=np.repeat(np.arange(N), w))
    weighted = decompose.covariance(cols, weights=xr.DataArray(w.astype(float), dims="model"))
    np.testing.assert_allclose(weighted, decompose.covariance(duplicated), atol=1e-12)


def test_an_effect_of_beta_is_a_tenfold_multiplier():
    beta = xr.DataArray([0.5, 0.8, 1.2], dims="draw")
    np.testing.assert_allclose(decompose.multiplier(beta, beta), 10.0)
    assert decompose.multiplier(0.0, 0.8) == 1.0


def test_within_firm_spread_uses_linear_percentiles():
    effect = xr.DataArray(np.random.default_rng(4).normal(size=N), dims="model")
    beta = 0.789
    q10, q90 = np.percentile(effect.values, [10, 90])
    assert float(decompose.within_firm_spread(effect, xr.DataArray(beta))) == pytest.approx(10 ** ((q90 - q10) / beta))
    draws = xr.concat([effect, 2 * effect], dim="draw")
    spread = decompose.within_firm_spread(draws, xr.DataArray([beta, beta], dims="draw"))
    assert spread.dims == ("draw",)
    assert float(spread[1]) == pytest.approx(float(spread[0]) ** 2)


def test_change_and_level_shares():
    comps = xr.Dataset(
        {"compute": ("model", [1.0, 4.0]), "time": ("model", [0.0, 1.0]), "developer": ("model", [0.5, 0.5]),
         "model_effect": ("model", [0.2, 0.2]), "beta": 0.8},
        coords={"model": ["old", "new"]},
    )
    change = decompose.change_shares(comps, "old", "new")
    assert change.sel(component="compute") == pytest.approx(0.75)
    assert change.sel(component="time") == pytest.approx(0.25)
    assert float(change.sum()) == pytest.approx(1.0)
    level = decompose.level_shares(comps, "new")
    assert level.sel(component="compute") == pytest.approx(4.0 / 5.7)
    assert float(level.sum()) == pytest.approx(1.0)


def test_finite_population_sd():
    comps = _components(SCALES)
    sd = decompose.finite_population_sd(comps)
    for name, scale in SCALES.items():
        assert float(sd.sel(component=name)) == pytest.approx(np.std(comps[name].values, ddof=1))
        assert float(sd.sel(component=name)) == pytest.approx(scale / np.sqrt(N - 1))
