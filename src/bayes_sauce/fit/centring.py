"""How each group of partially pooled effects is parameterised, chosen from the data before sampling.

A short pilot run samples the model with every group centred, to find typical values of the spreads and noise
scales (the centred form is the cheapest to sample where the data pin the effects, and a pilot needs no more than
typical values). Each effect's weight is then the share of its prior variance that the data remove, at those values:
for a normal effect pinned by data with variance s^2 and spread sigma, sigma^2 / (sigma^2 + s^2), the weight at
which the partially centred parameter is a posteriori independent of its location (Papaspiliopoulos, Roberts and
Skold 2007; Gorinova, Moore and Hoffman 2020): 1 (centred) where the data pin an effect far more tightly than its
spread, 0 (non-centred) where they say little about it.
"""

from __future__ import annotations

import json

import numpy as np
import pymc as pm
import pytensor
import xarray as xr

from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.effects import CENTRING_PREFIX, RAW_SUFFIX, SCALE_PREFIX, VARIANCE_PREFIX
from bayes_sauce.model.evaluate import EVALUATION_MODE, evaluate

PILOT_TUNE = 150
PILOT_DRAWS = 25
CURVATURE_POINTS = 8
STEP = 1e-4  # central differences of the gradient, in the unconstrained space
DECIMALS = 2  # weights are rounded, so that the same pilot gives the same parameterisation on any machine
FUNNEL_RANK, FUNNEL_SHARE = 0.1, 0.3
CENTRED, NON_CENTRED = 0.9, 0.1  # for the one-line summary: weights at or beyond these count as (non-)centred


def groups(model: pm.Model) -> list[str]:
    """The model's groups of effects with centring weights (``effects.pooled``)."""
    return [v.name.removeprefix(CENTRING_PREFIX) for v in model.data_vars if v.name.startswith(CENTRING_PREFIX)]


def constant(model: pm.Model, weight: float) -> dict[str, np.ndarray]:
    """The same weight for every effect of every group (0 for the non-centred form, 1 for the centred one)."""
    return {group: np.full(model[CENTRING_PREFIX + group].get_value().shape, weight) for group in groups(model)}


def zeros(model: pm.Model) -> dict[str, np.ndarray]:
    """Weight 0 (non-centred) for every effect: the parameterisation of a model built without a pilot (prior draws)."""
    return constant(model, 0.0)


def _prior_variances(model: pm.Model):
    """A function of the free variables' (constrained) values giving every effect's prior variance given its
    hyper-parameters, scale^2 times its family's standardised variance, in ``groups`` order."""
    from pymc.model.transform.conditioning import remove_value_transforms

    names = [(SCALE_PREFIX + group, VARIANCE_PREFIX + group) for group in groups(model)]
    model = remove_value_transforms(model)  # a copy whose value variables take constrained values (its groups' order
    # may differ from the model's: the names are taken above)
    inputs = [model.rvs_to_values[rv] for rv in model.free_RVs]
    outputs = model.replace_rvs_by_values([model[name] for pair in names for name in pair])
    function = pytensor.function(inputs, outputs, mode=EVALUATION_MODE, on_unused_input="ignore")

    def at(values: dict[str, np.ndarray]) -> np.ndarray:
        out = function(*[values[v.name] for v in inputs])
        return np.concatenate([out[2 * i] ** 2 * out[2 * i + 1] for i in range(len(names))])

    return at


def _hessian(compiled, point: np.ndarray, block: np.ndarray) -> np.ndarray:
    """The negative Hessian of the log density over the unconstrained coordinates ``block``, at ``point``, by central
    differences of nutpie's compiled gradient (which reads the model's data containers as they are)."""
    function = compiled.logp_func
    columns = []
    for j in block:
        step = STEP * max(1.0, abs(point[j]))
        up, down = point.copy(), point.copy()
        up[j] += step
        down[j] -= step
        columns.append((function(up)[1][block] - function(down)[1][block]) / (2 * step))
    hessian = -np.array(columns)
    return (hessian + hessian.T) / 2


def _inverse(hessian: np.ndarray, floor: float) -> np.ndarray:
    """The inverse of a symmetric curvature matrix with its eigenvalues' magnitudes, at least ``floor`` (the widest
    prior's precision). A mixture's log density curves the wrong way between its components (a fine-tune between
    the core and the damaged one): the data pin such an effect as strongly as that curvature says, within each
    component (the "SoftAbs" of Betancourt 2013, without the softening)."""
    values, vectors = np.linalg.eigh(hessian)
    return (vectors / np.maximum(np.abs(values), floor)) @ vectors.T


