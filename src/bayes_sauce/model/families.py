"""The family structure: base-model families nested in their base developers, fine-tuners crossed with them,
fine-tunes that may be damaged, failed evaluations, and model effects integrated out of the likelihood.

For model i of family F (base developer B(F), compute x_F, period t_F), fine-tuned by developer d(i):

    y_i  = logit of the normalised score; s_i its binomial sampling SD; a_i = d y / d accuracy at the score
    g_F  ~ Normal(level[B(F)] + beta x_F + tau[t_F], sigma_family)           the family's level (or skew-normal
                                                with that mean, scale sigma_family, shape family_skew)
    mu_i = g_F + beta_within (x_i - x_F) + [i is a fine-tune] v[d(i)]        v ~ Normal(0, sigma_finetuner)
    core: the normalised accuracy ~ Normal(invlogit(mu_i), sqrt(p(1-p)/n + tau^2) / (1 - floor)), p the
          accuracy mu_i predicts (binomial question sampling and evaluation noise on the accuracy scale; as a
          density of y_i), censored where a score is kept half a question inside (0, 1): at or below chance, or
          perfect
    damaged: the normalised accuracy ~ Normal(invlogit(m), sqrt(n(m)^2 + (sigma_damaged q (1 - q))^2)),
          m = mu_i - shift, q = invlogit(m), n(m) the core's noise SD at the accuracy m predicts: the core's form
          around a lower mean, sigma_damaged a logit spread moved to the accuracy scale at q (delta method)
    y_i  ~ core                                                               a family's root or a lone fine-tune
                                                 (failures = "everywhere": (1 - pi) core + pi Normal(m_fail, ...))
    y_i  ~ (1 - pi) [(1 - w) core + w damaged] + pi Normal(m_fail, sqrt(sd_fail^2 + s(m_fail)^2))   a fine-tune or
                                                                             merge in a family of two or more
    (s(m)^2: binomial sampling as a logit variance at the accuracy m predicts; the damaged and failure components
    censored at the edges as the core is)

The level is the developer's (``build._developers``, with the Mundlak term). beta is the gain from
compute between pretraining runs; a model's compute apart from its family's (pruned, distilled,
upscaled or continued-pretraining models, and token counts recorded in other ways) gets its own slope
beta_within, so that such accounting cannot drag beta: within families the gain from recorded compute
is close to none. Every family's level is drawn around its developer's line at its own compute and period
(centred there as far as the fit's pilot finds it pinned by its models, so that beta and the families' levels
are nearly uncorrelated in the posterior); damage, and by default a failure, is only possible in a
family with other members (against which it can be told from a weak base; ``mixture_rows``), and a fine-tuner with a
single fine-tune has the average shift (its own effect cannot be told from its fine-tune's). The core
component is exact for normal noise on the accuracy scale, so near the chance floor, where a logit is
stretched, a score is as noisy as anywhere else; the likelihood integrates every model's own
deviation, so PyMC's pointwise log-likelihood is that of a new model of the same family. Every component's noise
is taken at the accuracy the component predicts, never at the observed score, so that each is a density of the
score (integrating to one with its censored edge masses) and the mixture's weights are what they say. The damaged
component is normal on the accuracy scale, as the core is, not on the logit scale: a logit-scale noise variance grows
without bound as the predicted accuracy falls (1 / (q (1 - q))^2), so a family placed far below its members could
explain them all as damaged by a component flat over the whole range (a trap chains fell into: on the shipped data,
seed 20260208, one chain of four held Mistral-7B-v0.2's family 3.5 logits below the others, its five Bielik models
30 log units less likely, R-hat 1.53); on the accuracy scale a damaged fine-tune far above its prediction is as
unlikely as under the core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.transforms import Transform

from bayes_sauce.model.design import Design
from bayes_sauce.model.effects import LocationScale, pooled, prior_rv, protocol_shift
from bayes_sauce.scale import logit_measurement_sd
from bayes_sauce.spec.schema import ModelSpec, Spec

LOG_2PI = float(np.log(2 * np.pi))
SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))
CDF_CLIP = 35.0  # |z| beyond which log Phi(z) is clipped (erfc still a normal float there)
EDGE_TOLERANCE = 1e-6  # a logit this close to an edge's is at it (rounding between numpy and the compiled graph)
# Per model, the weight of its term in the likelihood (a data container, 1 in a fit): 0 leaves a model out while the
# model keeps its shape, so one compiled model fits every fold of a cross-validation (predictive.family_folds).
LIKELIHOOD_WEIGHT = "likelihood_weight"


@dataclass(frozen=True)
class FamilySpread:
    """How families' levels spread around their developer's line: normal with SD ``scale``, or (``skew`` given:
    the skew-normal shape) skew-normal with scale ``scale`` and mean zero, so that the developer's line stays the
    families' average and a long tail of weak pretraining runs need not widen the spread above the line."""

    scale: pt.TensorVariable
    skew: pt.TensorVariable | None = None

    @classmethod
    def of_sd(cls, sd, skew=None) -> FamilySpread:
        """The spread whose families' standard deviation is ``sd`` (the skew-normal's scale follows from its shape)."""
        if skew is None:
            return cls(sd)
        return cls(sd / pt.sqrt(1 - cls(sd, skew)._mean_shift ** 2), skew)

    @property
    def _mean_shift(self) -> pt.TensorVariable:
        return self.skew / pt.sqrt(1 + self.skew**2) * SQRT_2_OVER_PI  # E[standard skew-normal]

    @property
    def sd(self) -> pt.TensorVariable:
        """The family effects' standard deviation."""
        return self.scale if self.skew is None else self.scale * pt.sqrt(1 - self._mean_shift**2)

    @property
    def _family(self) -> LocationScale:
        return LocationScale() if self.skew is None else LocationScale("skew_normal", self.skew)

    def _loc(self, centre, scale) -> pt.TensorVariable:
        """The location that gives levels mean ``centre`` at this scale."""
        return centre if self.skew is None else centre - scale * self._mean_shift

    def draw(self, name: str, centre, weights: np.ndarray) -> pt.TensorVariable:
        """Levels around ``centre`` (mean ``centre``), partially centred with ``weights`` (``effects.pooled``)."""
        return pooled(name, self._loc(centre, self.scale), self.scale, weights, self._family)

    def standard(self, name: str, size: int) -> pt.TensorVariable:
        """Standardised draws (mean 0, scale 1) of new levels: times ``scale``, a new family's own part."""
        return self._family.rv(name, self._loc(0.0, 1.0), 1.0, size)


