"""Posterior predictions for new models, including developers the fit never saw, and the inverse question.

A new model's logit is intercept + beta * (log10 C - c0) + period effect + developer effect + a
fresh model effect. A known developer keeps its posterior effect; an unseen one gets an effect drawn
per posterior draw from its pool (its Other size bin, or the majors), or, when its group is not
given, from the population of developers (a fitted developer's pool picked at random, then a draw
around that pool's mean). A group or pool the fit never saw (fixed-effects groups, pools) gets its
offset from the spec's prior, around the best-populated group or pool as the model defines it.

Periods outside the fitted ones: a random walk (quarters, months) is extended by fresh steps of
size sigma_period_step, one path per draw shared by all rows, up to ``MAX_EXTRAPOLATION_MONTHS``
(after the last period, or before the first, which exact leave-one-out refits can need); cohort
offsets cannot be extrapolated (the caller may opt in to reuse the last cohort, see ``forecast``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_sauce.data import CHANCE_FLOOR, GROUPS, N_QUESTIONS
from bayes_sauce.model import pool_of_group
from bayes_sauce.spec import Spec, spec_from_dict

SAMPLE_DIMS = ("chain", "draw")
NEW_DIM = "new_model"
# A random walk is extended at most a year past its last fitted period.
MAX_EXTRAPOLATION_MONTHS = 12
MONTHS_PER_STEP = {"quarter": 3, "month": 1}


class PredictionError(ValueError):
    """A row asks for something the fitted model cannot predict; the message names the row."""


def fitted_spec(tree: xr.DataTree) -> Spec:
    """The spec a posterior was fitted with (stored in its attrs)."""
    return spec_from_dict(json.loads(tree.attrs["spec_json"]), "<posterior attrs>")


def _sample_shape(posterior: xr.Dataset, *extra: int) -> tuple[int, ...]:
    return (posterior.sizes["chain"], posterior.sizes["draw"], *extra)


def _draws(posterior: xr.Dataset, values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(values, dims=(*SAMPLE_DIMS, NEW_DIM), coords={d: posterior[d] for d in SAMPLE_DIMS})


def _standard_draws(posterior: xr.Dataset, spec: Spec, n_new: int, rng: np.random.Generator) -> np.ndarray:
    shape = _sample_shape(posterior, n_new)
    if spec.model.developer_dist == "student_t":
        return rng.standard_t(posterior["nu_developer"].values[..., None], size=shape)
    return rng.standard_normal(shape)


def _fitted_labels(tree: xr.DataTree) -> pd.DataFrame:
    """Each fitted developer's paper group and pool (models without groups store no group labels: empty)."""
    if "group" not in tree.posterior.coords:
        return pd.DataFrame({"group": [], "pool": []}, dtype=str)
    groups = np.asarray(tree.posterior["group"].values)[tree.constant_data["group_of_developer"].values]
    return pd.DataFrame({"group": groups, "pool": [pool_of_group(g) for g in groups]},
                        index=tree.posterior["developer"].values)


def _centres(tree: xr.DataTree, structure: str, labels: pd.DataFrame) -> np.ndarray:
    """Per draw, the mean each fitted developer's effect is drawn around (its group effect under fixed groups)."""
    posterior = tree.posterior
    if structure == "fixed_groups":
        return posterior["developer_effect"].values
    if structure == "pooled":
        return np.zeros(_sample_shape(posterior, posterior.sizes["developer"]))
    return posterior["pool_effect"].sel(pool=xr.DataArray(labels["pool"].to_numpy(), dims="developer")).values


def _unseen_offset(tree: xr.DataTree, spec: Spec, level: str, labels: pd.Series,
                   rng: np.random.Generator) -> np.ndarray:
    """Effect (vs the base group) of a group or pool the fit never saw: a draw from the spec's group prior
    around the reference label, the one with most fitted models (as ``model._effects_vs_largest`` pins it)."""
    order = tree.posterior[level].values
    fitted_rows = labels.iloc[tree.constant_data["developer_idx"].values]
    models_per_label = fitted_rows.value_counts().reindex(order, fill_value=0)
    reference = order[int(np.argmax(models_per_label.to_numpy()))]
    prior = spec.priors.group
    shape = _sample_shape(tree.posterior)
    offset = pm.draw(getattr(pm, prior.dist).dist(**prior.params), draws=int(np.prod(shape)), random_seed=rng)
    return tree.posterior[f"{level}_effect"].sel({level: reference}).values + np.reshape(offset, shape)


