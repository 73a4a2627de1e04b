"""How each group of partially pooled effects is parameterised, chosen from the data before sampling.

A short pilot run samples the model with every group non-centred (weights 0), to find typical values of the
spreads and noise scales. Each effect's weight is then the data's share of its conditional posterior precision
at those values (``weights_from_pilot``): for a normal effect pinned by data with variance s^2 and spread sigma,
sigma^2 / (sigma^2 + s^2), the weight at which the partially centred parameter is a posteriori independent of its
location (Papaspiliopoulos, Roberts and Skold 2007; Gorinova, Moore and Hoffman 2020): 1 (centred) where the data
pin an effect far more tightly than its spread, 0 (non-centred) where they say little about it.
"""

from __future__ import annotations

import json

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr

from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.effects import CENTRING_PREFIX, RAW_SUFFIX
from bayes_sauce.model.evaluate import EVALUATION_MODE

PILOT_TUNE = 150
PILOT_DRAWS = 25
CURVATURE_POINTS = 8
DECIMALS = 2  # weights are rounded, so that the same pilot gives the same parameterisation on any machine
CENTRED, NON_CENTRED = 0.9, 0.1  # for the one-line summary: weights at or beyond these count as (non-)centred


def groups(model: pm.Model) -> list[str]:
    """The model's groups of effects with centring weights (``effects.pooled``)."""
    return [v.name.removeprefix(CENTRING_PREFIX) for v in model.data_vars if v.name.startswith(CENTRING_PREFIX)]


def zeros(model: pm.Model) -> dict[str, np.ndarray]:
    """Weight 0 (non-centred) for every effect: the pilot's parameterisation, and a simulation's from the prior."""
    return {group: np.zeros(model[CENTRING_PREFIX + group].get_value().shape) for group in groups(model)}


def weights_from_pilot(model: pm.Model, pilot: xr.Dataset, points: int = CURVATURE_POINTS) -> dict[str, np.ndarray]:
    """Each group's weights from a pilot posterior of ``model`` sampled non-centred (weights 0).

    At weight 0 an effect is x = loc + scale z; the log density's curvature in z is its own (standard) prior's,
    H_own, plus what everything else says about it (the data, and the effects drawn around it), so its weight
    1 - H_own / H_total is the data's share of its conditional precision, sigma^2 / (sigma^2 + s^2) for a normal
    effect. The curvatures are exact second derivatives, averaged over ``points`` pilot draws spread over the
    chains (the hyper-parameters at typical values, however short the pilot)."""
    from pymc.model.transform.conditioning import remove_value_transforms

    plain = remove_value_transforms(model)  # its value variables take the posterior's (constrained) values
    values = [plain.rvs_to_values[rv] for rv in plain.free_RVs]
    draws = {rv.name: pilot[rv.name].transpose(*SAMPLE_DIMS, ...).values for rv in plain.free_RVs}
    draws = {name: value.reshape(value.shape[0] * value.shape[1], *value.shape[2:]) for name, value in draws.items()}
    picks = np.linspace(0, len(draws[values[0].name]) - 1, points).round().astype(int)
    weights = {}
    for group in groups(model):
        raw = plain.rvs_to_values[plain[group + RAW_SUFFIX]]
        hessians = [pytensor.gradient.jacobian(pytensor.gradient.grad(term, raw), raw, vectorize=True)
                    for term in (plain.logp(vars=[plain[group + RAW_SUFFIX]]), plain.logp())]
        # One function per group: PyTensor's rewrites of several vectorised Hessians in one graph gave NaNs.
        curvatures = pytensor.function(values, [-pt.diagonal(h) for h in hessians], mode=EVALUATION_MODE,
                                       on_unused_input="ignore")
        own, everything = np.sum([curvatures(*[draws[v.name][pick] for v in values]) for pick in picks], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.nan_to_num(1 - own / everything, nan=0.0)  # no finite curvature: non-centred, the safe form
        weights[group] = np.round(np.clip(share, 0.0, 1.0), DECIMALS)
    return weights


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
