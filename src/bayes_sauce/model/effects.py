"""Building blocks of the generative model: priors from the spec, partially pooled effects, offsets
against a reference label, and shared progress over periods."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_sauce.spec.priors import Prior

# A developer with at least this many models has its effect pinned by the data, so it is sampled
# centred; developers with fewer models (most of them have one) are sampled non-centred to avoid
# the funnel with sigma_developer. Measured: see the closing note of issue 6 / benchmarks.
CENTRED_MIN_MODELS = 5
# In the family structure a developer's level is pinned by the families it based: centred from three.
CENTRED_MIN_FAMILIES = 3


def prior_rv(name: str, prior: Prior, **kwargs) -> pt.TensorVariable:
    """A random variable with the spec's prior."""
    return getattr(pm, prior.dist)(name, **prior.params, **kwargs)


def standard(name: str, size: int, nu: pt.TensorVariable | None = None) -> pt.TensorVariable:
    """Standard normal (Student-t when nu is given) variables, for non-centred effects."""
    if nu is None:
        return pm.Normal(name, 0.0, 1.0, shape=size)
    return pm.StudentT(name, nu=nu, mu=0.0, sigma=1.0, shape=size)


def pooled(name: str, mu: pt.TensorVariable, sigma: pt.TensorVariable, centred: np.ndarray,
           nu: pt.TensorVariable | None = None) -> pt.TensorVariable:
    """Normal (Student-t when nu is given) effects around mu: centred where the data pin them."""
    sigma = sigma * pt.ones(len(centred))
    on, off = np.flatnonzero(centred), np.flatnonzero(~centred)
    parts = []
    if len(on):
        parts.append(pm.StudentT(f"{name}_c", nu=nu, mu=mu[on], sigma=sigma[on], shape=len(on)) if nu is not None
                     else pm.Normal(f"{name}_c", mu[on], sigma[on], shape=len(on)))
    if len(off):
        parts.append(mu[off] + sigma[off] * standard(f"{name}_z", len(off), nu))
    return pt.concatenate(parts)[np.argsort(np.concatenate([on, off]))]


def offsets_vs_reference(name: str, prior: Prior, n_labels: int, reference: int) -> pt.TensorVariable:
    """Free effects for every label but ``reference`` (the best-measured, ``Design.reference``), pinned at 0.

    Pinning the best-measured label (not, as such, the paper's base, Other-Small) keeps the level alpha
    nearly uncorrelated with the offsets; effects against the base are derived afterwards.
    """
    free = prior_rv(name, prior, shape=n_labels - 1)
    return pt.concatenate([free[:reference], pt.zeros(1), free[reference:]])


def random_walk(steps: pt.TensorVariable, sigma: pt.TensorVariable, reference: int) -> pt.TensorVariable:
    """A random walk from standard-normal steps of size sigma, 0 at ``reference``."""
    walk = pt.concatenate([pt.zeros(1), pt.cumsum(sigma * steps)])
    return walk - walk[reference]
