"""Predictions for new models from a fit, through its PyMC model, and the inverse question (compute needed).

A new model's logit is its systematic part (compute, period, developer) plus a fresh model effect; a
known developer keeps its posterior effect, an unseen one is drawn from its population, per draw, as
``model.new_rows`` and ``model.build`` define. ``rows`` have the columns log10_flops, developer,
developer_group, period, is_closed and, optionally, model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.fit.fit import Fit
from bayes_sauce.model.new_rows import PredictionError, new_rows

NEW_DIM = "new_model"
OUTPUTS = {"new_mu": "mean", "new_line": "line", "new_scale": "scale", "new_effect": "effect", "new_eta": "eta",
           "new_accuracy": "accuracy", "new_score": "score"}


def predict(fit: Fit, rows: pd.DataFrame, seed: int = 0, own: bool = False) -> xr.Dataset:
    """Predictive draws per new row: mean (eta without the model effect), line (mean without a new family's
    own draw), scale, effect (a fresh model effect), eta, accuracy (expected score given eta) and score (a draw
    of the observed score).

    ``own``: rows naming a fitted model (column ``model``) keep that model's own effect. In the family
    structure, rows with an ``observed`` score also get ``logp``, the log density of its logit.
    """
    new = new_rows(rows, fit.design, fit.spec.model.developers, own)
    outputs = {**OUTPUTS, **({"new_logp": "logp"} if new.observed_score is not None and fit.spec.model.structure == "families" else {})}
    draws = fit.evaluate(list(outputs), new, seed).rename(outputs)
    return draws.assign(developer_seen=xr.DataArray(new.developer_seen, dims=NEW_DIM))


def compute_needed(fit: Fit, rows: pd.DataFrame, target: float, seed: int = 0) -> xr.Dataset:
    """log10 FLOPs at which a developer's model reaches ``target`` expected score in a period, per draw.

    ``median_model``: on the developer's line (the model effect at 0; in the family structure a new family at
    its developer's average, its own family kept where the row names a fitted one); ``new_model``: a fresh
    family level and model effect, so its spread is that of the next model the developer trains.
    ``rows`` need no compute.
    """
    scale = fit.design.scale
    if not scale.floor < target < 1:
        raise PredictionError(f"target score {target} must lie strictly between the chance floor {scale.floor} and 1")
    beta = fit.posterior["beta"]
    if float((beta <= 0).mean()) > 0:
        raise PredictionError(f"the posterior puts {float((beta <= 0).mean()):.1%} of its draws on a non-positive "
                              "compute slope: no compute reaches the target in those draws")
    c0 = fit.design.c0
    draws = predict(fit, rows.assign(log10_flops=c0), seed).drop_vars(NEW_DIM)  # frees the name "new_model"
    target_logit = float(np.asarray(scale.to_logit(target)))
    return xr.Dataset({"median_model": c0 + (target_logit - draws["line"]) / beta,
                       "new_model": c0 + (target_logit - draws["mean"] - draws["effect"]) / beta,
                       "developer_seen": draws["developer_seen"]})
