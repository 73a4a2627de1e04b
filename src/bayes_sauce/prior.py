"""What the priors imply: draws from a spec's prior and prior predictive, shaped for the posterior code.

``sample_prior`` draws every parameter and the outcome from the priors alone (the data enter only
through the design: each model's compute, period and developer). ``as_posterior`` relabels those
draws as a posterior, so :mod:`bayes_sauce.posterior` computes what the priors imply for every
headline number and the scaling curve; ``score_tree`` puts predictive draws and the observed data
on the score scale for ArviZ's predictive-check plots.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy.special import expit

from bayes_sauce.data import CHANCE_FLOOR, N_QUESTIONS, Dataset
from bayes_sauce.model import build_model, prepare
from bayes_sauce.predict import SAMPLE_DIMS
from bayes_sauce.report import _ecdf_band as ecdf_band  # the posterior check's band, for the prior's
from bayes_sauce.spec import Spec


def sample_prior(spec: Spec, dataset: Dataset, draws: int, seed: int) -> xr.DataTree:
    """Prior and prior-predictive draws for the spec's model on the dataset's rows (groups prior,
    prior_predictive, observed_data, constant_data), with the attrs the posterior functions read."""
    model_data, _ = prepare(spec, dataset)
    model = build_model(spec, model_data)
    tree = pm.sample_prior_predictive(draws=draws, model=model, random_seed=seed)
    tree.attrs.update({"spec_name": spec.name, "spec_json": json.dumps(spec.to_dict()),
                       "c0_log10_flops": model_data.c0, "seed": seed, "n_models": len(model_data.models)})
    return tree


def as_posterior(tree: xr.DataTree) -> xr.DataTree:
    """The prior draws as the ``posterior`` group (with constant_data and attrs), for posterior.* functions."""
    out = xr.DataTree.from_dict({"posterior": tree["prior"].to_dataset(), "constant_data": tree["constant_data"].to_dataset()})
    out.attrs = dict(tree.attrs)
    return out


def to_score(predictive: xr.Dataset, outcome: str) -> xr.DataArray:
    """Predictive draws on the score scale: correct answers / questions (binomial), or the logit-normal y
    moved back through the chance floor."""
    if "k" in predictive:
        return predictive["k"] / N_QUESTIONS[outcome]
    floor = CHANCE_FLOOR[outcome]
    return floor + (1 - floor) * expit(predictive["y"])


def score_tree(tree: xr.DataTree, groups: tuple[str, ...], outcome: str) -> xr.DataTree:
    """Predictive groups and observed_data with one variable ``score`` (accuracy), for ArviZ's ppc plots."""
    parts = {g: xr.Dataset({"score": to_score(tree[g].to_dataset(), outcome)}) for g in groups}
    parts["observed_data"] = xr.Dataset({"score": to_score(tree["observed_data"].to_dataset(), outcome)})
    return xr.DataTree.from_dict(parts)


def prior_predictive_table(tree: xr.DataTree, outcome: str, prob: float, samples: int = 200) -> pd.DataFrame:
    """ECDF of the observed scores and the band of prior-predictive datasets' ECDFs (columns as
    ``report.ppc_table``'s, kind ``prior``), over a grid spanning chance to 1."""
    scores = to_score(tree["prior_predictive"].to_dataset(), outcome).stack(sample=SAMPLE_DIMS).transpose("sample", "model")
    scores = scores.values[:samples]
    observed = to_score(tree["observed_data"].to_dataset(), outcome).values
    grid = np.linspace(CHANCE_FLOOR[outcome], 1.0, 200)
    return pd.concat([pd.DataFrame({"score": grid, "observed": (observed[:, None] <= grid).mean(axis=0)}),
                      ecdf_band(scores, grid, prob, "prior")], axis=1)
