"""Posterior predictions for new models, including developers the fit never saw.

A new model's logit is intercept + beta * (log10 C - c0) + period effect + developer effect + a
fresh model effect. A known developer keeps its posterior effect; an unseen one gets an effect drawn
per posterior draw from its pool (its Other size bin, or the majors), or from the population.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.data import CHANCE_FLOOR, GROUPS, N_QUESTIONS
from bayes_sauce.model import pool_of_group
from bayes_sauce.spec import Spec, spec_from_dict

SAMPLE_DIMS = ("chain", "draw")
NEW_DIM = "new_model"


class PredictionError(ValueError):
    """A row asks for something the fitted model cannot predict; the message names the row."""


def fitted_spec(tree: xr.DataTree) -> Spec:
    """The spec a posterior was fitted with (stored in its attrs)."""
    return spec_from_dict(json.loads(tree.attrs["spec_json"]), "<posterior attrs>")


def _standard_draws(posterior: xr.Dataset, spec: Spec, n_new: int, rng: np.random.Generator) -> np.ndarray:
    shape = (posterior.sizes["chain"], posterior.sizes["draw"], n_new)
    if spec.model.developer_dist == "student_t":
        return rng.standard_t(posterior["nu_developer"].values[..., None], size=shape)
    return rng.standard_normal(shape)


def developer_effects(tree: xr.DataTree, developers: list[str], groups: list[str], seed: int) -> xr.DataArray:
    """Per-draw developer effect for each new row: the fitted one if known, a population draw if not."""
    posterior, spec = tree.posterior, fitted_spec(tree)
    known = set(posterior["developer"].values.tolist())
    for i, (dev, group) in enumerate(zip(developers, groups, strict=True)):
        if dev not in known and group not in GROUPS:
            raise PredictionError(f"row {i}: developer {dev!r} was not in the fit and its group {group!r} is not one of {list(GROUPS)}")
    rng = np.random.default_rng(seed)
    z = _standard_draws(posterior, spec, len(developers), rng)
    effects = []
    for i, (dev, group) in enumerate(zip(developers, groups, strict=True)):
        if dev in known:
            effects.append(posterior["developer_effect"].sel(developer=dev).values)
        elif spec.model.developers == "fixed_groups":
            effects.append(posterior["group_effect"].sel(group=group).values)
        elif spec.model.developers == "pooled":
            effects.append(posterior["sigma_developer"].values * z[..., i])
        else:
            pool = posterior["pool_effect"].sel(pool=pool_of_group(group)).values
            effects.append(pool + posterior["sigma_developer"].values * z[..., i])
    return xr.DataArray(np.stack(effects, axis=-1), dims=(*SAMPLE_DIMS, NEW_DIM),
                        coords={d: posterior[d] for d in SAMPLE_DIMS})


def predict(tree: xr.DataTree, new: pd.DataFrame, seed: int = 0) -> xr.Dataset:
    """Predictive draws for new rows with columns log10_flops, developer, developer_group, period, is_closed.

    Returns eta (the latent logit), accuracy (expected score given eta) and score (a predictive
    draw of the observed score: binomial over the benchmark's questions, or logit-normal).
    """
    posterior, spec = tree.posterior, fitted_spec(tree)
    periods = posterior["period"].values.tolist()
    unknown = ~new["period"].isin(periods)
    if unknown.any():
        rows = np.flatnonzero(unknown.to_numpy())[:5].tolist()
        raise PredictionError(f"row(s) {rows}: period {new.loc[unknown, 'period'].iloc[0]!r} is outside the fitted "
                              f"{spec.data.time} periods {periods[0]}..{periods[-1]}")
    rng = np.random.default_rng(seed + 1)
    c0 = float(tree.attrs["c0_log10_flops"])
    x_c = xr.DataArray(new["log10_flops"].to_numpy(dtype=float) - c0, dims=NEW_DIM)
    period = posterior["period_effect"].sel(period=xr.DataArray(new["period"].to_numpy(), dims=NEW_DIM))
    developer = developer_effects(tree, new["developer"].tolist(), new["developer_group"].tolist(), seed)
    scale = posterior["sigma_model"]
    if spec.model.closed_models == "extra_noise":
        closed = xr.DataArray(new["is_closed"].to_numpy(dtype=float), dims=NEW_DIM)
        scale = np.sqrt(scale**2 + closed * posterior["sigma_closed"] ** 2)
    mean = posterior["intercept"] + posterior["beta"] * x_c + period.drop_vars("period") + developer
    mean = mean.transpose(*SAMPLE_DIMS, NEW_DIM)
    eta = mean + scale.broadcast_like(mean) * rng.standard_normal(mean.shape)
    floor = CHANCE_FLOOR[spec.data.outcome]
    accuracy = floor + (1 - floor) / (1 + np.exp(-eta))
    if spec.model.likelihood == "binomial":
        n = N_QUESTIONS[spec.data.outcome]
        score = xr.apply_ufunc(lambda p: rng.binomial(n, p) / n, accuracy)
    else:
        score = accuracy
    known = xr.DataArray(new["developer"].isin(posterior["developer"].values).to_numpy(), dims=NEW_DIM)
    return xr.Dataset({"eta": eta, "accuracy": accuracy, "score": score, "developer_seen": known})