class AsinhTransform(Transform):
    """Sampling coordinates asinh(x) for an unbounded parameter with long, nearly flat tails: a skew-normal's shape,
    which the data leave unidentified beyond a few units (the density hardly changes past |shape| 3-4, the half-normal
    limit). The posterior is the same; its tails are compressed logarithmically for the sampler."""

    name = "asinh"
    ndim_supp = 0

    def forward(self, value, *inputs):
        return pt.arcsinh(value)

    def backward(self, value, *inputs):
        return pt.sinh(value)

    def log_jac_det(self, value, *inputs):
        return pt.log(pt.cosh(value))


def family_spread(spec: Spec) -> FamilySpread:
    """The spread's random variables, from the spec's priors: ``sigma_family`` the families' standard deviation (the
    skew-normal's scale follows from it and the shape, so that the data, which pin the spread, leave the shape free
    to move without dragging the scale along a curved ridge), ``family_skew`` the shape."""
    sd = prior_rv("sigma_family", spec.priors.sigma_family)
    skew = (prior_rv("family_skew", spec.priors.family_skew, default_transform=AsinhTransform())
            if spec.model.family_dist == "skew_normal" else None)
    return FamilySpread.of_sd(sd, skew)


@dataclass(frozen=True)
class NoiseScales:
    """The noise parameters (None where the spec has none): evaluation noise on the accuracy scale, a self-reported
    score's extra spread (``closed_models = "extra_noise"``) and a damaged fine-tune's extra logit spread."""

    accuracy_noise: pt.TensorVariable | None
    sigma_closed: pt.TensorVariable | None
    sigma_damaged: pt.TensorVariable | None


