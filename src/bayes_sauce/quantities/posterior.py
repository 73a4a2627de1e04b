"""From a fit to the headline quantities, one value per draw, in both views (``views``: the paper's decomposition
at each draw's slope, and the model's own finer components).

The Bayesian counterpart of ``replication.build_components`` and ``replication.headline_table``: every headline
number goes through the same functions the OLS replication uses (``decompose``, ``headline``); tables summarise each
quantity by its median and equal-tailed interval over the draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import logit

from bayes_sauce.data.schema import BASE_GROUP
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS, interval_frame, median_interval
from bayes_sauce.model.build import COMPONENT_PREFIX, COMPONENTS
from bayes_sauce.periods import months_between
from bayes_sauce.quantities import decompose, headline, latent, views
from bayes_sauce.quantities.headline import Quantity
from bayes_sauce.quantities.informed import is_informed, prior_closeness
from bayes_sauce.quantities.keys import ID_TOKENS, MODEL, PAPER, Key, component_name
from bayes_sauce.quantities.views import View
from bayes_sauce.scale import COMPUTE_ORIGIN_LOG10_FLOPS

MIN_MODELS_TO_RANK = 5  # developers ranked among "all developers" need at least this many models
HEADLINE_COLUMNS = ["quantity", "median", "lo", "hi", "paper", "unit", "definition", "view", "name",
                    "width_vs_prior", "informed"]


def failure_probability(fit: Fit) -> xr.DataArray:
    """Each model's posterior probability of being a failed evaluation (0 where the spec has no failures)."""
    if not fit.has("p_failure"):
        return xr.zeros_like(fit.posterior["beta"].isel(chain=0, draw=0, drop=True)).expand_dims(
            model=fit.design.coords["model"]).copy()
    return fit.evaluate(["p_failure"])["p_failure"].mean(SAMPLE_DIMS)


def components(fit: Fit) -> xr.Dataset:
    """The model's own per-model components of eta for every draw, dims (chain, draw, model), plus ``beta`` and
    ``level``: those of ``model.build.COMPONENTS`` its structure has (compute = beta * (log10 FLOPs - 18), time,
    developer, family, model_effect); ``level`` = eta minus the components, the same for every model."""
    present = [c for c in COMPONENTS if fit.has(COMPONENT_PREFIX + c)]
    names = [COMPONENT_PREFIX + c for c in present]
    values = fit.evaluate([*names, "mu"])  # one graph for all
    comps = values[names].rename({COMPONENT_PREFIX + c: c for c in present})
    level = (values["mu"] - comps["compute"] - comps["time"] - comps["developer"]).isel(model=0, drop=True)
    return comps.assign(beta=fit.posterior["beta"], level=level).transpose(*SAMPLE_DIMS, ...)


def fit_views(fit: Fit, comps: xr.Dataset | None = None) -> list[View]:
    """The paper view (where the fitted rows support the paper's regression) and the model view, from the same draws."""
    comps = components(fit) if comps is None else comps
    paper = views.paper_view(fit, comps)
    return [*([paper] if paper is not None else []), views.model_view(fit, comps)]


def systematic_logit(fit: Fit) -> xr.DataArray:
    """eta without the model-specific effect: the logit a model's compute, period and developer predict."""
    return fit.evaluate(["mu"])["mu"]


def rank_probabilities(effect: xr.DataArray, beta: xr.DataArray, developers: list[str]) -> pd.Series:
    """P(each developer has the largest compute multiplier among ``developers``), over the draws."""
    log_multiplier = (effect / beta).sel(developer=developers)
    return decompose.prob_largest(log_multiplier, "developer", SAMPLE_DIMS).to_series()


def developer_effects(fit: Fit) -> xr.DataArray:
    """Every developer's effect per draw, a developer with a single family's part drawn from its conditional
    distribution (``latent.developer_split_draws``)."""
    return fit.posterior["developer_effect"] + latent.developer_split_draws(fit)


