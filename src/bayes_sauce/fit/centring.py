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
from pytensor.graph.replace import vectorize_graph

from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.effects import CENTRING_PREFIX, LOCATION_PREFIX, RAW_SUFFIX, SCALE_PREFIX
from bayes_sauce.model.evaluate import EVALUATION_MODE

PILOT_TUNE = 150
PILOT_DRAWS = 25
CURVATURE_POINTS = 8
STANDARD_GRID_HALF_WIDTH, STANDARD_GRID_POINTS = 40.0, 8001  # a standardised effect's density, integrated on a grid
DECIMALS = 2  # weights are rounded, so that the same pilot gives the same parameterisation on any machine
CENTRED, NON_CENTRED = 0.9, 0.1  # for the one-line summary: weights at or beyond these count as (non-)centred


def groups(model: pm.Model) -> list[str]:
    """The model's groups of effects with centring weights (``effects.pooled``)."""
    return [v.name.removeprefix(CENTRING_PREFIX) for v in model.data_vars if v.name.startswith(CENTRING_PREFIX)]


def zeros(model: pm.Model) -> dict[str, np.ndarray]:
    """Weight 0 (non-centred) for every effect: the pilot's parameterisation, and a simulation's from the prior."""
    return {group: np.zeros(model[CENTRING_PREFIX + group].get_value().shape) for group in groups(model)}


def _pilot_points(model: pm.Model, pilot: xr.Dataset, points: int) -> list[dict[str, np.ndarray]]:
    """``points`` draws of the pilot, spread over its chains, as values of the free variables."""
    draws = {rv.name: pilot[rv.name].transpose(*SAMPLE_DIMS, ...).values for rv in model.free_RVs}
    draws = {name: value.reshape(value.shape[0] * value.shape[1], *value.shape[2:]) for name, value in draws.items()}
    picks = np.linspace(0, len(draws[model.free_RVs[0].name]) - 1, points).round().astype(int)
    return [{name: value[pick] for name, value in draws.items()} for pick in picks]


