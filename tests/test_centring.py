"""The parameterisation of partially pooled effects: the same distribution at every centring weight, weights chosen
from the data by the pilot, the fallback, and the default spec passing its gate on data it was not tuned on."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
import xarray as xr

from bayes_sauce.data.filters import Filters
from bayes_sauce.fit import attempts, centring
from bayes_sauce.fit.fit import fit_spec
from bayes_sauce.fit.sampling import pilot_weights, compile_nutpie
from bayes_sauce.model.effects import NORMAL, LocationScale, pooled
from bayes_sauce.paths import PROJECT_ROOT
from bayes_sauce.spec.schema import SamplingSpec, load_spec

from .synthetic import family_dataset, synthetic_family_models


@pytest.mark.parametrize("family", [NORMAL, LocationScale("skew_normal", pt.as_tensor(-3.0))],
                         ids=["normal", "skew_normal"])
def test_every_weight_gives_the_same_effects(family):
    """Partial centring changes how effects are sampled, not what they are: their prior draws agree at weights 0, 0.4
    and 1 (means and SDs within Monte Carlo error of 20,000 draws)."""
    loc, scale = np.array([-1.0, 0.5, 2.0]), 0.7
    summaries = []
    for weight in (0.0, 0.4, 1.0):
        with pm.Model():
            effects = pooled("effect", pt.as_tensor(loc), pt.as_tensor(scale), np.full(3, weight), family)
            draws = pm.draw(effects, draws=20_000, random_seed=1)
        summaries.append((draws.mean(axis=0), draws.std(axis=0)))
    for mean, sd in summaries[1:]:
        np.testing.assert_allclose(mean, summaries[0][0], atol=0.03)
        np.testing.assert_allclose(sd, summaries[0][1], rtol=0.03)


def test_standard_variance_is_each_familys():
    assert float(NORMAL.standard_variance().eval()) == 1.0
    alpha = -3.0
    delta2 = alpha**2 / (1 + alpha**2)
    skew = LocationScale("skew_normal", pt.as_tensor(alpha)).standard_variance().eval()
    np.testing.assert_allclose(skew, 1 - 2 / np.pi * delta2)
    assert float(LocationScale("student_t", pt.as_tensor(5.0)).standard_variance().eval()) == pytest.approx(5 / 3)


def _normal_hierarchy(data_sd: np.ndarray, spread: float) -> pm.Model:
    """Effects x_j ~ Normal(0, spread) seen once each with noise data_sd[j]; the spread is fixed."""
    with pm.Model() as model:
        centre = pm.Normal("centre", 0.0, 1.0)
        effects = pooled("effect", centre * pt.ones(len(data_sd)), pt.as_tensor(spread), np.zeros(len(data_sd)))
        pm.Normal("y", effects, data_sd, observed=np.zeros(len(data_sd)))
    return model


@pytest.mark.nuts  # the pilot is a short real nutpie run
def test_pilot_weights_are_the_datas_share_of_each_effects_precision():
    """With the spread fixed, each effect's weight is sigma^2 / (sigma^2 + s^2) whatever the pilot's draws: a pinned
    effect centred, an effect the data barely see non-centred, one in between partly (the centre's uncertainty,
    shared by all, moves the shares by a little)."""
    data_sd, spread = np.array([0.01, 0.3, 5.0]), 0.3
    model = _normal_hierarchy(data_sd, spread)
    weights = pilot_weights(model, compile_nutpie(model), SamplingSpec(chains=2, seed=3), cores=1)["effect"]
    expected = spread**2 / (spread**2 + data_sd**2)
    np.testing.assert_allclose(weights, expected, atol=0.1)
    assert weights[0] >= centring.CENTRED and weights[2] <= centring.NON_CENTRED
    # The same data and seed give the same parameterisation (a model built and compiled afresh).
    model = _normal_hierarchy(data_sd, spread)
    again = pilot_weights(model, compile_nutpie(model), SamplingSpec(chains=2, seed=3), cores=1)["effect"]
    np.testing.assert_array_equal(again, weights)


def test_a_group_whose_divergences_sit_at_its_smallest_spread_is_funnelled():
    with pm.Model() as model:
        sigma = pm.HalfNormal("sigma", 1.0)
        pooled("effect", pt.zeros(3), sigma, np.ones(3))
    rng = np.random.default_rng(0)
    spread = rng.uniform(0.01, 1.0, size=(2, 200))
    posterior = xr.Dataset({"sigma": (("chain", "draw"), spread),
                            "effect_raw": (("chain", "draw", "effect_raw_dim_0"), rng.normal(size=(2, 200, 3)))},
                           coords={"chain": [0, 1], "draw": np.arange(200)})
    low = spread < np.quantile(spread, 0.05)
    for diverging, expected in ((low, ["effect"]), (rng.uniform(size=spread.shape) < 0.05, []),
                                (np.zeros_like(low), [])):
        stats = xr.Dataset({"diverging": (("chain", "draw"), diverging)}, coords=posterior.coords)
        tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
        assert centring.funnelled(model, tree) == expected


def test_the_fallback_samples_again_and_says_so(monkeypatch):
    """A first attempt that fails the gate with divergences is followed by one with twice the tuning and draws at
    target acceptance 0.99; the diagnostics and the posterior's attrs say so; one chain (no R-hat possible) gets no
    second attempt."""
    calls = []

    def fake_run(model, sampling, stored, **kwargs):
        calls.append(sampling)
        tree = xr.DataTree.from_dict({"posterior": xr.Dataset(), "sample_stats": xr.Dataset()})
        tree.attrs["centring"] = "{}"
        return tree, attempts.Timings()

    verdicts = iter([{"passed": False, "failures": ["3 divergent transitions"], "divergences": 3, "min_ess_bulk": 450.0,
                      "min_ess_tail": 600.0}, {"passed": True, "failures": []}])
    monkeypatch.setattr(attempts, "run_nuts", fake_run)
    monkeypatch.setattr(attempts, "diagnose", lambda tree: next(verdicts))
    monkeypatch.setattr(attempts.centring, "funnelled", lambda model, tree: [])
    sampling = SamplingSpec(draws=100, tune=200, chains=2, sampler="pymc")
    tree, _, diagnostics = attempts.sample_gated(None, sampling, [], echo=lambda _: None)
    assert [(s.draws, s.tune, s.target_accept) for s in calls] == [(100, 200, 0.8), (200, 400, 0.99)]
    assert diagnostics["passed"] and diagnostics["fallback"].endswith("passed")
    assert tree.attrs["fallback"] == diagnostics["fallback"]
    calls.clear()
    verdicts = iter([{"passed": False, "failures": ["R-hat needs at least two chains"]}])
    monkeypatch.setattr(attempts, "diagnose", lambda tree: next(verdicts))
    attempts.sample_gated(None, sampling.model_copy(update={"chains": 1}), [], echo=lambda _: None)
    assert len(calls) == 1


@pytest.mark.parametrize(("least_ess", "expected_draws"), [
    (175.0, 300),  # 400 x 1.25 / 175 = 2.9: three times the draws
    (390.0, 200),  # nearly there (or R-hat alone short): never fewer than twice
    (7.0, 400),  # far off (a stuck chain): never more than four times
])
def test_the_fallback_draws_as_many_as_the_first_attempts_ess_asks_with_smaller_steps(least_ess, expected_draws):
    sampling = SamplingSpec(draws=100, tune=200, chains=4)
    retry = attempts.fallback_settings(sampling, {"min_ess_bulk": least_ess, "min_ess_tail": least_ess + 100})
    assert (retry.draws, retry.tune, retry.target_accept) == (expected_draws, 400, 0.99)
    assert (retry.chains, retry.seed) == (sampling.chains, sampling.seed)


@pytest.fixture(scope="module")
def small_sampling():
    """The default spec at sampling settings small enough for the fast suite that still give ESS above 400."""
    return load_spec(PROJECT_ROOT / "models" / "hierarchical.toml").with_sampling(draws=400, tune=400, chains=4)


@pytest.mark.slow  # two real NUTS fits of the default spec
@pytest.mark.xfail(strict=False, reason="open (issue 28): at 4 x 400 draws the default fails its gate on these small "
                   "sets even after the fallback (no_family_effect, 2026-12-07: R-hat 1.015, bulk ESS 153, tail ESS "
                   "324); the same kind of data at the shipped size passes (benchmarks/robustness.py outside_nofamily_0)")
@pytest.mark.parametrize("kind", ["no_family_effect", "few_families"])
def test_the_default_passes_its_gate_on_data_it_was_not_tuned_on(small_sampling, kind):
    """Data without any family effect (the spread the centred form would funnel on), and data with very few
    families: the default spec passes its gate (the fallback included, as `fit` runs it)."""
    frame = (synthetic_family_models(developers=10, families=3, finetunes=3, seed=21, family_sd=0.0)
             if kind == "no_family_effect" else synthetic_family_models(developers=3, families=2, finetunes=4, seed=22))
    dataset = family_dataset(frame, Filters(window=None))
    spec = small_sampling.with_filters(Filters(window=None))
    fit = fit_spec(spec, dataset, progress=False, extras=False)
    assert fit.passed, fit.diagnostics["failures"]