def progress_quantities(fit: Fit, view: View) -> list[Quantity]:
    """Period multipliers vs the first period, last vs first, and the halving time of compute needed."""
    beta = view.components["beta"]
    periods = [str(p) for p in view.progress["period"].values]
    if len(periods) < 2:
        return []
    first, last = periods[0], periods[-1]
    progress = decompose.multiplier(view.progress, beta)
    what = ("the paper's release-cohort effect (least squares given beta)" if view.name == PAPER else
            next(view.meanings[c] for c in ("pretraining_cohort", "release_cohort") if c in view.meanings))
    out = [Quantity(Key("progress_multiplier", view.name, subject=p), progress.sel(period=p, drop=True), "x",
                    f"10**(tau/beta), tau {what}: compute-equivalent of period {p} vs {first}") for p in periods[1:]]
    out.append(Quantity(Key("progress_last_vs_first", view.name), progress.sel(period=last, drop=True), "x",
                        f"10**(tau/beta), tau {what}: shared progress, last period {last} vs first {first}"))
    months = months_between(first, last, fit.spec.data.time)
    out.append(Quantity(
        Key("halving_time", view.name), decompose.halving_time(progress.sel(period=last, drop=True), months), "months",
        f"months for the compute needed at a fixed score to halve: {months:.1f} months between the midpoints "
        f"of {first} and {last} x log 2 / log(the last period's multiplier), i.e. constant exponential "
        "progress between them; +inf in draws without progress"))
    return out


def developer_quantities(fit: Fit, view: View) -> list[Quantity]:
    """Group multipliers vs Other-Small (the paper's 13 groups) and, in the model view, P(most efficient) among the
    majors."""
    beta = view.components["beta"]
    what = {PAPER: "the paper's group effect (least squares given beta over the models its developers released)",
            MODEL: "its effect in the model (a major: its own developer effect as the base developer of its families, "
                   "a single family's part drawn; an Other bin: its pool mean)"}[view.name]
    out = [Quantity(Key("developer_multiplier", view.name, subject=str(g)),
                    decompose.multiplier(view.groups.sel(group=g, drop=True), beta), "x",
                    f"10**(effect/beta), effect {what}: compute-equivalent of {g} vs {BASE_GROUP}")
           for g in view.groups["group"].values if g != BASE_GROUP]
    if view.name == MODEL:
        developers = fit.design.coords["developer"]
        majors = sorted(set(fit.rows.loc[fit.rows["is_major"].astype(bool), "developer"]) & set(developers))
        if len(majors) >= 2:
            for developer, p in rank_probabilities(developer_effects(fit), beta, majors).items():
                out.append(Quantity(
                    Key("p_most_efficient_major", MODEL, subject=developer), xr.DataArray(p), "probability",
                    f"share of draws in which {developer} has the largest compute multiplier (its developer effect / "
                    f"beta) of the {len(majors)} major developers in the model"))
    return out


def shapley_quantities(view: View) -> list[Quantity]:
    """A view's Shapley-Owen shares of eta's variance per draw, and the finite-population SD of each component."""
    names = decompose.component_names(view.components)
    if view.name == PAPER:
        method = ("the paper's exact Shapley-Owen share of the variance of eta (each model's latent logit) over "
                  "models: a coalition's value is the variance of the explained part (beta * x + the cohort and group "
                  "effects) projected on the coalition's regressors (log compute; cohort dummies; group dummies), over "
                  "eta's variance, per draw; at the paper's own fit, its Figure 1")
    else:
        method = (f"exact Shapley-Owen share of the variance of eta over models among the model's components "
                  f"({', '.join(names[:-1])}), one regressor per component vector, per draw")
    out = [Quantity(Key("shapley", view.name, str(c)), view.shares.sel(component=c, drop=True), "share",
                    f"{method}; {component_name(view.residual)} = 1 - R2" if c == view.residual else
                    f"{method}: the {component_name(str(c))} component")
           for c in view.shares["component"].values]
    sd = decompose.finite_population_sd(view.components)
    out += [Quantity(Key("finite_population_sd", view.name, str(c)), sd.sel(component=c, drop=True), "logit",
                     f"SD over models of the {component_name(str(c))} component ({view.meanings.get(str(c), '')})")
            for c in sd["component"].values]
    return out


def view_quantities(fit: Fit, view: View) -> list[Quantity]:
    """Every headline quantity of one view."""
    out = shapley_quantities(view) + progress_quantities(fit, view) + developer_quantities(fit, view)
    out += headline.component_quantities(view.components, fit.rows, fit.spec.data.outcome, view.name, view.efficiency,
                                         view.protocol)
    if view.name == MODEL:
        out += headline.spread_quantities(view.efficiency, view.components["beta"].median(), fit.rows, MODEL,
                                          variant="beta_at_median")
        if view.failed is not None:
            out.append(Quantity(Key("failures_per_draw", MODEL), view.failed.sum("model").astype(float), "models",
                                "models that are failed evaluations in a draw, each with its posterior probability "
                                "(the model view's failed-evaluation component)"))
    return out


