"""Every component of the fine-tune mixture is a density of the score: its noise is taken at the accuracy the
component predicts, never at the observed score, so the likelihood's parameters do not move with the scores and
each component (core, damaged, failure) integrates to one with its censored edge masses, at any parameter values."""

from __future__ import annotations

import inspect

import numpy as np
import pymc as pm
import pytensor
import pytest
from pymc.model.transform.conditioning import remove_value_transforms
from scipy.special import expit, logit
from scipy.stats import norm

from bayes_sauce.model.build import build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.model.families import mixture_components, mixture_logp
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.scale import logit_measurement_sd
from bayes_sauce.spec.schema import merge, read_spec_dict, spec_from_dict

from .synthetic import family_dataset, synthetic_family_models

PARAMS = list(inspect.signature(mixture_logp).parameters)[1:]  # the likelihood's parameters, in its order


def _likelihood_parameters(overrides: dict | None = None):
    """The default model (or with ``overrides``) on synthetic families, its design, and a function from constrained
    values of the free variables to the likelihood's parameters (mixture_logp's, per model)."""
    spec = spec_from_dict(merge(read_spec_dict(DEFAULT_SPEC), overrides or {}))
    design, _ = prepare(spec, family_dataset(synthetic_family_models(developers=5, families=2, seed=4)))
    model = remove_value_transforms(build_model(spec, design))  # value variables take constrained values
    y = model["y"]
    outputs = model.replace_rvs_by_values(list(y.owner.op.dist_params(y.owner)))
    inputs = [model.rvs_to_values[rv] for rv in model.free_RVs]
    function = pytensor.function(inputs, outputs, on_unused_input="ignore")

    def at(values: dict) -> dict:
        return dict(zip(PARAMS, function(*[values[v.name] for v in inputs]), strict=True))

    return model, design, at


def _prior_point(model: pm.Model, seed: int, **fixed) -> dict:
    """A draw of every free variable from its prior (constrained), with ``fixed`` values replacing some."""
    draws = pm.draw(model.free_RVs, random_seed=seed)
    return {rv.name: np.asarray(fixed.get(rv.name, value), dtype=float) for rv, value in zip(model.free_RVs, draws)}


def test_likelihood_parameters_do_not_depend_on_the_observed_scores():
    """The noise is a function of the parameters only: other observed scores give the same parameters."""
    model, design, at = _likelihood_parameters()
    point = _prior_point(model, seed=1)
    before = at(point)
    shifted = design.families.logit + np.linspace(-3.0, 3.0, len(design.families.logit))
    pm.set_data({"y_observed": shifted}, model=model)
    after = at(point)
    for name in PARAMS:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)


@pytest.mark.parametrize("alpha, seed", [(-7.0, 2), (-3.0, 3), (0.0, 4), (2.5, 5), (7.0, 6)])
def test_every_component_integrates_to_one_with_its_edge_masses(alpha, seed):
    """At prior draws of every parameter, the level alpha set from near chance to near a perfect score and the damage,
    evaluation noise and a self-reported score's extra spread (closed_models = "extra_noise") as the prior draws them,
    the core, damaged and failure components (weights divided out) and the mixture each integrate to one over the
    scores inside the edges plus the censored masses at the two edges."""
    model, design, at = _likelihood_parameters({"model": {"closed_models": "extra_noise"}})
    params = at(_prior_point(model, seed, alpha=alpha))
    edge = float(params["edge"])
    low = logit(edge)
    inside = np.linspace(low, -low, 400_001)[1:-1]
    edges = np.array([low, -low])
    compared = np.flatnonzero(params["compared"] == 1)
    picks = compared[[np.argmin(params["mu"][compared]), np.argmax(params["mu"][compared])]]
    for i in picks:
        one = {k: (v[i] if np.ndim(v) else v) for k, v in params.items()}
        pi, w = float(one["failure_share"]), float(one["damaged_share"])
        weights = np.log([(1 - pi) * (1 - w), (1 - pi) * w, pi])

        def densities(y, one=one, weights=weights):
            ones = np.ones_like(y)
            parts = mixture_components(y, one["mu"] * ones, one["core_sd"] * ones, one["shift"],
                                       one["damaged_sd"] * ones, w, pi * ones, one["failure_mean"],
                                       one["failure_var"] * ones, ones.astype(np.int64), edge).eval()
            return np.exp(parts - weights[:, None])

        inner, at_edges = densities(inside), densities(edges)
        totals = np.sum((inner[:, 1:] + inner[:, :-1]) / 2 * np.diff(inside), axis=1) + at_edges.sum(axis=1)
        np.testing.assert_allclose(totals, 1.0, atol=2e-3, err_msg=f"model {i}: mu {one['mu']:.2f}")


def test_components_take_the_noise_at_the_accuracy_they_predict():
    """The stated formulas: the core's SD (normalised scale) is binomial sampling plus evaluation noise (plus a
    self-reported score's extra spread) at invlogit(mu); the damaged component's SD (normalised scale) is the same
    noise at invlogit(mu - shift) plus sigma_damaged moved to that scale there (times q (1 - q)); the failure
    component's logit variance is failure_logit_sd^2 plus binomial sampling at its mean."""
    model, design, at = _likelihood_parameters({"model": {"closed_models": "extra_noise"}})
    point = _prior_point(model, seed=7, accuracy_noise=0.03, sigma_closed=0.4, sigma_damaged=0.6, damaged_shift=1.2)
    p = at(point)
    scale, floor = design.scale, design.scale.floor
    closed = design.is_closed.astype(float)

    def normalised_var(m):
        u = expit(m)
        a = floor + (1 - floor) * u
        return a * (1 - a) / scale.n_questions / (1 - floor) ** 2 + (0.03 / (1 - floor)) ** 2 + closed * (
            0.4 * u * (1 - u)) ** 2

    np.testing.assert_allclose(p["core_sd"], np.sqrt(normalised_var(p["mu"])), rtol=1e-10)
    damaged_mean = p["mu"] - 1.2
    u = expit(damaged_mean)
    np.testing.assert_allclose(p["damaged_sd"], np.sqrt(normalised_var(damaged_mean) + (0.6 * u * (1 - u)) ** 2),
                               rtol=1e-9)
    mean, sd = float(p["failure_mean"]), read_spec_dict(DEFAULT_SPEC)["model"]["failure_logit_sd"]
    np.testing.assert_allclose(p["failure_var"], sd**2 + logit_measurement_sd(scale.accuracy(mean), scale) ** 2,
                               rtol=1e-12)


def test_simulated_damaged_and_failed_scores_are_censored_at_the_edges():
    """The generative graph censors the damaged and failure components at the edges as the likelihood does: a failure
    centred below the lower edge piles the normal's mass beyond it at the edge."""
    from bayes_sauce.model.families import mixture_draw

    n, edge = 20_000, 0.5 / 12_032 / 0.9
    low = logit(edge)
    ones = np.ones(n)
    draws = pm.draw(mixture_draw(0.0 * ones, 0.01 * ones, 1.0, 0.3 * ones, 0.2, ones, low + 0.5, ones,
                                 np.ones(n, dtype=np.int64), edge), random_seed=3)
    assert draws.min() == pytest.approx(low)
    assert np.mean(draws <= low + 1e-9) == pytest.approx(norm.cdf(-0.5), abs=0.01)
