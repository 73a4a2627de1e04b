"""What the posterior leaves uncertain about each draw, drawn from its conditional distribution (seeded numpy draws
from the stored posterior), so that intervals carry it:

- A developer that based a single family samples one combined level (``model.build._combined_levels``); the model
  stores its split into a developer and a family part as the conditional mean. :func:`developer_split_draws` draws
  the developer's part from its conditional distribution given the combined level instead.
- Each model's observed logit is a mixture (core, damaged fine-tune, failed evaluation: ``model.families``).
  :func:`mixture_states` gives each model's state probabilities per draw from the model's own component densities,
  and draws its state and, for a damaged fine-tune, its latent damage given the score: the rest of its deviation
  from the model's mean is evaluation noise.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import expit

from bayes_sauce.defaults import SEED
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model import families
from bayes_sauce.model.build import build_model
from bayes_sauce.model.evaluate import evaluate

STATES = ("core", "damaged", "failure")
SPLIT_STREAM, STATE_STREAM = 1, 2  # independent random streams from the fit's seed


def rng_for(fit: Fit, stream: int) -> np.random.Generator:
    """A generator seeded by the fit's seed and a stream number: the same fit gives the same draws."""
    return np.random.default_rng((int(fit.tree.attrs.get("seed", SEED)), stream))


def _standard_normal(fit: Fit, stream: int, like: xr.DataArray) -> xr.DataArray:
    return xr.DataArray(rng_for(fit, stream).standard_normal(like.shape), dims=like.dims, coords=like.coords)


def developer_split_draws(fit: Fit) -> xr.DataArray:
    """Per draw and developer: what the developer's drawn part adds to its stored effect (its family's part loses as
    much). Zero for a developer that based two or more families, and without the family structure.

    Given the combined level L around the centre c (spreads sigma_developer and the families' SD s), the developer's
    part is Normal(c + w (L - c), sigma_developer s / sqrt(sigma_developer^2 + s^2)) with w = sigma_developer^2 /
    (sigma_developer^2 + s^2); the model stores its mean.
    """
    post, design = fit.posterior, fit.design
    zero = xr.zeros_like(post["developer_effect"])
    if design.families is None or "sigma_family" not in post or "sigma_developer" not in post:
        return zero
    single = design.units_per_developer == 1
    if not single.any():
        return zero
    family_sd = post["sigma_family"]  # the families' standard deviation (``families.family_spread``)
    sigma = post["sigma_developer"]
    conditional_sd = sigma * family_sd / np.sqrt(sigma**2 + family_sd**2)
    z = _standard_normal(fit, SPLIT_STREAM, zero)
    return (conditional_sd * z).where(xr.DataArray(single, dims="developer"), 0.0).transpose(*zero.dims)


@dataclass(frozen=True)
class MixtureStates:
    """Per draw and model: the deviation of the observed logit from the model's mean (``deviation``), each state's
    probability, the drawn state (``failed``, ``damaged``) and the drawn latent damage (0 where not damaged)."""

    deviation: xr.DataArray
    probability: xr.DataArray  # dims (chain, draw, mixture_state, model)
    failed: xr.DataArray
    damaged: xr.DataArray
    damage: xr.DataArray


def state_probabilities(fit: Fit) -> xr.Dataset:
    """The observed logits' mixture, read from the fitted model's own likelihood: per draw, each model's
    ``state_probability`` (core, damaged, failure; the core alone where the mixture does not apply), its mean
    ``observation_mean`` and the damaged component's SD on the normalised-accuracy scale ``damaged_sd``."""
    model = build_model(fit.spec, fit.design)  # a copy: the fit's own model is left as it was sampled
    y = model["y"]
    names = list(inspect.signature(families.mixture_logp).parameters)[1:]
    p = dict(zip(names, y.owner.op.dist_params(y.owner), strict=True))
    logps = families.mixture_components(model["y_observed"], *p.values())
    with model:
        model.add_coord("mixture_state", STATES)
        pm.Deterministic("state_probability", pt.exp(logps - pm.math.logsumexp(logps, axis=0)),
                         dims=("mixture_state", "model"))
        pm.Deterministic("observation_mean", p["mu"] * pt.ones_like(model["y_observed"]), dims="model")
        pm.Deterministic("damaged_sd", p["damaged_sd"] * pt.ones_like(model["y_observed"]), dims="model")
    return evaluate(model, fit.posterior, ["state_probability", "observation_mean", "damaged_sd"])


def mixture_states(fit: Fit) -> MixtureStates:
    """Each model's state per draw, drawn with its posterior probability given the draw's parameters and its score,
    and a damaged fine-tune's latent damage -shift + d drawn given its score (Normal-Normal on the normalised-accuracy
    scale, where the damaged component is u = q + q (1 - q) d + noise, q = invlogit(mean - shift), d ~ Normal(0,
    sigma_damaged): ``families.component_noise``)."""
    post = fit.posterior
    parts = state_probabilities(fit)
    y = xr.DataArray(fit.design.families.logit, dims="model", coords={"model": parts["model"].values})
    deviation = (y - parts["observation_mean"]).transpose(*SAMPLE_DIMS, "model")
    prob = parts["state_probability"]
    u = xr.DataArray(rng_for(fit, STATE_STREAM).uniform(size=deviation.shape), dims=deviation.dims,
                     coords=deviation.coords)
    p_fail, p_damaged = prob.sel(mixture_state="failure", drop=True), prob.sel(mixture_state="damaged", drop=True)
    failed = u < p_fail
    damaged = ~failed & (u < p_fail + p_damaged)
    damage = xr.zeros_like(deviation)
    if "sigma_damaged" in post and "damaged_shift" in post:
        shift, sigma = post["damaged_shift"], post["sigma_damaged"]
        q = expit(parts["observation_mean"] - shift)
        slope = q * (1 - q)  # d u / d logit at the damaged mean
        weight = (sigma * slope) ** 2 / parts["damaged_sd"] ** 2
        mean = -shift + weight * (expit(y) - q) / slope
        draw = mean + sigma * np.sqrt(1 - weight) * _standard_normal(fit, STATE_STREAM + 1, deviation)
        damage = draw.where(damaged, 0.0).transpose(*deviation.dims)
    return MixtureStates(deviation, prob, failed, damaged, damage)