def threshold_quantity(fit: Fit) -> Quantity:
    """The threshold fall with each model's fitted (systematic) score instead of its observed score."""
    models = fit.rows
    reach = systematic_logit(fit) >= logit(headline.THRESHOLD_NORM_SCORE)
    log10_flops = xr.DataArray(models["log10_flops"].to_numpy(), dims="model",
                               coords={"model": models["model_id"].to_numpy()})
    fall = headline.threshold_fall(reach, log10_flops, headline.month_ordinal(models))
    return Quantity(
        Key("threshold_fall", MODEL, subject="all", variant="fitted"), fall, "x",
        f"as threshold_compute_fall_all, but a model reaches >= {headline.THRESHOLD_NORM_SCORE:.0%} normalised "
        f"{fit.spec.data.outcome} when its fitted score does (what its compute, period and developer predict in the "
        "model, without its own family, fine-tune or model effect), per draw")


# The scalar parameters reported with their posterior: (name, unit, what it is).
SCALARS = (
    ("sigma_developer", "logit", "spread of developers' levels around their pool's mean"),
    ("sigma_model", "logit", "spread of model-specific effects"),
    ("protocol_offset", "logit", "offset of a self-reported score from the leaderboard harness's (model.protocol_offset)"),
    ("sigma_family", "logit", "spread of base models (families) around their developer's line"),
    ("family_skew", "shape", "skew-normal shape of families' levels (0: normal; negative: a long tail of weak "
     "families)"),
    ("sigma_finetuner", "logit", "spread of fine-tuners' effects on their fine-tunes"),
    ("mundlak", "logit per log10 FLOP", "Mundlak term: a developer's level per decade of its mean compute, beyond beta"),
    ("beta_within", "logit per log10 FLOP", "slope of a model's compute apart from its family's"),
    ("accuracy_noise", "accuracy", "evaluation noise on the accuracy scale"),
    ("damaged_share", "share", "share of fine-tunes damaged by fine-tuning"),
    ("damaged_shift", "logit", "mean fall of a damaged fine-tune"),
    ("sigma_damaged", "logit", "extra spread of damaged fine-tunes"),
)


def quantities(fit: Fit, comps: xr.Dataset | None = None, views_: list[View] | None = None) -> list[Quantity]:
    """Every headline quantity of a fit, per draw where it has a posterior: the parameters both views share, then
    each view's decomposition (``views_``: default, computed from ``comps``), the data's descriptive numbers and the
    fitted threshold fall."""
    post = fit.posterior
    out = [
        Quantity(Key("compute_slope"), post["beta"], "logit per log10 FLOP",
                 "beta: logit gain (of the chance-normalised score) per 10x training compute, for a given developer"
                 if fit.spec.model.mundlak else
                 "beta: logit gain (of the chance-normalised score) per 10x training compute"),
        Quantity(Key("n_obs"), xr.DataArray(post.sizes["model"]), "models", "models fitted"),
    ]
    out += [Quantity(Key("scalar", subject=name), post[name], unit, f"posterior of {what} ({name})")
            for name, unit, what in SCALARS if name in post]
    if "failure_rate" in post:
        out.append(Quantity(Key("failure_share"), 1 / (1 + np.exp(-post["failure_rate"])), "share",
                            "posterior of the share of evaluations that failed (scored near chance) among the models a "
                            "failure is possible for (model.failures)"))
    for view in fit_views(fit, comps) if views_ is None else views_:
        out += view_quantities(fit, view)
    out += headline.data_quantities(fit.rows, fit.spec.data.outcome)
    out.append(threshold_quantity(fit))
    return out


