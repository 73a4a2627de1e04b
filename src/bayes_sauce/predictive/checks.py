"""Predictive checks: the observed score distribution against datasets replicated from a fit (or its prior).

Replicated datasets come from the model: with fresh model effects (every model re-drawn as a new
model with its compute, period and developer) and with each model's own effect (the fit's saved
posterior predictive).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.defaults import SEED
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.new_rows import dataset_frame
from bayes_sauce.predictive.predict import NEW_DIM, predict
from bayes_sauce.scale import ScoreScale

PREDICTIVE_SAMPLES = 200


def ecdf_band(scores: np.ndarray, grid: np.ndarray, prob: float, prefix: str) -> pd.DataFrame:
    """Median and interval over replicated datasets (rows of ``scores``) of their ECDF on ``grid``."""
    ecdf = (scores[:, :, None] <= grid).mean(axis=1)
    q = np.quantile(ecdf, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    return pd.DataFrame({f"{prefix}_lo": q[0], f"{prefix}_median": q[1], f"{prefix}_hi": q[2]})


def sample_datasets(draws: xr.DataArray, n: int, seed: int = SEED) -> np.ndarray:
    """``n`` posterior draws (chosen at random, seeded) of a (chain, draw, model) array, as (n, model)."""
    stacked = draws.stack(sample=SAMPLE_DIMS).transpose("sample", ...).values
    return stacked[np.random.default_rng(seed).choice(len(stacked), min(n, len(stacked)), replace=False)]


def replicated_scores(predictive: xr.Dataset, scale: ScoreScale) -> xr.DataArray:
    """A posterior or prior predictive group's draws on the score scale (counts / questions, or the logit y back)."""
    if "k" in predictive:
        return predictive["k"] / scale.n_questions
    return scale.accuracy(predictive["y"])


def ppc_table(fit: Fit) -> pd.DataFrame:
    """Observed ECDF of scores and the ECDF bands of replicated datasets, with fresh and with own model effects."""
    scale = fit.design.scale
    observed = fit.rows[scale.outcome].to_numpy(dtype=float)
    fresh = predict(fit, dataset_frame(fit.rows, fit.spec.data.time), SEED)["score"]
    own = replicated_scores(fit.tree["posterior_predictive"].to_dataset(), scale)
    fresh = sample_datasets(fresh.rename({NEW_DIM: "model"}), PREDICTIVE_SAMPLES)
    own = sample_datasets(own, PREDICTIVE_SAMPLES)
    grid = np.linspace(min(observed.min(), fresh.min()), max(observed.max(), fresh.max()), 200)
    return pd.concat([pd.DataFrame({"score": grid, "observed": (observed[:, None] <= grid).mean(axis=0)}),
                      ecdf_band(fresh, grid, fit.prob, "fresh"), ecdf_band(own, grid, fit.prob, "own")], axis=1)
