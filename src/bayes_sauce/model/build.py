"""The PyMC hierarchical scaling model, built once from a spec and a design, for fitting and for prediction.

eta_i = alpha + beta * (log10 C_i - c0) + period_effect[t(i)] + developer_level[d(i)] + model_effect_i
with k_i ~ Binomial(n, floor + (1 - floor) invlogit(eta_i)), or, in the logit-normal
"replication mode", logit((score_i - floor)/(1 - floor)) ~ Normal(eta_i - model_effect_i, sigma_i).

Stored in a fit (the contract read by decompositions and reports): ``alpha``, ``beta``,
``intercept``, ``period_effect`` (period), ``group_effect`` (group), ``pool_effect`` (pool),
``developer_effect`` (developer), ``model_effect`` (model) and the scales. Derived expressions
(``DERIVED``) are evaluated over the draws when needed. With ``new`` rows the same model also
carries their predictive variables (``new_*``): fitted parameters are shared, what the fit never saw
(unseen developers, pools, periods, fresh model effects) is drawn from its population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_sauce.data.schema import BASE_GROUP
from bayes_sauce.model.design import Design
from bayes_sauce.model.drift import DeveloperTime, anchor_periods, developer_time
from bayes_sauce.model.families import (
    FamilySpread,
    failure_probability,
    family_observation,
    family_spread,
    new_family_rows,
    observe,
)
from bayes_sauce.model.effects import (
    DERIVED_PREFIX,
    LocationScale,
    offsets_vs_reference,
    pooled,
    prior_rv,
    protocol_shift,
    random_walk,
)
from bayes_sauce.model.new_rows import UNSEEN_LEVEL, NewRows
from bayes_sauce.scale import COMPUTE_ORIGIN_LOG10_FLOPS
from bayes_sauce.spec.schema import Spec

# eta's additive components per model, each a derived deterministic named with this prefix
# (decompose's convention: eta = level + sum of components).
COMPONENT_PREFIX = "component__"
COMPONENTS = ("compute", "time", "developer", "family", "protocol", "model_effect")
# Deterministics evaluated on demand rather than stored with every fit.
DERIVED = ("mu", "model_scale", "developer_level", "developer_centre", "p_failure",
           *(COMPONENT_PREFIX + c for c in COMPONENTS))


def stored_deterministics(model: pm.Model) -> list[str]:
    """The deterministics a fit stores with its draws: all but the derived ones (evaluated when asked for) and what
    the pilot reads (the effects' scales and standardised variances)."""
    return [d.name for d in model.deterministics if d.name not in DERIVED and not d.name.startswith(DERIVED_PREFIX)]


@dataclass(frozen=True)
class Developers:
    """Each developer's level, the mean it is drawn around, the base level, and what new developers need."""

    level: pt.TensorVariable
    centre: pt.TensorVariable
    base: pt.TensorVariable
    label_offsets: pt.TensorVariable | None  # pool (pooled_groups) or group (fixed_groups) offsets vs the reference
    sigma: pt.TensorVariable | None
    nu: pt.TensorVariable | None
    reported: pt.TensorVariable | None = None  # the developer's own part of ``level`` (see _combined_levels)
    families: FamilySpread | None = None  # the family structure's spread of families around the developer's line
    time: DeveloperTime | None = None  # drifts from ``level`` (the reference period's) over the periods

    @property
    def own(self) -> pt.TensorVariable:
        return self.level if self.reported is None else self.reported

    def drift(self, developer_idx, period_idx) -> pt.TensorVariable | float:
        """A developer's drift in a period (0 without ``model.developer_time``)."""
        return 0.0 if self.time is None else self.time.values[developer_idx, period_idx]


def _combined_levels(spec: Spec, design: Design, sigma: pt.TensorVariable, beta, period_raw,
                     time: DeveloperTime | None):
    """The family structure: a developer that based one family only cannot be told apart from that family, so
    one combined level (developer plus family, normal with spread sqrt(sigma_developer^2 + SD_family^2)) is
    sampled for it, pinned by the family's models, and split for reporting by the two variances' shares (its posterior
    expectation given the combined level). It is sampled at its family's compute and period (the shift), as
    every family's level is, so that it and beta are nearly uncorrelated; with drifts (``model.developer_time``)
    every developer's level is sampled with its drift in its anchor period (``drift.anchor_periods``), where its
    families pin it. Returns the per-developer spread, the shift, the split and the families' spread."""
    if design.families is None:
        return sigma, 0.0, None, None
    fam = design.families
    single = design.units_per_developer == 1
    family_of = np.zeros(len(single), dtype=np.int64)
    family_of[fam.base_of_family] = np.arange(len(fam.base_of_family))  # the (only) family of a single developer
    shift = pt.where(single, beta * fam.x_c[family_of] + period_raw[fam.period_idx[family_of]], 0.0)
    if time is not None:
        shift = shift + time.values[np.arange(len(single)), anchor_periods(design, time.reference)]
    families = family_spread(spec)
    combined = pt.sqrt(sigma**2 + families.sd**2)
    spread = pt.where(single, combined, sigma)
    share = sigma**2 / combined**2

    def split(level, centre):
        return pt.where(single, centre + share * (level - centre), level)

    return spread, shift, split, families


def _developers(spec: Spec, design: Design, alpha: pt.TensorVariable, beta=None, period_raw=None,
                time: DeveloperTime | None = None) -> Developers:
    """Developer levels for the spec's structure (with drifts over the periods, ``time``, the reference period's);
    records developer_effect and group_effect vs the base level."""
    priors, structure = spec.priors, spec.model.developers
    groups, n_dev = design.coords["group"], len(design.coords["developer"])
    if structure == "fixed_groups":
        # The paper's fixed effects: one free effect per group and no developer level.
        raw = offsets_vs_reference("group_offset", priors.group, len(groups), design.reference("group"))
        base = raw[groups.index(BASE_GROUP)] if BASE_GROUP in groups else pt.zeros(())
        group = pm.Deterministic("group_effect", raw - base, dims="group")
        pm.Deterministic("developer_effect", group[design.group_of_developer], dims="developer")
        level = alpha + raw[design.group_of_developer]
        return Developers(level, level, alpha + base, raw, None, None)

    sigma = prior_rv("sigma_developer", priors.sigma_developer)
    nu = prior_rv("nu_developer", priors.nu_developer) if spec.model.developer_dist == "student_t" else None
    family = LocationScale("student_t", nu) if nu is not None else LocationScale()
    weights = design.centring_weights("developer_level", n_dev)
    # Mundlak: a developer's mean log compute (centred over developers) predicts its level, so beta is the
    # gain from compute within a developer even when developers' levels correlate with their compute.
    within = prior_rv("mundlak", priors.mundlak) * design.mean_log_compute if spec.model.mundlak else 0.0
    spread, shift, split, families = _combined_levels(spec, design, sigma, beta, period_raw, time)
    if structure == "pooled":
        # alpha is the population mean of developer levels; developer_effect is relative to it.
        centre = pt.repeat(alpha, n_dev) + within
        level = pooled("developer_level", centre + shift, spread, weights, family) - shift
        reported = level if split is None else split(level, centre)
        pm.Deterministic("developer_effect", reported - alpha, dims="developer")
        return Developers(level, centre, alpha, None, sigma, nu, reported, families, time)

    # pooled_groups: developers are pooled around the mean of their pool. A major is the only
    # developer of its paper group, so its group mean and its own deviation cannot be told apart;
    # the ten majors therefore share one pool (their effects shrink toward the majors' mean), and
    # every 'Other' developer is pooled within its size bin. Pool means are fixed effects, pinned
    # by hundreds of models each; a learnt scale over only four pools would bring back a funnel
    # (measured: divergences at small scales), not information.
    pools = design.coords["pool"]
    raw = offsets_vs_reference("pool_offset", priors.group, len(pools), design.reference("pool"))
    base = raw[pools.index(BASE_GROUP)] if BASE_GROUP in pools else pt.zeros(())
    pool_effect = pm.Deterministic("pool_effect", raw - base, dims="pool")
    centre = alpha + raw[design.pool_of_developer] + within
    level = pooled("developer_level", centre + shift, spread, weights, family) - shift
    reported = level if split is None else split(level, centre)
    developer = pm.Deterministic("developer_effect", reported - alpha - base, dims="developer")
    # The paper's 13 groups: a major's group effect is that developer's effect, an Other bin's is its pool mean.
    group_pool = np.array([pools.index(g) if g in pools else -1 for g in groups])
    group_dev = [int(np.flatnonzero(design.group_of_developer == i)[0]) if group_pool[i] < 0 else 0
                 for i in range(len(groups))]
    pm.Deterministic("group_effect", pt.where(group_pool >= 0, pool_effect[np.maximum(group_pool, 0)],
                                              developer[group_dev]), dims="group")
    return Developers(level, centre, alpha + base, raw, sigma, nu, reported, families, time)


@dataclass(frozen=True)
class Periods:
    """Period effects on the sampling scale (0 in the reference period) and the random walk's step size."""

    raw: pt.TensorVariable
    sigma_step: pt.TensorVariable | None
    reference: int  # the period whose effect is 0 (where alpha is the level)


def _periods(spec: Spec, design: Design) -> Periods:
    """Shared progress on the sampling scale: 0 in the most populous period, where alpha is the level.

    Anchoring the level in the period with most models (not the first, which holds few) keeps
    alpha and the period effects nearly uncorrelated. The reported ``period_effect`` is relative
    to the first period, as in the paper, and ``intercept`` is the level that goes with it.
    """
    n = len(design.coords["period"])
    units = design.families.period_idx if design.families else design.period_idx  # what pins each period
    ref = int(np.bincount(units, minlength=n).argmax())
    if n == 1:
        return Periods(pt.zeros(1), None, ref)
    if spec.data.time == "cohort":
        return Periods(offsets_vs_reference("period_offset", spec.priors.period, n, ref), None, ref)
    sigma_step = prior_rv("sigma_period_step", spec.priors.sigma_period_step)
    steps = pooled("period_step", pt.zeros(n - 1), sigma_step, design.centring_weights("period_step", n - 1))
    return Periods(random_walk(steps, ref), sigma_step, ref)


@dataclass(frozen=True)
class EffectScale:
    """The scale of model-specific effects: sigma_model, plus sigma_closed for self-reported scores."""

    sigma_model: pt.TensorVariable
    sigma_closed: pt.TensorVariable | None

    def of(self, is_closed: pt.TensorVariable) -> pt.TensorVariable:
        if self.sigma_closed is None:
            return self.sigma_model * pt.ones_like(is_closed)
        return pt.sqrt(self.sigma_model**2 + is_closed * self.sigma_closed**2)


def _effect_dist(name: str, mean, scale, nu, dims: str | None, **kwargs) -> pt.TensorVariable:
    """Model-specific effects around ``mean``: normal, or Student-t for a heavy tail.

    Predictive draws (``dims=None``) take their shape from their parameters, so that they can be
    vectorised over posterior draws (``evaluate``).
    """
    if nu is not None:
        return pm.StudentT(name, nu=nu, mu=mean, sigma=scale, dims=dims, **kwargs)
    return pm.Normal(name, mean, scale, dims=dims, **kwargs)


def build_model(spec: Spec, design: Design, new: NewRows | None = None) -> pm.Model:
    """The PyMC model for one spec; with ``new`` rows, also their predictive variables (``new_*``)."""
    priors, scale = spec.priors, design.scale
    with pm.Model(coords=design.coords) as model:
        x_c = pm.Data("log10_flops_c", design.x_c, dims="model")
        period_idx = pm.Data("period_idx", design.period_idx, dims="model")
        developer_idx = pm.Data("developer_idx", design.developer_idx, dims="model")
        is_closed = pm.Data("is_closed", design.is_closed.astype(np.float64), dims="model")
        # Not used by the likelihood; stored so decompositions can map developers to the paper's groups.
        pm.Data("group_of_developer", design.group_of_developer, dims="developer")

        # alpha: the level at c0 in the best-populated period for the best-populated group (or the
        # average developer without groups); compute is centred so alpha and beta are nearly
        # uncorrelated. The reported effects are re-expressed against the paper's bases below.
        alpha = prior_rv("alpha", priors.alpha)
        beta = prior_rv("beta", priors.beta)
        periods = _periods(spec, design)
        pm.Deterministic("period_effect", periods.raw - periods.raw[0], dims="period")
        developers = _developers(spec, design, alpha, beta, periods.raw, developer_time(spec, design, periods.reference))
        pm.Deterministic("developer_level", developers.level, dims="developer")
        pm.Deterministic("developer_centre", developers.centre, dims="developer")
        # The level for the base group (Other-Small; the average developer without groups) in the
        # first period at c0: with it, eta = intercept + beta*x_c + period_effect + developer_effect + model_effect.
        pm.Deterministic("intercept", developers.base + periods.raw[0])
        mu = pm.Deterministic("mu", developers.own[developer_idx] + developers.drift(developer_idx, period_idx)
                              + beta * x_c + periods.raw[period_idx], dims="model")
        protocol = protocol_shift(spec, is_closed)
        if spec.model.structure == "families":
            observation = family_observation(spec, design, beta, developers, periods.raw, protocol)
            observe(observation, design.families.logit)
            logit = model["y_observed"]
            family = model["family_effect"][design.families.family_idx]
            pm.Deterministic("model_effect", logit - mu - family - protocol, dims="model")
            pm.Deterministic("p_failure", failure_probability(observation, logit), dims="model")
            _components(spec, design, beta, periods, developers, logit - mu - family - protocol, protocol, family)
            if new is not None:
                level = developers.own
                if new.unseen_developers:
                    level = pt.concatenate([level, _unseen_levels(spec, design, new, alpha, developers)])
                level = level[new.developer_idx]
                if developers.time is not None:
                    level = level + developers.time.extended(new, design.time)[new.developer_idx, new.period_idx]
                new_family_rows(spec, design, new, beta, level, _extended_periods(new, periods), observation,
                                developers.families)
            return model
        scales = EffectScale(prior_rv("sigma_model", priors.sigma_model),
                             prior_rv("sigma_closed", priors.sigma_closed)
                             if spec.model.closed_models == "extra_noise" else None)
        effect_scale = pm.Deterministic("model_scale", scales.of(is_closed), dims="model")
        # Model effects: normal, or Student-t for the tail of models far from what their compute
        # predicts (broken merges, over-pruned or mis-sized models) without dragging the rest.
        nu_model = prior_rv("nu_model", priors.nu_model) if spec.model.model_dist == "student_t" else None

        if spec.model.likelihood == "binomial":
            family = LocationScale("student_t", nu_model) if nu_model is not None else LocationScale()
            eta = pm.Deterministic("eta", pooled("eta", mu + protocol, effect_scale,
                                                 design.centring_weights("eta", len(design.models)), family), dims="model")
            pm.Binomial("k", n=scale.n_questions, p=scale.accuracy(eta, pt.sigmoid), observed=design.successes,
                        dims="model")
        else:
            _effect_dist("y", mu + protocol, effect_scale, nu_model, "model", observed=design.logit_score)
            # From the observed values, not the variable y: pm.compute_deterministics (run after
            # nutpie) would draw y afresh and give random residuals instead of the data's.
            eta = pt.as_tensor(design.logit_score)
        pm.Deterministic("model_effect", eta - mu - protocol, dims="model")
        _components(spec, design, beta, periods, developers, eta - mu - protocol, protocol)
        if new is not None:
            _new_rows(spec, design, new, alpha, beta, periods, developers, eta, scales, nu_model)
    return model


def _components(spec: Spec, design: Design, beta, periods: Periods, developers: Developers, model_effect, protocol,
                family=None) -> None:
    """eta's additive components per model (decompose's convention), as derived deterministics.

    compute = beta * (log10 FLOPs - 18): x in the paper's units, so beta * (c0 - 18) moves from the
    level into compute; time = the period effect vs the first period; developer = the developer's
    effect vs the base level; family = the base model's own efficiency (family structure); protocol = a
    self-reported score's offset (``model.protocol_offset``); model_effect = the model-specific (in the family
    structure: the fine-tune's) effect.
    """
    model = pm.modelcontext(None)
    pm.Deterministic(f"{COMPONENT_PREFIX}compute", beta * (model["log10_flops_c"] + design.c0 - COMPUTE_ORIGIN_LOG10_FLOPS),
                     dims="model")
    pm.Deterministic(f"{COMPONENT_PREFIX}time", (periods.raw - periods.raw[0])[model["period_idx"]], dims="model")
    pm.Deterministic(f"{COMPONENT_PREFIX}developer", (developers.own - developers.base)[model["developer_idx"]]
                     + developers.drift(model["developer_idx"], model["period_idx"]), dims="model")
    if family is not None:
        pm.Deterministic(f"{COMPONENT_PREFIX}family", family, dims="model")
    if spec.model.protocol_offset:
        pm.Deterministic(f"{COMPONENT_PREFIX}protocol", protocol, dims="model")
    pm.Deterministic(f"{COMPONENT_PREFIX}model_effect", model_effect, dims="model")


def _extended_periods(new: NewRows, periods: Periods) -> pt.TensorVariable:
    """Fitted period effects with random-walk steps before the first and after the last (one path per draw)."""
    parts = [periods.raw]
    if new.steps_before:
        back = periods.raw[0] + pt.cumsum(periods.sigma_step * pm.Normal("new_period_steps_before", 0.0, 1.0,
                                                                         shape=new.steps_before))
        parts.insert(0, back[::-1])
    if new.steps_after:
        parts.append(periods.raw[-1] + pt.cumsum(periods.sigma_step * pm.Normal("new_period_steps_after", 0.0, 1.0,
                                                                                shape=new.steps_after)))
    return pt.concatenate(parts)


def _unseen_levels(spec: Spec, design: Design, new: NewRows, alpha, developers: Developers) -> pt.TensorVariable:
    """Levels of developers the fit never saw: drawn around their pool's mean (or group effect, or a
    fitted developer's centre picked at random), a pool or group the fit never saw taking an offset
    from the group prior around the reference label, as the fitted offsets are defined."""
    n = len(new.unseen_developers)
    structure = spec.model.developers
    if structure == "pooled":
        centre = pt.repeat(alpha, n)
    else:
        offsets = developers.label_offsets
        if new.unseen_labels:
            fresh = prior_rv("new_level_offset", spec.priors.group, shape=len(new.unseen_labels))
            offsets = pt.concatenate([offsets, fresh])
            unseen_pos = len(design.coords["group" if structure == "fixed_groups" else "pool"]) + new.unseen_label_idx
        else:
            unseen_pos = np.zeros(n, dtype=np.int64)
        known = alpha + offsets[np.maximum(new.unseen_centre, 0)]
        unseen = alpha + offsets[unseen_pos]
        n_dev = len(design.coords["developer"])
        # Uniform over the fitted developers; drawn as DiscreteUniform, whose draws are one numpy call (PyMC's
        # Categorical draws per element in Python: 4 s for 6,000 draws x 126 developers).
        pick = pm.DiscreteUniform("new_developer_pick", 0, n_dev - 1, shape=n)
        centre = pt.switch(new.unseen_centre >= 0, known,
                           pt.switch(np.equal(new.unseen_centre, UNSEEN_LEVEL), unseen, developers.centre[pick]))
    if structure == "fixed_groups":
        return centre
    return centre + developers.sigma * _effect_dist("new_developer_z", pt.zeros(n), 1.0, developers.nu, None)


def _new_rows(spec: Spec, design: Design, new: NewRows, alpha, beta, periods: Periods, developers: Developers,
              eta, scales: EffectScale, nu_model) -> None:
    """Predictive variables of new rows: new_mu (systematic logit; new_line the same), new_scale and new_effect
    (the scale of their model effects and a fresh draw), new_eta, new_accuracy and new_score (a draw of the
    observed score)."""
    model = pm.modelcontext(None)
    model.add_coord("new_model", new.names)
    scale = design.scale
    x_c = pm.Data("new_log10_flops_c", new.x_c, dims="new_model")
    is_closed = pm.Data("new_is_closed", new.is_closed.astype(np.float64), dims="new_model")
    level = developers.level
    if new.unseen_developers:
        level = pt.concatenate([level, _unseen_levels(spec, design, new, alpha, developers)])
    mu = pm.Deterministic("new_mu", level[new.developer_idx] + beta * x_c
                          + _extended_periods(new, periods)[new.period_idx] + protocol_shift(spec, is_closed),
                          dims="new_model")
    pm.Deterministic("new_line", mu, dims="new_model")
    effect_scale = pm.Deterministic("new_scale", scales.of(is_closed), dims="new_model")
    effect = pm.Deterministic("new_effect", _effect_dist("new_effect_draw", pt.zeros_like(effect_scale), effect_scale,
                                                         nu_model, None), dims="new_model")
    own = new.own >= 0
    new_eta = pm.Deterministic("new_eta", pt.where(own, eta[np.maximum(new.own, 0)], mu + effect), dims="new_model")
    accuracy = pm.Deterministic("new_accuracy", scale.accuracy(new_eta, pt.sigmoid), dims="new_model")
    if spec.model.likelihood == "binomial":
        k = pm.Binomial("new_k", n=scale.n_questions, p=accuracy)
        pm.Deterministic("new_score", k / scale.n_questions, dims="new_model")
    else:
        pm.Deterministic("new_score", accuracy, dims="new_model")