def summarise(quantities: list[Quantity], paper: pd.DataFrame, prob: float,
              prior: dict[str, Quantity] | None = None) -> pd.DataFrame:
    """The headline table (HEADLINE_COLUMNS): each quantity's median and interval (lo/hi empty without draws), the
    paper's value, its view and readable name, and, given the same quantities under the prior, the width of its
    interval against the prior's and whether the data inform it (``informed.RULE``)."""
    rows = []
    slope = Key("compute_slope").id
    beta = next((q.value for q in quantities if q.id == slope), None)
    assess = prior is not None and beta is not None and slope in prior
    for q in quantities:
        if set(SAMPLE_DIMS) <= set(q.value.dims):
            s = median_interval(q.value, prob)
            median, lo, hi = (float(s.sel(quantile=k)) for k in ("median", "lo", "hi"))
            ratio, where = (prior_closeness(q, prior[q.id], prob, beta, prior[slope].value)
                            if assess and q.id in prior else (np.nan, np.nan))
        else:
            median, lo, hi, ratio, where = float(q.value), np.nan, np.nan, np.nan, np.nan
        rows.append({"quantity": q.id, "median": median, "lo": lo, "hi": hi,
                     "paper": paper["value"].get(q.id, np.nan), "unit": q.unit, "definition": q.definition,
                     "view": q.key.view, "name": q.key.name, "width_vs_prior": ratio,
                     "informed": is_informed(ratio, where)})
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def developer_table(fit: Fit) -> pd.DataFrame:
    """Every developer of the model: multiplier vs the base group and vs the population, and rank probabilities (a
    developer with a single family: its part drawn from its conditional distribution).

    The population is the average developer: the unweighted mean of all developers' effects, per draw.
    P(most efficient) is among developers with >= MIN_MODELS_TO_RANK models, and among the majors.
    """
    models, prob = fit.rows, fit.prob
    effect, beta = developer_effects(fit), fit.posterior["beta"]
    info = models.groupby("developer").agg(group=("developer_group", "first"), n_models=("model_id", "size"),
                                           is_major=("is_major", "first"))
    info = info.reindex(effect["developer"].values)
    vs_population = decompose.multiplier(effect - effect.mean("developer"), beta)
    table = pd.concat([info, interval_frame(decompose.multiplier(effect, beta), prob, "vs_base_"),
                       interval_frame(vs_population, prob, "vs_population_")], axis=1)
    for column, members in (("p_most_efficient", info.index[info["n_models"] >= MIN_MODELS_TO_RANK]),
                            ("p_most_efficient_major", info.index[info["is_major"].astype(bool)])):
        if len(members) >= 2:
            table[column] = rank_probabilities(effect, beta, list(members))
    table.index.name = "developer"
    return table.sort_values("vs_population_median", ascending=False).reset_index()


def frontier_table(view: View, models: pd.DataFrame, score: str, prob: float) -> pd.DataFrame:
    """Running-best frontier by quarter: each component's share of the gain since its first model (``since``) in one
    view, long form."""
    frontier, shares = headline.frontier_shares(view.components, models, score)
    later = (frontier["model_id"] != frontier["model_id"].iloc[0]).to_numpy()  # the first has no gain yet
    shares = shares.assign_coords(frontier=frontier["period"].to_numpy()).isel(frontier=later)
    table = median_interval(shares, prob).to_dataframe("value")["value"].unstack("quantile").reset_index()
    table["component"] = table["component"].map(lambda c: ID_TOKENS.get(c, c))
    table = frontier.merge(table.rename(columns={"frontier": "period"}), on="period")
    table["since"] = frontier["display_name"].iloc[0]
    return table[[*frontier.columns, "since", "component", "median", "lo", "hi"]]


def scaling_curve(fit: Fit, comps: xr.Dataset, grid: np.ndarray) -> pd.DataFrame:
    """Expected score against log10 FLOPs per period, for a model of average developer effect and e = 0.

    From the model's components: the level, beta * (x - 18), the period effect and the mean over the
    fitted models' developer components (so the curve runs through the data), per draw; the band is
    the credible interval of that curve.
    """
    x = xr.DataArray(grid, dims="log10_flops", coords={"log10_flops": grid})
    post = fit.posterior
    eta = (comps["level"] + comps["beta"] * (x - COMPUTE_ORIGIN_LOG10_FLOPS) + post["period_effect"]
           + comps["developer"].mean("model"))
    score = fit.design.scale.accuracy(eta)
    table = median_interval(score, fit.prob).to_dataframe("score")["score"].unstack("quantile").reset_index()
    return table[["period", "log10_flops", "median", "lo", "hi"]]