def developer_effects(tree: xr.DataTree, developers: list[str], groups: list[str | None], seed: int) -> xr.DataArray:
    """Per-draw developer effect for each new row: the fitted one if known, a population draw if not.

    ``groups`` gives each unseen developer's paper group; None (or NA, or "") means unknown, and the
    effect is then drawn around a fitted developer's group or pool picked at random, per draw.
    """
    posterior, spec = tree.posterior, fitted_spec(tree)
    known = set(posterior["developer"].values.tolist())
    groups = [None if g is None or pd.isna(g) or g == "" else str(g) for g in groups]
    for i, (dev, group) in enumerate(zip(developers, groups, strict=True)):
        if dev not in known and group is not None and group not in GROUPS:
            raise PredictionError(f"row {i}: developer {dev!r} was not in the fit and its group {group!r} is not "
                                  f"one of {list(GROUPS)} (leave the group empty to draw from all developers)")
    rng = np.random.default_rng(seed)
    structure = spec.model.developers
    labels = _fitted_labels(tree)
    centres = _centres(tree, structure, labels)
    z = _standard_draws(posterior, spec, len(developers), rng)
    effects = []
    for i, (dev, group) in enumerate(zip(developers, groups, strict=True)):
        if dev in known:
            effects.append(posterior["developer_effect"].sel(developer=dev).values)
            continue
        if group is None:
            picked = rng.integers(0, centres.shape[-1], _sample_shape(posterior, 1))
            centre = np.take_along_axis(centres, picked, axis=-1)[..., 0]
        elif structure == "fixed_groups":
            centre = (posterior["group_effect"].sel(group=group).values if group in labels["group"].values
                      else _unseen_offset(tree, spec, "group", labels["group"], rng))
        elif structure == "pooled":
            centre = 0.0
        else:
            pool = pool_of_group(group)
            centre = (posterior["pool_effect"].sel(pool=pool).values if pool in labels["pool"].values
                      else _unseen_offset(tree, spec, "pool", labels["pool"], rng))
        spread = 0.0 if structure == "fixed_groups" else posterior["sigma_developer"].values * z[..., i]
        effects.append(centre + spread)
    return _draws(posterior, np.stack(effects, axis=-1))


def _steps_outside(label: str, fitted: list[str], time: str) -> int:
    """Random-walk steps from the fitted periods to ``label``: > 0 after the last, < 0 before the first."""
    freq = {"quarter": "Q", "month": "M"}[time]
    ordinal = pd.Period(label.upper(), freq).ordinal
    first, last = (pd.Period(p.upper(), freq).ordinal for p in (fitted[0], fitted[-1]))
    return ordinal - last if ordinal > last else ordinal - first


def period_effects(tree: xr.DataTree, periods: list[str], seed: int) -> xr.DataArray:
    """Per-draw period effect for each row.

    A random-walk period outside the fitted ones is reached by fresh steps of size sigma_period_step
    from the nearest fitted end (forward after the last period, backward before the first), one path
    per draw and direction shared by all rows, at most ``MAX_EXTRAPOLATION_MONTHS`` away.
    """
    posterior, spec = tree.posterior, fitted_spec(tree)
    fitted = [str(p) for p in posterior["period"].values]
    time = spec.data.time
    steps = {}
    for i, label in enumerate(periods):
        if label in fitted:
            continue
        if time == "cohort":
            raise PredictionError(f"row {i}: period {label!r} is outside the fitted {time} periods "
                                  f"{fitted[0]}..{fitted[-1]}")
        steps[label] = _steps_outside(label, fitted, time)
        if abs(steps[label]) * MONTHS_PER_STEP[time] > MAX_EXTRAPOLATION_MONTHS:
            raise PredictionError(f"row {i}: period {label!r} is {abs(steps[label])} {time}s outside the fitted "
                                  f"{fitted[0]}..{fitted[-1]}; the random walk is extrapolated at most "
                                  f"{MAX_EXTRAPOLATION_MONTHS} months")
    values = np.empty(_sample_shape(posterior, len(periods)))
    rng = np.random.default_rng(seed + 2)
    sigma = posterior["sigma_period_step"].values[..., None] if steps else None
    walks = {}
    for direction, end in ((1, fitted[-1]), (-1, fitted[0])):
        horizon = max((direction * n for n in steps.values()), default=0)
        if horizon > 0:
            path = np.cumsum(sigma * rng.standard_normal(_sample_shape(posterior, horizon)), axis=-1)
            walks[direction] = posterior["period_effect"].sel(period=end).values[..., None] + path
    for i, label in enumerate(periods):
        n = steps.get(label, 0)
        values[..., i] = (posterior["period_effect"].sel(period=label).values if n == 0
                          else walks[int(np.sign(n))][..., abs(n) - 1])
    return _draws(posterior, values)