@dataclass(frozen=True)
class Observation:
    """The mixture's parts per model (the likelihood's parameters, also its generative ones)."""

    mu: pt.TensorVariable
    family_level: pt.TensorVariable  # per family: its level as the likelihood uses it
    core_sd: pt.TensorVariable  # the core component's SD on the normalised-accuracy scale
    shift: pt.TensorVariable  # the damaged component's mean shift (0 without the mixture)
    damaged_sd: pt.TensorVariable  # the damaged component's SD on the normalised-accuracy scale
    damaged_share: pt.TensorVariable
    failure_rate: pt.TensorVariable  # the share of evaluations that failed, where a failure is possible
    failure_share: pt.TensorVariable  # per model: failure_rate where a failure is possible (mixture_rows), else 0
    failure_mean: float
    failure_var: pt.TensorVariable
    compared: np.ndarray  # fine-tunes in a family with other members: the ones damage applies to (mixture_rows)
    edge: float  # observed normalised scores are kept this far inside (0, 1): censored there
    scales: NoiseScales

    def params(self) -> tuple:
        """The mixture's parameters in ``mixture_logp``'s order."""
        return (self.mu, self.core_sd, self.shift, self.damaged_sd, self.damaged_share, self.failure_share,
                self.failure_mean, self.failure_var, self.compared.astype(np.int64), self.edge)


def _normal_logp(y, mean, var):
    return -0.5 * (LOG_2PI + pt.log(var) + (y - mean) ** 2 / var)


def _between(x, low, high):
    """``pt.clip`` through maximum and minimum, which NumPy runs whole-array; the Python-linked mode ``evaluate``
    compiles in runs clip (and ``zeros_like``) one element at a time."""
    return pt.minimum(pt.maximum(x, low), high)


def _log_normal_cdf(z):
    """log Phi(z) through erfc, which compiles to native code (PyMC's ``normal_lcdf`` uses erfcx, which the numba
    backend runs in object mode: twice as slow a logp); z is clipped at 35, where erfc is still a normal float."""
    return pt.log(0.5 * pt.erfc(-_between(z, -CDF_CLIP, CDF_CLIP) / np.sqrt(2.0)))


def _lower_edge(edge):
    """The logit of a normalised score ``edge`` inside 0 (the upper edge is its negative)."""
    return pt.log(edge) - pt.log1p(-edge)


def _censored(y, edge, logp, z_low, z_high):
    """``logp`` inside the edges; at an edge (the logit -L or L of a normalised score ``edge`` inside (0, 1)) the
    log mass beyond it, log Phi(z_low) below the lower edge and log Phi(z_high) above the upper one (one erfc per
    model)."""
    low = _lower_edge(edge)
    at_low, at_high = y <= low + EDGE_TOLERANCE, y >= -low - EDGE_TOLERANCE
    return pt.where(at_low | at_high, _log_normal_cdf(pt.where(at_low, z_low, z_high)), logp)


def _accuracy_normal_logp(y, mu, sd, edge):
    """Density of the logit y when the normalised accuracy is normal around invlogit(mu) with SD ``sd`` (Jacobian
    included), censored at the edges: the core's form, and the damaged component's around its lower mean."""
    u, centre = pt.sigmoid(y), pt.sigmoid(mu)
    inside = _normal_logp(u, centre, sd**2) + pt.log(u) + pt.log1p(-u)
    return _censored(y, edge, inside, (edge - centre) / sd, (edge - (1 - centre)) / sd)


def _logit_normal_logp(y, mean, var, edge):
    """Density of the logit y ~ Normal(mean, var), censored at the edges as the core is."""
    low, sd = _lower_edge(edge), pt.sqrt(var)
    return _censored(y, edge, _normal_logp(y, mean, var), (low - mean) / sd, (low + mean) / sd)


