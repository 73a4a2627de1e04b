"""Build the PyMC hierarchical scaling model from a spec and a dataset.

eta_i = alpha + beta * (log10 C_i - c0) + period_effect[t(i)] + developer_effect[d(i)] + model_effect[i]
with k_i ~ Binomial(n, floor + (1 - floor) * invlogit(eta_i)), or, in the logit-normal
"replication mode", logit((score_i - floor)/(1 - floor)) ~ Normal(eta_i - model_effect_i, sigma_i).

Every posterior variable named here is part of the contract read by decompositions and reports:
``alpha``, ``beta``, ``period_effect`` (period), ``group_effect`` (group), ``developer_effect``
(developer), ``model_effect`` (model), ``sigma_model``, ``sigma_developer`` and the other scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayes_sauce.data import (
    BASE_GROUP,
    CHANCE_FLOOR,
    GROUPS,
    MAJORS,
    OTHER_GROUPS,
    N_QUESTIONS,
    PERIOD_COLUMN,
    Dataset,
    exclude_for_analysis,
)
from bayes_sauce.spec import Prior, Spec


@dataclass(frozen=True)
class ModelData:
    """Arrays and coordinates the model is built from (all derived from the dataset)."""

    models: pd.DataFrame
    x_c: np.ndarray  # centred log10 FLOPs
    c0: float
    period_idx: np.ndarray
    developer_idx: np.ndarray
    group_of_developer: np.ndarray
    is_closed: np.ndarray
    coords: dict[str, list[str]]
    outcome: str
    n_trials: int
    successes: np.ndarray
    logit_score: np.ndarray


def periods_between(first: str, last: str, time: str) -> list[str]:
    """Every period label from first to last, so a random walk has a step per calendar period."""
    freq = {"quarter": "Q", "month": "M"}[time]
    labels = pd.period_range(pd.Period(first.upper(), freq), pd.Period(last.upper(), freq), freq=freq).astype(str)
    return [s.lower() for s in labels]


def prepare(spec: Spec, dataset: Dataset) -> tuple[ModelData, Dataset]:
    """Index arrays, coordinates and outcomes; rows the spec's likelihood cannot take are excluded."""
    outcome, time = spec.data.outcome, spec.data.time
    floor = CHANCE_FLOOR[outcome]
    period_col = PERIOD_COLUMN[time]
    dataset = exclude_for_analysis(dataset, outcome, time, logit=spec.model.likelihood == "logit_normal")
    m = dataset.models
    if len(m) == 0:
        raise ValueError("no rows left to fit after filters and exclusions")

    if time == "cohort":
        periods = sorted(m[period_col].unique())
    else:
        periods = periods_between(m[period_col].min(), m[period_col].max(), time)
    developers = sorted(m["developer"].unique())
    groups = [g for g in GROUPS if g in set(m["developer_group"])]
    dev_group = m.drop_duplicates("developer").set_index("developer")["developer_group"]
    c0 = float(np.round(m["log10_flops"].mean(), 2))
    n_trials = N_QUESTIONS[outcome]
    score = m[outcome].to_numpy(dtype=float)
    norm = (score - floor) / (1 - floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        logit = np.log(norm / (1 - norm))
    data = ModelData(
        models=m,
        x_c=m["log10_flops"].to_numpy(dtype=float) - c0,
        c0=c0,
        period_idx=pd.Categorical(m[period_col], categories=periods).codes.astype(np.int64),
        developer_idx=pd.Categorical(m["developer"], categories=developers).codes.astype(np.int64),
        group_of_developer=pd.Categorical(dev_group.loc[developers], categories=groups).codes.astype(np.int64),
        is_closed=(~m["is_leaderboard"]).to_numpy(dtype=bool),
        coords={"model": m["model_id"].tolist(), "developer": developers, "group": groups, "period": periods},
        outcome=outcome,
        n_trials=n_trials,
        successes=np.round(score * n_trials).astype(np.int64),
        logit_score=logit,
    )
    return data, dataset


def _prior(name: str, prior: Prior, **kwargs) -> pt.TensorVariable:
    return getattr(pm, prior.dist)(name, **prior.params, **kwargs)


# A developer with at least this many models has its effect pinned by the data, so it is sampled
# centred; developers with fewer models (most of them have one) are sampled non-centred to avoid
# the funnel with sigma_developer. Measured: see the closing note of issue 6 / benchmarks.
CENTRED_MIN_MODELS = 5


def _pooled(name: str, mu: pt.TensorVariable, sigma: pt.TensorVariable, centred: np.ndarray,
            nu: pt.TensorVariable | None = None) -> pt.TensorVariable:
    """Normal (Student-t when nu is given) effects around mu: centred where the data pin them."""
    student = nu is not None
    sigma = sigma * pt.ones(len(centred))
    n_c, n_nc = int(centred.sum()), int((~centred).sum())
    parts, order = [], np.concatenate([np.flatnonzero(centred), np.flatnonzero(~centred)])
    if n_c:
        mu_c = mu[np.flatnonzero(centred)]
        sigma_c = sigma[np.flatnonzero(centred)]
        parts.append(pm.StudentT(f"{name}_c", nu=nu, mu=mu_c, sigma=sigma_c, shape=n_c) if student
                     else pm.Normal(f"{name}_c", mu_c, sigma_c, shape=n_c))
    if n_nc:
        z = (pm.StudentT(f"{name}_z", nu=nu, mu=0.0, sigma=1.0, shape=n_nc) if student
             else pm.Normal(f"{name}_z", 0.0, 1.0, shape=n_nc))
        parts.append(mu[np.flatnonzero(~centred)] + sigma[np.flatnonzero(~centred)] * z)
    return pt.concatenate(parts)[np.argsort(order)]


MAJORS_POOL = "Majors"


def pool_of_group(group: str) -> str:
    """The pool a developer of this paper group is shrunk within: its Other size bin, or the majors' pool."""
    return MAJORS_POOL if group in MAJORS else group


def _pools(data: ModelData) -> tuple[list[str], np.ndarray]:
    """Pooling groups present in the data, and each developer's pool index."""
    groups = np.asarray(data.coords["group"])[data.group_of_developer]
    pool_of_dev = [pool_of_group(g) for g in groups]
    pools = [p for p in (*OTHER_GROUPS, MAJORS_POOL) if p in set(pool_of_dev)]
    return pools, np.array([pools.index(p) for p in pool_of_dev], dtype=np.int64)


def _effects_vs_largest(name: str, prior: Prior, labels: list[str], counts: np.ndarray) -> pt.TensorVariable:
    """Free effects for every label but the one with most models, which is pinned at 0.

    Pinning the best-measured label (not the paper's base, Other-Small) keeps the level alpha
    nearly uncorrelated with the offsets; effects against the base are derived afterwards.
    """
    ref = int(np.argmax(counts))
    free = _prior(name, prior, shape=len(labels) - 1)
    return pt.concatenate([free[:ref], pt.zeros(1), free[ref:]])


def _developer_levels(spec: Spec, data: ModelData, alpha: pt.TensorVariable) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Each developer's level and the base level (Other-Small, or the population mean when there are no groups).

    Records developer_effect and group_effect, both relative to that base level.
    """
    priors, structure = spec.priors, spec.model.developers
    groups, n_dev = data.coords["group"], len(data.coords["developer"])
    models_per_group = np.bincount(data.group_of_developer[data.developer_idx], minlength=len(groups))
    if structure == "fixed_groups":
        # The paper's fixed effects: one free effect per group and no developer level.
        raw = _effects_vs_largest("group_offset", priors.group, groups, models_per_group)
        base = raw[groups.index(BASE_GROUP)] if BASE_GROUP in groups else pt.zeros(())
        group = pm.Deterministic("group_effect", raw - base, dims="group")
        pm.Deterministic("developer_effect", group[data.group_of_developer], dims="developer")
        return alpha + raw[data.group_of_developer], alpha + base

    models_per_dev = np.bincount(data.developer_idx, minlength=n_dev)
    centred = models_per_dev >= CENTRED_MIN_MODELS
    sigma_dev = _prior("sigma_developer", priors.sigma_developer)
    nu = _prior("nu_developer", priors.nu_developer) if spec.model.developer_dist == "student_t" else None
    if structure == "pooled":
        # alpha is the population mean of developer levels; developer_effect is relative to it.
        level = _pooled("developer_level", pt.repeat(alpha, n_dev), sigma_dev, centred, nu)
        pm.Deterministic("developer_effect", level - alpha, dims="developer")
        return level, alpha

    # pooled_groups: developers are pooled around the mean of their pool. A major is the only
    # developer of its paper group, so its group mean and its own deviation cannot be told apart;
    # the ten majors therefore share one pool (their effects shrink toward the majors' mean), and
    # every 'Other' developer is pooled within its size bin. Pool means are fixed effects, pinned
    # by hundreds of models each; a learnt scale over only four pools would bring back a funnel
    # (measured: divergences at small scales), not information.
    pools, pool_of_dev = _pools(data)
    pm.modelcontext(None).add_coord("pool", pools)
    raw = _effects_vs_largest("pool_offset", priors.group, pools, np.bincount(pool_of_dev[data.developer_idx]))
    base = raw[pools.index(BASE_GROUP)] if BASE_GROUP in pools else pt.zeros(())
    pool_effect = pm.Deterministic("pool_effect", raw - base, dims="pool")
    level = _pooled("developer_level", alpha + raw[pool_of_dev], sigma_dev, centred, nu)
    developer = pm.Deterministic("developer_effect", level - alpha - base, dims="developer")
    # The paper's 13 groups: a major's group effect is that developer's effect, an Other bin's is its pool mean.
    group_to_pool = np.array([pools.index(g) if g in pools else -1 for g in groups])
    group_to_dev = [int(np.flatnonzero(data.group_of_developer == i)[0]) if group_to_pool[i] < 0 else 0
                    for i in range(len(groups))]
    pm.Deterministic("group_effect", pt.where(group_to_pool >= 0, pool_effect[np.maximum(group_to_pool, 0)],
                                              developer[group_to_dev]), dims="group")
    return level, alpha + base


def _period_effects(spec: Spec, data: ModelData) -> pt.TensorVariable:
    """Shared progress on the sampling scale: 0 in the most populous period, where alpha is the level.

    Anchoring the level in the period with most models (not the first, which holds few) keeps
    alpha and the period effects nearly uncorrelated. The reported ``period_effect`` is relative
    to the first period, as in the paper, and ``intercept`` is the level that goes with it.
    """
    n = len(data.coords["period"])
    ref = int(np.bincount(data.period_idx, minlength=n).argmax())
    if n == 1:
        return pt.zeros(1)
    if spec.data.time == "cohort":
        offsets = _prior("period_offset", spec.priors.period, shape=n - 1)
        return pt.concatenate([offsets[:ref], pt.zeros(1), offsets[ref:]])
    sigma_step = _prior("sigma_period_step", spec.priors.sigma_period_step)
    # Non-centred steps: many quarters/months hold few models, so each step is weakly pinned.
    steps = pm.Normal("period_step_z", 0.0, 1.0, shape=n - 1)
    walk = pt.concatenate([pt.zeros(1), pt.cumsum(sigma_step * steps)])
    return walk - walk[ref]


def build_model(spec: Spec, data: ModelData) -> pm.Model:
    """The PyMC model for one spec; predictors are pm.Data so the model can predict new rows."""
    priors = spec.priors
    with pm.Model(coords=data.coords) as model:
        x_c = pm.Data("log10_flops_c", data.x_c, dims="model")
        period_idx = pm.Data("period_idx", data.period_idx, dims="model")
        developer_idx = pm.Data("developer_idx", data.developer_idx, dims="model")
        is_closed = pm.Data("is_closed", data.is_closed.astype(np.float64), dims="model")
        # Not used by the likelihood; stored so decompositions can map developers to the paper's groups.
        pm.Data("group_of_developer", data.group_of_developer, dims="developer")

        # alpha: the level at c0 in the best-populated period for the best-populated group (or the
        # average developer without groups); compute is centred so alpha and beta are nearly
        # uncorrelated. The reported effects are re-expressed against the paper's bases below.
        alpha = _prior("alpha", priors.alpha)
        beta = _prior("beta", priors.beta)
        period_raw = _period_effects(spec, data)
        pm.Deterministic("period_effect", period_raw - period_raw[0], dims="period")
        developer_level, base_level = _developer_levels(spec, data, alpha)
        # The level for the base group (Other-Small; the average developer without groups) in the
        # first period at c0: with it, eta = intercept + beta*x_c + period_effect + developer_effect + model_effect.
        pm.Deterministic("intercept", base_level + period_raw[0])
        mean = developer_level[developer_idx] + beta * x_c + period_raw[period_idx]

        sigma_model = _prior("sigma_model", priors.sigma_model)
        scale = sigma_model
        if spec.model.closed_models == "extra_noise":
            sigma_closed = _prior("sigma_closed", priors.sigma_closed)
            scale = pt.sqrt(sigma_model**2 + is_closed * sigma_closed**2)

        # Model effects: normal, or Student-t for the tail of models far from what their compute
        # predicts (broken merges, over-pruned or mis-sized models) without dragging the rest.
        if spec.model.model_dist == "student_t":
            nu_model = _prior("nu_model", priors.nu_model)

            def model_dist(name, **kwargs):
                return pm.StudentT(name, nu=nu_model, mu=mean, sigma=scale, dims="model", **kwargs)
        else:
            def model_dist(name, **kwargs):
                return pm.Normal(name, mean, scale, dims="model", **kwargs)

        if spec.model.likelihood == "binomial":
            floor = CHANCE_FLOOR[data.outcome]
            # Centred model effects: each model's eta is pinned by thousands of answers, so the
            # centred form decouples eta from the hyper-parameters (the non-centred form would
            # couple every e_i to alpha, beta and the scales).
            eta = model_dist("eta")
            pm.Deterministic("model_effect", eta - mean, dims="model")
            p = floor + (1 - floor) * pm.math.invlogit(eta)
            pm.Binomial("k", n=data.n_trials, p=p, observed=data.successes, dims="model")
        else:
            model_dist("y", observed=data.logit_score)
            # From the observed values, not the variable y: pm.compute_deterministics (run after
            # nutpie) would draw y afresh and give random residuals instead of the data's.
            pm.Deterministic("model_effect", data.logit_score - mean, dims="model")
    return model
