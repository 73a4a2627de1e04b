"""The family structure: base-model families nested in their base developers, fine-tuners crossed with them,
fine-tunes that may be damaged, failed evaluations, and model effects integrated out of the likelihood.

For model i of family F (base developer B(F), compute x_F, period t_F), fine-tuned by developer d(i):

    y_i  = logit of the normalised score; s_i its binomial sampling SD; a_i = d y / d accuracy at the score
    g_F  ~ Normal(level[B(F)] + beta x_F + tau[t_F], sigma_family)           the family's level
    mu_i = g_F + beta_within (x_i - x_F) + [i is a fine-tune] v[d(i)]        v ~ Normal(0, sigma_finetuner)
    V_i  = s_i^2 + (tau_accuracy a_i)^2                                       sampling and evaluation noise
    y_i  ~ Normal(mu_i, sqrt(V_i))                                            a family's root
    y_i  ~ (1 - pi) [(1 - w) Normal(mu_i, sqrt(V_i)) + w Normal(mu_i - shift, sqrt(V_i + sigma_damaged^2))]
           + pi Normal(m_fail, sqrt(sd_fail^2 + s_i^2))                       a fine-tune or merge

The level is the developer's (``build._developers``, with the Mundlak term). beta is the gain from
compute between pretraining runs; a model's compute apart from its family's (pruned, distilled,
upscaled or continued-pretraining models, and token counts recorded in other ways) gets its own slope
beta_within, so that such accounting cannot drag beta: within families the gain from recorded compute
is close to none. A family with one model,
and a fine-tuner with one fine-tune, have their effect integrated out (its variance added to V_i):
leaving it in would give the sampler an effect pinned by one score that a failure can free. The
family's level is centred at its own compute and period, so that beta and the families' levels are
nearly uncorrelated in the posterior. The likelihood is a normal approximation (delta method, on the
logit scale) of binomial question sampling plus evaluation noise on the accuracy scale: it integrates
every model's own effect, so PyMC's pointwise log-likelihood is that of a new model of the same family.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_sauce.model.design import Design
from bayes_sauce.model.effects import pooled, prior_rv
from bayes_sauce.spec.schema import Spec

# Fine-tuners with at least this many fine-tunes have their effect sampled centred.
CENTRED_MIN_FINETUNES = 5
LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Observation:
    """The mixture's parts per model (the likelihood's parameters, also its generative ones)."""

    mu: pt.TensorVariable
    var: pt.TensorVariable  # core component's variance
    shift: pt.TensorVariable  # the damaged component's mean shift (0 without the mixture)
    var_damaged: pt.TensorVariable
    damaged_share: pt.TensorVariable
    failure_rate: pt.TensorVariable  # the share of fine-tunes whose evaluation failed
    failure_share: pt.TensorVariable  # per model: failure_rate for fine-tunes, 0 for roots
    failure_mean: float
    failure_var: pt.TensorVariable
    finetune: np.ndarray


def _normal_logp(y, mean, var):
    return -0.5 * (LOG_2PI + pt.log(var) + (y - mean) ** 2 / var)


def component_logps(y, mu, var, shift, var_damaged, damaged_share, failure_share, failure_mean, failure_var):
    """log (weight x density) of the core, damaged and failure components, stacked on the first axis."""
    keep = pt.log1p(-failure_share)
    return pt.stack([
        keep + pt.log1p(-damaged_share) + _normal_logp(y, mu, var),
        keep + pt.log(damaged_share) + _normal_logp(y, mu - shift, var_damaged),
        pt.log(failure_share) + _normal_logp(y, failure_mean, failure_var),
    ])


def mixture_logp(y, mu, var, shift, var_damaged, damaged_share, failure_share, failure_mean, failure_var, finetune):
    """Pointwise log density: a root's core component alone, a fine-tune's three-component mixture."""
    parts = component_logps(y, mu, var, shift, var_damaged, damaged_share, pt.maximum(failure_share, 1e-300),
                            failure_mean, failure_var)
    return pt.where(pt.eq(finetune, 1), pm.math.logsumexp(parts, axis=0), _normal_logp(y, mu, var))


def mixture_draw(mu, var, shift, var_damaged, damaged_share, failure_share, failure_mean, failure_var, finetune):
    """The same mixture as a generative graph: a component per model (core, damaged, failure), then a normal
    draw from it. Plain random variables, so draws vectorise over posterior draws (``evaluate``)."""
    weights = pt.stack([(1 - failure_share) * (1 - damaged_share * finetune), (1 - failure_share) * damaged_share
                        * finetune, failure_share * pt.ones_like(mu)], axis=-1)
    component = pm.Categorical.dist(p=weights)
    means = pt.stack([mu, mu - shift, pt.ones_like(mu) * failure_mean], axis=-1)
    sds = pt.sqrt(pt.stack([var, var_damaged, failure_var], axis=-1))
    pick = component[..., None]
    return pm.Normal.dist(pt.take_along_axis(means, pick, axis=-1)[..., 0],
                          pt.take_along_axis(sds, pick, axis=-1)[..., 0])


def mixture_dist(*params_and_size):
    """``mixture_draw`` with the ``size`` CustomDist passes (the model's observed shape)."""
    return mixture_draw(*params_and_size[:-1])


def _fine_tuners(spec: Spec, design: Design) -> tuple[pt.TensorVariable, pt.TensorVariable, np.ndarray]:
    """Fine-tuner effects (0 where integrated), their scale, and which fine-tunes carry an integrated one."""
    fam = design.families
    counts = fam.finetunes_per_finetuner
    sigma = prior_rv("sigma_finetuner", spec.priors.sigma_finetuner)
    sampled = np.flatnonzero(counts >= 2)
    effect = pt.zeros(len(counts))
    if len(sampled):
        draws = pooled("finetuner_effect_raw", pt.zeros(len(sampled)), sigma, counts[sampled] >= CENTRED_MIN_FINETUNES)
        effect = pt.set_subtensor(effect[sampled], draws)
    integrated = fam.is_finetune & (counts[np.maximum(fam.finetuner_idx, 0)] == 1)
    return effect, sigma, integrated


def family_observation(spec: Spec, design: Design, beta, level, period_raw) -> Observation:
    """The family levels, fine-tuner effects and mixture parts; records family_effect and finetuner_effect."""
    priors, fam, opts = spec.priors, design.families, spec.model
    size = fam.models_per_family
    expected = level[fam.base_of_family] + beta * fam.x_c + period_raw[fam.period_idx]
    sigma_family = prior_rv("sigma_family", priors.sigma_family)
    multi = np.flatnonzero(size >= 2)
    family_level = expected
    if len(multi):  # centred: a family of two or more models is pinned by them
        family_level = pt.set_subtensor(family_level[multi], pooled("family_level", expected[multi], sigma_family,
                                                                    np.ones(len(multi), bool)))
    pm.Deterministic("family_effect", family_level - expected, dims="family")
    tuner, sigma_tuner, single_tuner = _fine_tuners(spec, design)
    pm.Deterministic("finetuner_effect", tuner, dims="finetuner")
    finetune = fam.is_finetune
    within = prior_rv("beta_within", priors.beta_within)
    mu = (family_level[fam.family_idx] + within * (design.x_c - fam.x_c[fam.family_idx])
          + pt.where(finetune, tuner[np.maximum(fam.finetuner_idx, 0)], 0.0))
    var = pt.as_tensor(fam.logit_sd**2)
    if opts.accuracy_noise:
        var = var + (prior_rv("accuracy_noise", priors.accuracy_noise) * fam.logit_per_accuracy) ** 2
    if opts.closed_models == "extra_noise":
        var = var + design.is_closed * prior_rv("sigma_closed", priors.sigma_closed) ** 2
    var = var + np.asarray(size[fam.family_idx] == 1, float) * sigma_family**2 + single_tuner * sigma_tuner**2
    if opts.finetunes == "mixture":
        share, shift = prior_rv("damaged_share", priors.damaged_share), prior_rv("damaged_shift", priors.damaged_shift)
        var_damaged = var + prior_rv("sigma_damaged", priors.sigma_damaged) ** 2
    else:
        share, shift, var_damaged = pt.as_tensor(1e-12), pt.as_tensor(0.0), var
    failure = (pm.math.invlogit(prior_rv("failure_rate", priors.failure_rate)) if opts.failures == "mixture"
               else pt.as_tensor(0.0))
    return Observation(mu=mu, var=var, shift=shift, var_damaged=var_damaged, damaged_share=share,
                       failure_rate=failure, failure_share=failure * finetune, failure_mean=opts.failure_logit_mean,
                       failure_var=opts.failure_logit_sd**2 + fam.logit_sd**2, finetune=finetune)


def observe(obs: Observation, y: np.ndarray) -> pt.TensorVariable:
    """The likelihood of the observed logits, as one observed variable ``y`` (pointwise log-likelihood per model).

    The observed values are a data container, so a compiled model can be given other scores (simulations).
    """
    params = (obs.mu, obs.var, obs.shift, obs.var_damaged, obs.damaged_share, obs.failure_share, obs.failure_mean,
              obs.failure_var, obs.finetune.astype(np.int64))
    observed = pm.Data("y_observed", y, dims="model")
    return pm.CustomDist("y", *params, logp=mixture_logp, dist=mixture_dist, observed=observed, dims="model")


def failure_probability(obs: Observation, y: np.ndarray) -> pt.TensorVariable:
    """P(failed evaluation | score, parameters) per model: the failure component's share of the density."""
    parts = component_logps(y, obs.mu, obs.var, obs.shift, obs.var_damaged, obs.damaged_share,
                            pt.maximum(obs.failure_share, 1e-300), obs.failure_mean, obs.failure_var)
    return pt.where(obs.finetune, pt.exp(parts[2] - pm.math.logsumexp(parts, axis=0)), 0.0)


def family_component(obs: Observation, design: Design) -> pt.TensorVariable:
    """Each model's family component: its family's effect, or, for a family of one whose effect is integrated
    out, that effect's expectation given the model's score (the normal share sigma_family^2 / V of the gap)."""
    fam = design.families
    model = pm.modelcontext(None)
    effect = model["family_effect"][fam.family_idx]
    alone = fam.models_per_family[fam.family_idx] == 1
    gap = fam.logit - obs.mu
    return pt.where(alone, model["sigma_family"] ** 2 / obs.var * gap, effect)


def _noise_var(spec: Spec, design: Design, accuracy, is_closed) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Binomial sampling variance of a logit at an accuracy, and that plus evaluation noise (the core variance)."""
    scale, model = design.scale, pm.modelcontext(None)
    u = (accuracy - scale.floor) / (1 - scale.floor)
    per_accuracy = 1 / ((1 - scale.floor) * u * (1 - u))
    sampling = accuracy * (1 - accuracy) / scale.n_questions * per_accuracy**2
    var = sampling
    if spec.model.accuracy_noise:
        var = var + (model["accuracy_noise"] * per_accuracy) ** 2
    if spec.model.closed_models == "extra_noise":
        var = var + is_closed * model["sigma_closed"] ** 2
    return sampling, var


def _mixture_params(spec: Spec, obs: Observation, mu, sampling, var, finetune: np.ndarray) -> tuple:
    """The mixture's parameters for rows with these means and variances (``mixture_logp``'s order)."""
    damaged = var + (pm.modelcontext(None)["sigma_damaged"] ** 2 if spec.model.finetunes == "mixture" else 0.0)
    failure = obs.failure_rate * finetune
    return (mu, var, obs.shift, damaged, obs.damaged_share, failure, obs.failure_mean,
            spec.model.failure_logit_sd**2 + sampling, finetune.astype(np.int64))


def new_family_rows(spec: Spec, design: Design, new, beta, level, period, obs: Observation) -> None:
    """Predictive variables of new rows in the family structure (names as ``build._new_rows``'): a fitted
    family keeps its level (a family of one its member's, drawn from its conditional given that score), a
    new family draws one around its developer's line; a fine-tune adds its fine-tuner's effect (a fresh one
    for a fine-tuner without a sampled effect) and a draw of the fine-tune mixture; new_logp is the log
    density of held-out rows' observed logits (noise at the observed score, as in the fit)."""
    model, fam, scale = pm.modelcontext(None), design.families, design.scale
    model.add_coord("new_model", new.names)
    x_c = pm.Data("new_log10_flops_c", new.x_c, dims="new_model")
    is_closed = pm.Data("new_is_closed", new.is_closed.astype(np.float64), dims="new_model")
    n, known = new.n, new.family_idx >= 0
    f = np.maximum(new.family_idx, 0)
    sigma_family = model["sigma_family"]
    # A family of one: its effect given its member's score is normal, mean family_component, variance
    # sigma_family^2 (1 - sigma_family^2 / V) of that member (the first model of the family).
    member = np.array([int(np.flatnonzero(fam.family_idx == i)[0]) for i in f], dtype=np.int64)
    alone = known & (fam.models_per_family[f] == 1)
    conditional_sd = sigma_family * pt.sqrt(pt.clip(1 - sigma_family**2 / obs.var[member], 0.0, 1.0))
    fitted_level = model["family_effect"][f] + level[fam.base_of_family[f]] + beta * fam.x_c[f] + period[
        new.period_idx]
    singleton_level = fitted_level + family_component(obs, design)[member] + conditional_sd * pm.Normal(
        "new_family_conditional_z", 0.0, 1.0, shape=n)
    fresh_level = (level[new.developer_idx] + beta * x_c + period[new.period_idx]
                   + sigma_family * pm.Normal("new_family_z", 0.0, 1.0, shape=n))
    family_level = pt.where(alone, singleton_level, pt.where(known, fitted_level, fresh_level))
    family_x = np.where(known, fam.x_c[f], new.x_c)
    tuner = pt.where(new.finetuner_idx >= 0, model["finetuner_effect"][np.maximum(new.finetuner_idx, 0)],
                     model["sigma_finetuner"] * pm.Normal("new_finetuner_z", 0.0, 1.0, shape=n))
    mu = pm.Deterministic("new_mu", family_level + model["beta_within"] * (x_c - family_x) + new.finetune * tuner,
                          dims="new_model")
    sampling, var = _noise_var(spec, design, scale.accuracy(mu, pt.sigmoid), is_closed)
    pm.Deterministic("new_scale", pt.sqrt(var), dims="new_model")
    draw = mixture_draw(*_mixture_params(spec, obs, mu, sampling, var, new.finetune))
    logit = pm.Deterministic("new_eta", pt.where(new.own >= 0, fam.logit[np.maximum(new.own, 0)], draw),
                             dims="new_model")
    pm.Deterministic("new_effect", logit - mu, dims="new_model")
    pm.Deterministic("new_accuracy", scale.accuracy(logit, pt.sigmoid), dims="new_model")
    pm.Deterministic("new_score", scale.accuracy(logit, pt.sigmoid), dims="new_model")
    if new.observed_score is not None:
        k = scale.successes(new.observed_score)
        u = np.clip((k / scale.n_questions - scale.floor) / (1 - scale.floor), 0.5 / scale.n_questions,
                    1 - 0.5 / scale.n_questions)
        observed_var = _noise_var(spec, design, scale.floor + (1 - scale.floor) * u, is_closed)
        params = _mixture_params(spec, obs, mu, *observed_var, new.finetune)
        pm.Deterministic("new_logp", mixture_logp(np.log(u) - np.log1p(-u), *params), dims="new_model")