def model_scale(posterior: xr.Dataset, spec: Spec, is_closed: xr.DataArray) -> xr.DataArray:
    """Per-draw SD of a model's own effect: sigma_model, plus sigma_closed for self-reported scores."""
    scale = posterior["sigma_model"]
    if spec.model.closed_models == "extra_noise":
        scale = np.sqrt(scale**2 + is_closed.astype(float) * posterior["sigma_closed"] ** 2)
    return scale.broadcast_like(is_closed).transpose(*SAMPLE_DIMS, ...)


def systematic(tree: xr.DataTree, new: pd.DataFrame, seed: int = 0) -> xr.Dataset:
    """Per-draw expected logit without the model's own effect (``mean``), that effect's scale (``scale``)
    and, for Student-t model effects, their degrees of freedom (``nu_model``).

    ``new`` has columns log10_flops, developer, developer_group, period, is_closed.
    """
    posterior, spec = tree.posterior, fitted_spec(tree)
    c0 = float(tree.attrs["c0_log10_flops"])
    x_c = xr.DataArray(new["log10_flops"].to_numpy(dtype=float) - c0, dims=NEW_DIM)
    period = period_effects(tree, new["period"].astype(str).tolist(), seed)
    developer = developer_effects(tree, new["developer"].tolist(), new["developer_group"].tolist(), seed)
    mean = posterior["intercept"] + posterior["beta"] * x_c + period + developer
    closed = xr.DataArray(new["is_closed"].to_numpy(dtype=bool), dims=NEW_DIM)
    seen = xr.DataArray(new["developer"].isin(posterior["developer"].values).to_numpy(), dims=NEW_DIM)
    parts = xr.Dataset({"mean": mean.transpose(*SAMPLE_DIMS, NEW_DIM),
                        "scale": model_scale(posterior, spec, closed), "developer_seen": seen})
    if spec.model.model_dist == "student_t":
        parts["nu_model"] = posterior["nu_model"]
    return parts


def model_effect_draws(parts: xr.Dataset, rng: np.random.Generator) -> xr.DataArray:
    """Fresh model-specific effects for ``systematic``'s rows: Normal(0, scale), or Student-t(nu_model, 0, scale)."""
    shape = parts["mean"].shape
    z = (rng.standard_t(parts["nu_model"].values[..., None], size=shape) if "nu_model" in parts
         else rng.standard_normal(shape))
    return parts["scale"] * z


def predict(tree: xr.DataTree, new: pd.DataFrame, seed: int = 0) -> xr.Dataset:
    """Predictive draws for new rows with columns log10_flops, developer, developer_group, period, is_closed.

    Returns eta (the latent logit), accuracy (expected score given eta) and score (a predictive
    draw of the observed score: binomial over the benchmark's questions, or logit-normal).
    """
    spec = fitted_spec(tree)
    rng = np.random.default_rng(seed + 1)
    parts = systematic(tree, new, seed)
    eta = parts["mean"] + model_effect_draws(parts, rng)
    floor = CHANCE_FLOOR[spec.data.outcome]
    accuracy = floor + (1 - floor) / (1 + np.exp(-eta))
    if spec.model.likelihood == "binomial":
        n = N_QUESTIONS[spec.data.outcome]
        score = xr.apply_ufunc(lambda p: rng.binomial(n, p) / n, accuracy)
    else:
        score = accuracy
    return xr.Dataset({"eta": eta, "accuracy": accuracy, "score": score, "developer_seen": parts["developer_seen"]})


def compute_needed(tree: xr.DataTree, new: pd.DataFrame, target: float, seed: int = 0) -> xr.Dataset:
    """log10 FLOPs at which a developer's model reaches ``target`` expected score in a period, per draw.

    ``median_model``: the model effect at 0 (the developer's typical recipe); ``new_model``: a fresh
    model effect (``model_effect_draws``), so its spread is that of the next model the developer trains.
    ``new`` has the columns of ``systematic`` except log10_flops.
    """
    spec = fitted_spec(tree)
    floor = CHANCE_FLOOR[spec.data.outcome]
    if not floor < target < 1:
        raise PredictionError(f"target score {target} must lie strictly between the chance floor {floor} and 1")
    beta = tree.posterior["beta"]
    if float((beta <= 0).mean()) > 0:
        raise PredictionError(f"the posterior puts {float((beta <= 0).mean()):.1%} of its draws on a non-positive "
                              "compute slope: no compute reaches the target in those draws")
    c0 = float(tree.attrs["c0_log10_flops"])
    parts = systematic(tree, new.assign(log10_flops=c0), seed)
    norm = (target - floor) / (1 - floor)
    gap = np.log(norm / (1 - norm)) - parts["mean"]
    effect = model_effect_draws(parts, np.random.default_rng(seed + 3))
    return xr.Dataset({"median_model": c0 + gap / beta, "new_model": c0 + (gap - effect) / beta,
                       "developer_seen": parts["developer_seen"]})