def mixture_components(y, mu, core_sd, shift, damaged_sd, damaged_share, failure_share, failure_mean, failure_var,
                       compared, edge):
    """log (weight x density) of each component where it applies, -inf where it does not (``mixture_logp``'s
    parameters): the damaged component for a compared fine-tune (``compared`` 1) only, the failure component where
    ``failure_share`` is positive (``mixture_rows`` says where), the core with the weight the others leave."""
    core = _accuracy_normal_logp(y, mu, core_sd, edge)
    damaged = _accuracy_normal_logp(y, mu - shift, damaged_sd, edge)
    failure = _logit_normal_logp(y, failure_mean, failure_var, edge)
    is_compared, can_fail = pt.eq(compared, 1), pt.gt(failure_share, 0)
    keep = pt.log1p(-failure_share)
    return pt.stack([
        keep + pt.log1p(-pt.where(is_compared, damaged_share, 0.0)) + core,
        pt.where(is_compared, keep + pt.log(damaged_share) + damaged, -np.inf),
        pt.where(can_fail, pt.log(pt.maximum(failure_share, 1e-300)) + failure, -np.inf),
    ])


def mixture_logp(y, mu, core_sd, shift, damaged_sd, damaged_share, failure_share, failure_mean, failure_var,
                 compared, edge):
    """Pointwise log density: the mixture of the components that apply to each model (``mixture_components``)."""
    return pm.math.logsumexp(mixture_components(y, mu, core_sd, shift, damaged_sd, damaged_share, failure_share,
                                                failure_mean, failure_var, compared, edge), axis=0)


def mixture_draw(mu, core_sd, shift, damaged_sd, damaged_share, failure_share, failure_mean, failure_var, compared,
                 edge):
    """The same mixture as a generative graph: a component per model (core, damaged, failure), then a draw
    from it. The core and the damaged component are drawn on the normalised scale, the failure on the logit scale,
    as in the likelihood; all censored at the edges, as observed scores are. Plain random variables, so draws
    vectorise over posterior draws (``evaluate``)."""
    # The component from one uniform against the cumulative weights: PyMC's Categorical draws through a
    # per-element Python loop (20 s for 6,000 draws x 809 models); this is the same distribution.
    u = pm.Uniform.dist(pt.zeros(mu.shape), 1)
    core, damaged = (_accuracy_draw(centre, sd, edge) for centre, sd in ((mu, core_sd), (mu - shift, damaged_sd)))
    low = _lower_edge(edge)
    failure = _between(pm.Normal.dist(failure_mean, pt.sqrt(failure_var)), low, -low)
    core_weight = (1 - failure_share) * (1 - damaged_share * compared)
    return pt.switch(u < core_weight, core, pt.switch(u < 1 - failure_share, damaged, failure))


def _accuracy_draw(mu, sd, edge):
    """A logit whose normalised accuracy is normal around invlogit(mu) with SD ``sd``, kept inside the edges."""
    u = _between(pm.Normal.dist(pt.sigmoid(mu), sd), edge, 1 - edge)
    return pt.log(u) - pt.log1p(-u)


def mixture_dist(*params_and_size):
    """``mixture_draw`` with the ``size`` CustomDist passes (the model's observed shape)."""
    return mixture_draw(*params_and_size[:-1])