def _locations(model: pm.Model):
    """A function of a point (free variables' values) giving each group's location and scale per effect."""
    names = [f"{prefix}{group}" for group in groups(model) for prefix in (LOCATION_PREFIX, SCALE_PREFIX)]
    inputs = [model.rvs_to_values[rv] for rv in model.free_RVs]
    located = pytensor.function(inputs, model.replace_rvs_by_values([model[name] for name in names]),
                                mode=EVALUATION_MODE, on_unused_input="ignore")

    def at(point: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        values = located(*[point[v.name] for v in inputs])
        return {group: (values[2 * i], values[2 * i + 1]) for i, group in enumerate(groups(model))}

    return at


def _hessian(model: pm.Model):
    """A function of a point (free variables' values) giving the log density's negative Hessian over every group's
    raw variables, in ``groups`` order."""
    values = [model.rvs_to_values[rv] for rv in model.free_RVs]
    raws = [model.rvs_to_values[model[group + RAW_SUFFIX]] for group in groups(model)]
    total = model.logp()
    # One function per row of blocks: PyTensor's rewrites of several rows of vectorised Hessians in one graph gave NaNs.
    rows = [pytensor.function(values, [-h for h in pytensor.gradient.jacobian(pytensor.gradient.grad(total, raw), raws,
                                                                              vectorize=True)],
                              mode=EVALUATION_MODE, on_unused_input="ignore") for raw in raws]
    return lambda point: np.block([row(*[point[v.name] for v in values]) for row in rows])


def _standard_variances(model: pm.Model):
    """A function of a point giving, per group, the variance of its standardised effects (the raw variables at weight
    0: a normal's 1, a skew-normal's or Student-t's by its shape), integrated from their own density on a grid (no
    draws: PyTensor's vectorised skew-normal draws come out in the wrong shape)."""
    values = [model.rvs_to_values[rv] for rv in model.free_RVs]
    grids = {group: pt.matrix(f"{group}_grid") for group in groups(model)}
    densities = [vectorize_graph(model.logp(vars=[model[group + RAW_SUFFIX]], sum=False)[0],
                                 replace={model.rvs_to_values[model[group + RAW_SUFFIX]]: grid})
                 for group, grid in grids.items()]
    function = pytensor.function([*values, *grids.values()], densities, mode=EVALUATION_MODE, on_unused_input="ignore")
    z = np.linspace(-STANDARD_GRID_HALF_WIDTH, STANDARD_GRID_HALF_WIDTH, STANDARD_GRID_POINTS)

    def at(point: dict[str, np.ndarray]) -> dict[str, float]:
        sizes = [len(point[group + RAW_SUFFIX]) for group in grids]
        logps = function(*[point[v.name] for v in values], *[np.repeat(z[:, None], n, axis=1) for n in sizes])
        out = {}
        for group, logp in zip(grids, logps):
            density = np.exp(logp[:, 0] - logp[:, 0].max())  # every effect of a group has the same standard member
            density /= density.sum()
            mean = float((z * density).sum())
            out[group] = float(((z - mean) ** 2 * density).sum())
        return out

    return at


def weights_from_pilot(model: pm.Model, pilot: xr.Dataset, points: int = CURVATURE_POINTS) -> dict[str, np.ndarray]:
    """Each group's weights from a pilot posterior of ``model`` sampled non-centred (weights 0).

    An effect's weight is the share of its prior variance the data remove: 1 - Var(x | data, hyper-parameters) /
    Var(x | hyper-parameters), for a normal effect pinned by data with variance s^2 and spread sigma
    sigma^2 / (sigma^2 + s^2). The posterior variance is the diagonal of the inverse of the log density's Hessian
    over every group's effects (exact second derivatives, every group centred), so that what an effect learns from
    the effects drawn around it (a developer's level from its families) counts with their own uncertainty; the prior
    variance is its scale squared times its family's standardised variance. The share is averaged over ``points``
    pilot draws spread over the chains: the hyper-parameters at typical values, however short the pilot."""
    from pymc.model.transform.conditioning import remove_value_transforms

    # A copy whose value variables take the posterior's (constrained) values, and whose data containers are its own.
    plain = remove_value_transforms(model)
    names = groups(plain)
    standard_at = _standard_variances(plain)  # compiled while the copy's weights are 0
    draws = _pilot_points(plain, pilot, points)
    standards = [standard_at(point) for point in draws]
    set_weights(plain, {group: np.ones_like(w) for group, w in zeros(plain).items()})
    hessian, locate = _hessian(plain), _locations(plain)
    shares = []
    for point, standard in zip(draws, standards):
        located = locate(point)
        centred = dict(point)  # the same effects as raw variables of the centred form: x = loc + scale z
        for group, (loc, scale) in located.items():
            centred[group + RAW_SUFFIX] = loc + scale * point[group + RAW_SUFFIX]
        prior = np.concatenate([scale**2 * standard[group] for group, (_, scale) in located.items()])
        with np.errstate(invalid="ignore", divide="ignore"):  # no finite curvature: non-centred, the safe form
            share = 1 - np.diag(_inverse(hessian(centred), 1 / prior.max())) / prior
        shares.append(np.clip(np.nan_to_num(share, nan=0.0), 0.0, 1.0))
    sizes = [len(located[group][0]) for group in names]
    weights = np.round(np.min(shares, axis=0), DECIMALS)
    return dict(zip(names, np.split(weights, np.cumsum(sizes)[:-1])))


def _inverse(hessian: np.ndarray, floor: float) -> np.ndarray:
    """The inverse of a symmetric curvature matrix with its eigenvalues' magnitudes, at least ``floor`` (the widest
    prior's precision). A mixture's log density curves the wrong way between its components (a fine-tune between
    the core and the damaged one): the data pin such an effect as strongly as that curvature says, within each
    component (the "SoftAbs" of Betancourt 2013, without the softening)."""
    values, vectors = np.linalg.eigh((hessian + hessian.T) / 2)
    return (vectors / np.maximum(np.abs(values), floor)) @ vectors.T


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
