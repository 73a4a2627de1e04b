"""Building blocks of the generative model: priors from the spec, partially pooled effects, offsets
against a reference label, and shared progress over periods."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_sauce.spec.priors import Prior

# Each group of effects is sampled partially centred with a weight per effect, a data container named with this
# prefix and the group's name (``pooled``); the fit chooses the weights from a pilot run (``fit.centring``).
CENTRING_PREFIX = "centring__"
RAW_SUFFIX = "_raw"
# Each group's scale per effect and its family's standardised variance, derived deterministics (never stored): the
# pilot's prior variance of each effect (``fit.centring``).
DERIVED_PREFIX = "centring_"
SCALE_PREFIX, VARIANCE_PREFIX = "centring_scale__", "centring_variance__"


def prior_rv(name: str, prior: Prior, **kwargs) -> pt.TensorVariable:
    """A random variable with the spec's prior."""
    return getattr(pm, prior.dist)(name, **prior.params, **kwargs)


@dataclass(frozen=True)
class LocationScale:
    """A location-scale family for effects: normal, Student-t (``shape`` = nu) or skew-normal (``shape`` = alpha)."""

    kind: str = "normal"
    shape: pt.TensorVariable | None = None

    def rv(self, name: str, loc, scale, size: int | None = None) -> pt.TensorVariable:
        """A random variable of this family; without ``size`` its shape is its parameters' (so that it vectorises
        over posterior draws in ``evaluate``)."""
        if self.kind == "normal":
            return pm.Normal(name, loc, scale, size=size)
        if self.kind == "student_t":
            return pm.StudentT(name, nu=self.shape, mu=loc, sigma=scale, size=size)
        return pm.SkewNormal(name, mu=loc, sigma=scale, alpha=self.shape, size=size)

    def standard_variance(self) -> pt.TensorVariable:
        """The variance of the family's member with location 0 and scale 1 (inf for a Student-t with nu <= 2)."""
        if self.kind == "normal":
            return pt.as_tensor(1.0)
        if self.kind == "student_t":
            return pt.switch(self.shape > 2, self.shape / (self.shape - 2), np.inf)
        return 1 - 2 / np.pi * self.shape**2 / (1 + self.shape**2)


NORMAL = LocationScale()


def pooled(name: str, loc: pt.TensorVariable, scale: pt.TensorVariable, weights: np.ndarray,
           family: LocationScale = NORMAL) -> pt.TensorVariable:
    """Effects ~ family(loc, scale), partially centred with weight w per effect (Papaspiliopoulos et al. 2007;
    Gorinova et al. 2020): raw ~ family(w loc, scale^w) and effect = loc + scale^(1-w) (raw - w loc), which has the
    same distribution for every w; w = 1 is the centred form, w = 0 the non-centred one. The weights are a data
    container (``CENTRING_PREFIX + name``), so a compiled model takes other weights without being rebuilt."""
    n = len(weights)
    w = pm.Data(CENTRING_PREFIX + name, np.asarray(weights, dtype=np.float64))
    loc, scale = loc * pt.ones(n), pm.Deterministic(SCALE_PREFIX + name, scale * pt.ones(n))
    pm.Deterministic(VARIANCE_PREFIX + name, family.standard_variance())
    raw = family.rv(name + RAW_SUFFIX, w * loc, scale**w)
    return loc + scale ** (1 - w) * (raw - w * loc)


def protocol_shift(spec, is_closed: pt.TensorVariable) -> pt.TensorVariable:
    """Per row: the offset of a self-reported score from the leaderboard harness's (``model.protocol_offset``; one
    random variable ``protocol_offset`` shared by a model and its new rows), else 0."""
    if not spec.model.protocol_offset:
        return pt.zeros_like(is_closed)
    model = pm.modelcontext(None)
    offset = model["protocol_offset"] if "protocol_offset" in model.named_vars else prior_rv(
        "protocol_offset", spec.priors.protocol_offset)
    return offset * is_closed


def offsets_vs_reference(name: str, prior: Prior, n_labels: int, reference: int) -> pt.TensorVariable:
    """Free effects for every label but ``reference`` (the best-measured, ``Design.reference``), pinned at 0.

    Pinning the best-measured label (not, as such, the paper's base, Other-Small) keeps the level alpha
    nearly uncorrelated with the offsets; effects against the base are derived afterwards.
    """
    free = prior_rv(name, prior, shape=n_labels - 1)
    return pt.concatenate([free[:reference], pt.zeros(1), free[reference:]])


def random_walk(steps: pt.TensorVariable, reference: int) -> pt.TensorVariable:
    """A random walk of the given steps, 0 at ``reference``."""
    walk = pt.concatenate([pt.zeros(1), pt.cumsum(steps)])
    return walk - walk[reference]