def mixture_rows(options: ModelSpec, finetune: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which models each component beside the core applies to (the fit's and new rows' one rule), from the model
    options and whether each is a fine-tune with other members in its family: (``compared``, ``can_fail``).

    Damage (``model.finetunes = "mixture"``) only to a compared fine-tune, a fine-tune in a family with other members:
    it is told apart from a weak base only against them (in a family of one the family's level absorbs it); with
    ``"normal"`` fine-tunes to none, so that no component is left with a negligible weight. A failed
    evaluation (``model.failures``): ``"mixture"`` for a compared fine-tune; ``"everywhere"`` for every model, roots and
    lone fine-tunes too (a score near chance is then a failed evaluation or a weak family, weighed by the failure
    rate's prior and the failure component's location, rather than always a weak family); ``"none"`` for none."""
    told_apart = np.asarray(finetune, dtype=bool) & np.asarray(others, dtype=bool)
    compared = told_apart if options.finetunes == "mixture" else np.zeros_like(told_apart)
    can_fail = {"mixture": told_apart, "everywhere": np.ones_like(told_apart),
                "none": np.zeros_like(told_apart)}[options.failures]
    return compared, can_fail


def _fine_tuners(spec: Spec, design: Design) -> pt.TensorVariable:
    """Fine-tuner effects: sampled for a fine-tuner of two or more fine-tunes; one with a single fine-tune has
    none (its own effect cannot be told from its fine-tune's deviation, and is a few hundredths of a logit).

    No average shift of fine-tunes from their base: measured at zero (-0.00, 90% -0.03..0.03), and beside
    the damaged component's shift it lets the two components trade places."""
    fam = design.families
    counts = fam.finetunes_per_finetuner
    sigma = prior_rv("sigma_finetuner", spec.priors.sigma_finetuner)
    sampled = np.flatnonzero(counts >= 2)
    effect = pt.zeros(len(counts))
    if len(sampled):
        draws = pooled("finetuner_effect", pt.zeros(len(sampled)), sigma,
                       design.centring_weights("finetuner_effect", len(sampled)))
        effect = pt.set_subtensor(effect[sampled], draws)
    return effect


def family_observation(spec: Spec, design: Design, beta, developers, period_raw, protocol) -> Observation:
    """The family levels, fine-tuner effects and mixture parts; records family_effect and finetuner_effect. A
    self-reported score is shifted by ``protocol`` (per model; 0 without ``model.protocol_offset``).

    A family whose developer based no other takes its level from that developer's combined level
    (``build._combined_levels``); its reported effect is the combined level's family share.
    """
    priors, fam, opts = spec.priors, design.families, spec.model
    size = fam.models_per_family
    level = developers.level
    expected = (level[fam.base_of_family] + developers.drift(fam.base_of_family, fam.period_idx) + beta * fam.x_c
                + period_raw[fam.period_idx])
    alone = np.bincount(fam.base_of_family, minlength=len(design.coords["developer"]))[fam.base_of_family] == 1
    family_level = expected
    shared = np.flatnonzero(~alone)
    if len(shared):
        family_level = pt.set_subtensor(family_level[shared], developers.families.draw(
            "family_level", expected[shared], design.centring_weights("family_level", len(shared))))
    own_part = (level - developers.own)[fam.base_of_family]
    pm.Deterministic("family_effect", pt.where(alone, own_part, family_level - expected), dims="family")
    tuner = _fine_tuners(spec, design)
    pm.Deterministic("finetuner_effect", tuner, dims="finetuner")
    finetune = fam.is_finetune
    within = prior_rv("beta_within", priors.beta_within)
    mu = (family_level[fam.family_idx] + within * (design.x_c - fam.x_c[fam.family_idx])
          + pt.where(finetune, tuner[np.maximum(fam.finetuner_idx, 0)], 0.0) + protocol)
    accuracy_noise = prior_rv("accuracy_noise", priors.accuracy_noise) if opts.accuracy_noise else None
    sigma_closed = prior_rv("sigma_closed", priors.sigma_closed) if opts.closed_models == "extra_noise" else None
    if opts.finetunes == "mixture":
        share, shift = prior_rv("damaged_share", priors.damaged_share), prior_rv("damaged_shift", priors.damaged_shift)
        scales = NoiseScales(accuracy_noise, sigma_closed, prior_rv("sigma_damaged", priors.sigma_damaged))
    else:
        share, shift = pt.as_tensor(0.0), pt.as_tensor(0.0)  # no row is damaged (mixture_rows)
        scales = NoiseScales(accuracy_noise, sigma_closed, None)
    failure = (pm.math.invlogit(prior_rv("failure_rate", priors.failure_rate)) if opts.failures != "none"
               else pt.as_tensor(0.0))
    core_sd, damaged_sd, failure_var = component_noise(spec, design, mu, shift, design.is_closed, scales)
    compared, can_fail = mixture_rows(opts, finetune, size[fam.family_idx] >= 2)
    return Observation(mu=mu, family_level=family_level, core_sd=core_sd, shift=shift, damaged_sd=damaged_sd,
                       damaged_share=share, failure_rate=failure, failure_share=failure * can_fail,
                       failure_mean=opts.failure_logit_mean, failure_var=failure_var, compared=compared,
                       edge=design.scale.edge, scales=scales)


def observe(obs: Observation, y: np.ndarray) -> pt.TensorVariable:
    """The likelihood of the observed logits, as one observed variable ``y`` (pointwise log-likelihood per model).

    The observed values are a data container, so a compiled model can be given other scores (simulations); so is
    each model's weight in the likelihood (``LIKELIHOOD_WEIGHT``).
    """
    observed = pm.Data("y_observed", y, dims="model")
    weight = pm.Data(LIKELIHOOD_WEIGHT, np.ones(len(y)), dims="model")

    def weighted_logp(value, *params):
        return weight * mixture_logp(value, *params)

    return pm.CustomDist("y", *obs.params(), logp=weighted_logp, dist=mixture_dist, observed=observed, dims="model")


def failure_probability(obs: Observation, y: np.ndarray) -> pt.TensorVariable:
    """P(failed evaluation | score, parameters) per model: the failure component's share of the density."""
    parts = mixture_components(y, *obs.params())
    return pt.exp(parts[2] - pm.math.logsumexp(parts, axis=0))


def noise(design: Design, logit, is_closed, accuracy_noise, sigma_closed):
    """At the accuracy a logit predicts: the SD on the normalised-accuracy scale of binomial sampling and evaluation
    noise, plus a self-reported score's extra spread moved there."""
    scale = design.scale
    u = pt.sigmoid(logit)
    accuracy = scale.accuracy(u, lambda x: x)
    var_u = accuracy * (1 - accuracy) / scale.n_questions / (1 - scale.floor) ** 2
    if accuracy_noise is not None:
        var_u = var_u + (accuracy_noise / (1 - scale.floor)) ** 2
    if sigma_closed is not None:
        var_u = var_u + is_closed * (sigma_closed * u * (1 - u)) ** 2
    return pt.sqrt(var_u)


def component_noise(spec: Spec, design: Design, mu, shift, is_closed, scales: NoiseScales) -> tuple:
    """Each component's noise at the accuracy it predicts (never at the observed score, so that each is a density of
    the score): the core's SD on the normalised scale at mu; the damaged component's there at mu - shift, with
    sigma_damaged (a logit spread) moved to that scale at the accuracy it predicts; and the failure component's logit
    variance, failure_logit_sd^2 plus binomial sampling at its mean (per model, so that draws take the models'
    shape)."""
    core_sd = noise(design, mu, is_closed, scales.accuracy_noise, scales.sigma_closed)
    damaged_sd = noise(design, mu - shift, is_closed, scales.accuracy_noise, scales.sigma_closed)
    if scales.sigma_damaged is not None:
        q = pt.sigmoid(mu - shift)
        damaged_sd = pt.sqrt(damaged_sd**2 + (scales.sigma_damaged * q * (1 - q)) ** 2)
    mean, scale = spec.model.failure_logit_mean, design.scale
    sampling = float(logit_measurement_sd(scale.accuracy(mean), scale)) ** 2
    return core_sd, damaged_sd, pt.broadcast_to(pt.as_tensor(spec.model.failure_logit_sd**2 + sampling), mu.shape)


def _new_params(spec: Spec, design: Design, obs: Observation, mu, is_closed, compared, can_fail) -> tuple:
    """The mixture's parameters for new rows (their noise at the accuracy each component predicts, as in the fit)."""
    core_sd, damaged_sd, failure_var = component_noise(spec, design, mu, obs.shift, is_closed, obs.scales)
    return (mu, core_sd, obs.shift, damaged_sd, obs.damaged_share, obs.failure_rate * can_fail, obs.failure_mean,
            failure_var, compared.astype(np.int64), obs.edge)


def new_family_rows(spec: Spec, design: Design, new, beta, level, period, obs: Observation,
                    spread: FamilySpread) -> None:
    """Predictive variables of new rows in the family structure (names as ``build._new_rows``'): a fitted
    family keeps its level, a new family draws one around its developer's line (``level``: per row, its developer's
    level in the row's period; ``new_line``: without that draw;
    rows naming the same unseen family share it); a fine-tune adds its fine-tuner's effect (a fresh one for a
    fine-tuner without a sampled effect, shared by the rows naming it) and a draw of the fine-tune mixture;
    new_logp is the log density of held-out rows' observed logits."""
    model, fam, scale = pm.modelcontext(None), design.families, design.scale
    model.add_coord("new_model", new.names)
    x_c = pm.Data("new_log10_flops_c", new.x_c, dims="new_model")
    is_closed = pm.Data("new_is_closed", new.is_closed.astype(np.float64), dims="new_model")
    n, known = new.n, new.family_idx >= 0
    f = np.maximum(new.family_idx, 0)
    fitted_level = obs.family_level[f]
    n_new = int(new.new_family_idx.max()) + 1 if n else 1
    fresh = spread.scale * spread.standard("new_family_z", n_new)[new.new_family_idx]
    family_level = pt.where(known, fitted_level, level + beta * x_c + period[new.period_idx] + fresh)
    family_x = np.where(known, fam.x_c[f], new.x_c)
    n_tuners = int(new.new_finetuner_idx.max()) + 1 if n else 1
    fresh_tuner = model["sigma_finetuner"] * pm.Normal("new_finetuner_z", 0.0, 1.0, shape=n_tuners)
    tuner = pt.where(new.finetuner_idx >= 0, model["finetuner_effect"][np.maximum(new.finetuner_idx, 0)],
                     fresh_tuner[new.new_finetuner_idx])
    mu = pm.Deterministic("new_mu", family_level + model["beta_within"] * (x_c - family_x) + new.finetune * tuner
                          + protocol_shift(spec, is_closed), dims="new_model")
    pm.Deterministic("new_line", mu - pt.where(known, 0.0, fresh), dims="new_model")  # a new family at its line
    # As in the fit (mixture_rows), a family's other members are a fitted family's models other than the row itself,
    # or the other rows of the same new family.
    rows_per_new = np.bincount(new.new_family_idx[~known], minlength=n_new)[new.new_family_idx]
    others = fam.models_per_family[f] - new.family_member
    has_others = np.where(known, others >= 1, rows_per_new >= 2)
    compared, can_fail = mixture_rows(spec.model, new.finetune, has_others)
    params = _new_params(spec, design, obs, mu, is_closed, compared, can_fail)
    pm.Deterministic("new_scale", params[1], dims="new_model")
    # The mixture's weights (mixture_draw's): the chance that the new model is a failed evaluation or damaged.
    pm.Deterministic("new_p_failure", params[5], dims="new_model")
    pm.Deterministic("new_p_damaged", (1 - params[5]) * params[4] * compared, dims="new_model")
    draw = mixture_draw(*params)
    logit = pm.Deterministic("new_eta", pt.where(new.own >= 0, fam.logit[np.maximum(new.own, 0)], draw),
                             dims="new_model")
    pm.Deterministic("new_effect", logit - mu, dims="new_model")
    pm.Deterministic("new_accuracy", scale.accuracy(logit, pt.sigmoid), dims="new_model")
    pm.Deterministic("new_score", scale.accuracy(logit, pt.sigmoid), dims="new_model")
    if new.observed_score is not None:
        u = scale.observed_normalised(scale.successes(new.observed_score))
        pm.Deterministic("new_logp", mixture_logp(np.log(u) - np.log1p(-u), *params), dims="new_model")