def weights_from_pilot(model: pm.Model, compiled, pilot: xr.DataTree,
                       points: int = CURVATURE_POINTS) -> dict[str, np.ndarray]:
    """Each group's weights from a pilot of ``model`` sampled centred by nutpie (``compiled``, its unconstrained draws
    stored; the model's weights still all 1).

    An effect's weight is the share of its prior variance the data remove, 1 - Var(x | data, hyper-parameters) /
    Var(x | hyper-parameters). The posterior variance is the diagonal of the inverse of the log density's Hessian over
    every group's effects, so that what an effect learns from the effects drawn around it (a developer's level from
    its families) counts with their own uncertainty; the prior variance is its scale squared times its family's
    standardised variance. Both are taken at ``points`` pilot draws spread over the chains (typical values of the
    hyper-parameters, however short the pilot), and an effect keeps its least share: centring an effect that the data
    do not pin gives a funnel where its spread is small, while the opposite mistake only costs some efficiency."""
    names, slices = compiled.shape_info[0], compiled.shape_info[1]
    raw = {name: slices[names.index(name + RAW_SUFFIX)] for name in groups(model)}
    block = np.concatenate([np.arange(raw[g].start, raw[g].stop) for g in groups(model)]).astype(int)
    flat = pilot.sample_stats["unconstrained_draw"].values
    flat = flat.reshape(-1, flat.shape[-1])
    constrained = {rv.name: pilot.posterior[rv.name].values for rv in model.free_RVs}
    constrained = {k: v.reshape(v.shape[0] * v.shape[1], *v.shape[2:]) for k, v in constrained.items()}
    prior_at = _prior_variances(model)
    shares = []
    for pick in np.linspace(0, len(flat) - 1, points).round().astype(int):
        prior = prior_at({name: value[pick] for name, value in constrained.items()})
        with np.errstate(invalid="ignore", divide="ignore"):  # no finite curvature: non-centred, the safe form
            posterior = np.diag(_inverse(_hessian(compiled, flat[pick], block), 1 / np.max(prior)))
            shares.append(np.clip(np.nan_to_num(1 - posterior / prior, nan=0.0), 0.0, 1.0))
    weights = np.round(np.min(shares, axis=0), DECIMALS)
    sizes = [raw[g].stop - raw[g].start for g in groups(model)]
    return dict(zip(groups(model), np.split(weights, np.cumsum(sizes)[:-1])))


def funnelled(model: pm.Model, tree: xr.DataTree) -> list[str]:
    """Groups whose divergent transitions sit at the small end of their spread (at least ``FUNNEL_SHARE`` of them among
    the ``FUNNEL_RANK`` of draws with the smallest spread, three times what chance puts there): a funnel that the
    centred part of their parameterisation could not enter."""
    diverging = tree.sample_stats["diverging"].values.astype(bool)
    if not diverging.any() or not groups(model):
        return []
    names = [SCALE_PREFIX + group for group in groups(model)]
    scales = evaluate(model, tree.posterior.to_dataset(), names)
    out = []
    for group, name in zip(groups(model), names):
        spread = scales[name].mean([d for d in scales[name].dims if d not in SAMPLE_DIMS]).values
        rank = (spread[..., None] > spread.ravel()).mean(axis=-1)  # each draw's share of draws with a smaller spread
        if (rank[diverging] < FUNNEL_RANK).mean() >= FUNNEL_SHARE:
            out.append(group)
    return out


def current(model: pm.Model) -> dict[str, np.ndarray]:
    """The weights in the model's data containers now (what its draws are read with)."""
    return {group: np.array(model[CENTRING_PREFIX + group].get_value()) for group in groups(model)}


def set_weights(model: pm.Model, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Put the weights in the model's data containers; returns them keyed by container name (for nutpie)."""
    values = {CENTRING_PREFIX + group: np.asarray(w, dtype=np.float64) for group, w in weights.items()}
    pm.set_data(values, model=model)
    return values


def to_json(weights: dict[str, np.ndarray]) -> str:
    return json.dumps({group: [float(x) for x in w] for group, w in weights.items()})


def from_json(text: str) -> dict[str, np.ndarray]:
    return {group: np.asarray(w, dtype=np.float64) for group, w in json.loads(text).items()}


def describe(weights: dict[str, np.ndarray]) -> str:
    """One line: per group, how many effects are centred, non-centred and in between."""
    parts = []
    for group, w in weights.items():
        on, off = int((w >= CENTRED).sum()), int((w <= NON_CENTRED).sum())
        parts.append(f"{group} {len(w)}: {on} centred, {off} non-centred, {len(w) - on - off} partly")
    return "; ".join(parts) if parts else "no partially pooled effects"
