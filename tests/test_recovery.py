"""Parameter recovery at the real size: simulate from the default model with known parameters, refit."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from bayes_sauce.data.load import load
from bayes_sauce.fit.sampling import run_nuts
from bayes_sauce.model.build import build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.scale import scale_of
from bayes_sauce.spec.schema import load_spec

TRUTH = {"alpha": -1.2, "beta": 0.7, "sigma_developer": 0.6, "sigma_model": 0.5,
         "period_offset": np.array([-0.9, -0.3]), "pool_offset": np.array([-0.4, 0.5, 0.4])}


def _interval(draws, prob=0.90):
    return np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=(0, 1))


@pytest.mark.slow
def test_default_model_recovers_known_parameters():
    spec = load_spec(DEFAULT_SPEC)
    dataset = load(filters=spec.data.filters.to_filters())
    data, dataset = prepare(spec, dataset)
    model = build_model(spec, data)
    # Fix the hyper-parameters, let PyMC draw developer and model effects and the answers.
    simulator = pm.do(model, TRUTH)
    dev_true, k_sim = pm.draw([simulator["developer_effect"], simulator["k"]], random_seed=7)
    simulated = dataset.models.assign(mmlu_pro=k_sim / scale_of("mmlu_pro").n_questions)
    data_sim, _ = prepare(spec, type(dataset)(models=simulated, excluded=dataset.excluded))
    sampling = spec.with_sampling(draws=500, tune=700, chains=2, seed=3).sampling
    tree, _ = run_nuts(build_model(spec, data_sim), sampling, ["developer_effect"], progress=False)
    post = tree.posterior
    for name in ("beta", "sigma_developer", "sigma_model"):
        lo, hi = _interval(post[name].values)
        assert lo <= TRUTH[name] <= hi, f"{name}: truth {TRUTH[name]} outside 90% interval [{lo:.3f}, {hi:.3f}]"
    lo, hi = _interval(post["developer_effect"].values)
    covered = np.mean((lo <= dev_true) & (dev_true <= hi))
    assert covered >= 0.8, f"only {covered:.0%} of developer effects inside their 90% intervals"
    assert int(tree.sample_stats["diverging"].sum()) == 0
