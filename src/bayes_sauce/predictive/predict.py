"""Predictions for new models from a fit, through its PyMC model, and the inverse question (compute needed).

A new model's logit is its systematic part (compute, period, developer) plus a fresh model effect; a
known developer keeps its posterior effect, an unseen one is drawn from its population, per draw, as
``model.new_rows`` and ``model.build`` define (in the family structure: a fitted family's level, or a new family's
drawn around its developer's line, a fine-tuner's effect and the fine-tune mixture). ``rows`` have the columns
log10_flops, developer, developer_group, period, is_closed and, optionally, model, family, is_finetune and
base_developer; ``predict_models`` takes rows as users give them (``new_models``) and returns the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import xarray as xr

from bayes_sauce.fit.fit import Fit
from bayes_sauce.model.new_rows import PredictionError, new_rows
from bayes_sauce.predictive.new_models import new_model_rows, prediction_table

NEW_DIM = "new_model"
OUTPUTS = {"new_mu": "mean", "new_line": "line", "new_scale": "scale", "new_effect": "effect", "new_eta": "eta",
           "new_accuracy": "accuracy", "new_score": "score"}
MIXTURE = {"new_p_damaged": "p_damaged", "new_p_failure": "p_failure"}  # the family structure's fine-tune mixture
TABLE = ("score",)  # what prediction_table reads (with the mixture's weights)


def predict(fit: Fit, rows: pd.DataFrame, seed: int = 0, own: bool = False,
            only: tuple[str, ...] | None = None) -> xr.Dataset:
    """Predictive draws per new row: mean (eta without the model effect), line (mean without a new family's
    own draw), scale, effect (a fresh model effect), eta, accuracy (expected score given eta) and score (a draw
    of the observed score); ``only`` some of them (a smaller graph to compile).

    ``own``: rows naming a fitted model (column ``model``) keep that model's own effect. In the family
    structure, also p_damaged and p_failure (the mixture's weights: the chance that the model is a damaged
    fine-tune or a failed evaluation) and, per row, whether its fine-tuner's effect is a fitted one; rows with an
    ``observed`` score also get ``logp``, the log density of its logit.
    """
    new = new_rows(rows, fit.design, fit.spec.model.developers, own)
    families = fit.spec.model.structure == "families"
    outputs = {**{k: v for k, v in OUTPUTS.items() if only is None or v in only}, **(MIXTURE if families else {}),
               **({"new_logp": "logp"} if new.observed_score is not None and families else {})}
    # Each graph node records where it was built (a stack walk per node): a third of a prediction's time, and
    # nothing here reads it.
    with pytensor.config.change_flags(traceback__limit=0):
        draws = fit.evaluate(list(outputs), new, seed).rename(outputs)
    draws = draws.assign(developer_seen=xr.DataArray(new.developer_seen, dims=NEW_DIM))
    if families:
        tuner = np.where(~new.finetune, "", np.where(new.finetuner_idx >= 0, "fitted", "fresh"))
        draws = draws.assign(finetuner_effect=xr.DataArray(tuner.astype(object), dims=NEW_DIM))
    return draws


def predict_models(fit: Fit, frame: pd.DataFrame, prob: float | None = None, seed: int = 0,
                   extend_last_cohort: bool = False, new_family: bool = False, source: str = "the input") -> pd.DataFrame:
    """The ``predict`` command's table for models as users give them (``new_models``' columns: model, base_model,
    params_b, tokens_b or flops, developer, developer_group, release_month, is_closed): one row per model with how
    it was predicted, P(damaged fine-tune), P(failed evaluation), the score's median and ``prob`` interval (the
    fit's by default), and where it extrapolates."""
    rows = new_model_rows(frame, fit, extend_last_cohort, new_family=new_family, source=source)
    return prediction_table(rows, predict(fit, rows, seed, only=TABLE), fit.prob if prob is None else prob)


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
