"""Log predictive density of observed scores, on one scale for every likelihood.

The scale is the log probability of the observed number of correct answers, k = round(score * n),
given a model's expected logit ``mean`` and the SD ``scale`` of its own model effect, which is
integrated out (the density of "a new model with these inputs", not of a fitted model's own effect):

- binomial: log of the integral of Binomial(k | n, floor + (1 - floor) invlogit(eta)) N(eta | mean, scale)
  over eta, by adaptive Gauss-Hermite quadrature centred on the integrand's mode (found by Fisher
  scoring), vectorised over draws and rows; the integrand is nearly Gaussian at n = 12,032, so a few
  nodes are exact to ~1e-8.
- Student-t model effects: a scale mixture of the normal case (``log_density_student_t_component``).
- logit-normal: the normal density of y = logit((s - floor) / (1 - floor)), moved to the score
  scale by the Jacobian dy/ds = 1/(s - floor) + 1/(1 - s), times the width 1/n of one count's bin:
  log N(y | mean, scale) + log(dy/ds) - log n. It is the probability the continuous model gives to
  the score's bin, comparable with the binomial's probability of k.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.special import gammaln, log_expit, logsumexp
from scipy.stats import norm

from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.scale import scale_of
QUADRATURE_NODES = 12
FISHER_STEPS = 12
CHUNK_DRAWS = 250  # draws per vectorised block: draws x rows x nodes floats in memory
# Grid over log t for the Student-t scale mixture (t ~ Gamma(nu/2, 1)): wide enough for nu >= 0.5.
LOG_GAMMA_GRID = np.linspace(np.log(1e-6), np.log(40.0), 40)


def _log_success(eta: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """log p and log(1 - p) for p = floor + (1 - floor) invlogit(eta), computed stably."""
    log_p = np.logaddexp(np.log(floor) if floor > 0 else -np.inf, np.log1p(-floor) + log_expit(eta))
    return log_p, np.log1p(-floor) + log_expit(-eta)


def _mode_and_information(k: np.ndarray, n: int, floor: float, mean: np.ndarray, scale: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Mode of Binomial(k | eta) N(eta | mean, scale) in eta, and its Fisher information there."""
    share = np.clip((k / n - floor) / (1 - floor), 0.5 / n, 1 - 0.5 / n)
    eta = np.broadcast_to(np.log(share / (1 - share)), mean.shape).copy()
    for step in range(FISHER_STEPS + 1):
        q = 1 / (1 + np.exp(-eta))
        p = floor + (1 - floor) * q
        dp = (1 - floor) * q * (1 - q)
        information = n * dp**2 / (p * (1 - p)) + 1 / scale**2
        if step < FISHER_STEPS:
            score = (k / p - (n - k) / (1 - p)) * dp - (eta - mean) / scale**2
            eta = eta + score / information
    return eta, information


def binomial_marginal(k: np.ndarray, n: int, floor: float, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """log of the integral over eta of Binomial(k | n, p(eta)) N(eta | mean, scale); arrays broadcast."""
    mean, scale = np.broadcast_arrays(mean, scale)
    k = np.broadcast_to(k, mean.shape)
    mode, information = _mode_and_information(k, n, floor, mean, scale)
    nodes, weights = np.polynomial.hermite.hermgauss(QUADRATURE_NODES)
    width = np.sqrt(2 / information)[..., None]
    eta = mode[..., None] + width * nodes
    log_p, log_q = _log_success(eta, floor)
    kk = k[..., None]
    log_f = (gammaln(n + 1) - gammaln(kk + 1) - gammaln(n - kk + 1) + kk * log_p + (n - kk) * log_q
             + norm.logpdf(eta, mean[..., None], scale[..., None]))
    return np.log(width[..., 0]) + logsumexp(log_f + np.log(weights) + nodes**2, axis=-1)


def logit_normal_count_scale(score: np.ndarray, n: int, floor: float, mean: np.ndarray,
                             scale: np.ndarray) -> np.ndarray:
    """log N(y | mean, scale) for y = logit of the normalised score, moved to the count scale."""
    y = np.log((score - floor) / (1 - score))
    log_jacobian = np.log(1 / (score - floor) + 1 / (1 - score))
    return norm.logpdf(y, mean, scale) + log_jacobian - np.log(n)


def log_density(score: np.ndarray, mean: xr.DataArray, scale: xr.DataArray, likelihood: str,
                outcome: str, nu: xr.DataArray | None = None) -> xr.DataArray:
    """Per-draw log probability of each observed score (count scale), model effect integrated out.

    ``mean`` and ``scale`` have dims (chain, draw, row); ``score`` has one value per row. The model
    effect is Normal(0, scale), or Student-t(nu, 0, scale) when ``nu`` (dims chain, draw) is given.
    """
    if nu is not None:
        return log_density_student_t_component(score, mean, xr.zeros_like(scale), scale, nu, likelihood, outcome)
    n, floor = scale_of(outcome).n_questions, scale_of(outcome).floor
    mean, scale = (a.transpose(*SAMPLE_DIMS, ...) for a in xr.broadcast(mean, scale))
    m, s = mean.values, scale.values
    flat_m, flat_s = m.reshape(-1, m.shape[-1]), s.reshape(-1, s.shape[-1])
    if likelihood == "binomial":
        k = np.round(np.asarray(score, dtype=float) * n)
        blocks = [binomial_marginal(k, n, floor, flat_m[i:i + CHUNK_DRAWS], flat_s[i:i + CHUNK_DRAWS])
                  for i in range(0, len(flat_m), CHUNK_DRAWS)]
        values = np.concatenate(blocks).reshape(m.shape)
    else:
        values = logit_normal_count_scale(np.asarray(score, dtype=float), n, floor, m, s)
    return mean.copy(data=values)


def log_density_student_t_component(score: np.ndarray, mean: xr.DataArray, scale: xr.DataArray,
                                    extra_scale: xr.DataArray, nu: xr.DataArray, likelihood: str,
                                    outcome: str) -> xr.DataArray:
    """``log_density`` when the logit also carries an independent Student-t(nu, 0, extra_scale) term.

    The t term is a scale mixture of normals, variance extra_scale^2 * nu / (2 t) with t ~ Gamma(nu/2, 1);
    the mixture is integrated on a grid in log t (trapezoid, weights normalised per draw), each grid
    point being a normal case of ``log_density``.
    """
    a = nu / 2
    log_t = LOG_GAMMA_GRID
    log_w = a.values[..., None] * log_t - np.exp(log_t) - gammaln(a.values)[..., None]
    log_w = log_w - logsumexp(log_w, axis=-1, keepdims=True)
    terms = [log_density(score, mean, np.sqrt(scale**2 + extra_scale**2 * nu / (2 * np.exp(lt))), likelihood, outcome)
             + xr.DataArray(log_w[..., j], dims=nu.dims, coords=nu.coords) for j, lt in enumerate(log_t)]
    stacked = xr.concat(terms, dim="mixture_node")
    return stacked.reduce(logsumexp, dim="mixture_node").transpose(*SAMPLE_DIMS, ...)


def log_predictive_density(log_dens: xr.DataArray) -> xr.DataArray:
    """Log of the posterior-mean density per row: log (1/S) sum_s p(y | draw s)."""
    stacked = log_dens.stack(sample=SAMPLE_DIMS)
    values = logsumexp(stacked.values, axis=stacked.get_axis_num("sample")) - np.log(stacked.sizes["sample"])
    return stacked.isel(sample=0, drop=True).copy(data=values)
