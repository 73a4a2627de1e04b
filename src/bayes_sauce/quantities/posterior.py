"""From a fit to the headline quantities, one value per draw.

The Bayesian counterpart of ``replication.build_components`` and ``replication.headline_table``: the
model's own decomposition of eta into components (evaluated over the draws) feeds every headline
number through the same functions the OLS replication uses; tables summarise each quantity by its
median and equal-tailed interval over the draws.
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
from bayes_sauce.quantities import decompose, headline
from bayes_sauce.quantities.headline import Quantity
from bayes_sauce.scale import COMPUTE_ORIGIN_LOG10_FLOPS

MIN_MODELS_TO_RANK = 5  # developers ranked among "all developers" need at least this many models


FAILURE_THRESHOLD = 0.5  # a model with a posterior failure probability above this is reported apart


def failure_probability(fit: Fit) -> xr.DataArray:
    """Each model's posterior probability of being a failed evaluation (0 where the spec has no failures)."""
    if not fit.has("p_failure"):
        return xr.zeros_like(fit.posterior["beta"].isel(chain=0, draw=0, drop=True)).expand_dims(
            model=fit.design.coords["model"]).copy()
    return fit.evaluate(["p_failure"])["p_failure"].mean(SAMPLE_DIMS)


def components(fit: Fit) -> xr.Dataset:
    """Per-model components of eta for every draw, dims (chain, draw, model), plus ``beta`` and ``level``.

    The model's own decomposition (``model.build.COMPONENTS``, those its structure has): compute = beta *
    (log10 FLOPs - 18), time, developer, family, model_effect; ``level`` = eta minus the components, the
    same for every model. Coordinates: ``p_failure``, each model's posterior probability of a failed evaluation,
    and ``failure``, the models more likely failed evaluations than not.
    """
    present = [c for c in COMPONENTS if fit.has(COMPONENT_PREFIX + c)]
    names = [COMPONENT_PREFIX + c for c in present]
    values = fit.evaluate([*names, "mu", *(["p_failure"] if fit.has("p_failure") else [])])  # one graph for all
    comps = values[names].rename({COMPONENT_PREFIX + c: c for c in present})
    level = (values["mu"] - comps["compute"] - comps["time"] - comps["developer"]).isel(model=0, drop=True)
    p_failure = failure_probability(fit).values
    return comps.assign(beta=fit.posterior["beta"], level=level).assign_coords(
        p_failure=("model", p_failure), failure=("model", p_failure > FAILURE_THRESHOLD)).transpose(*SAMPLE_DIMS, ...)


def without_failures(comps: xr.Dataset, rows: pd.DataFrame) -> tuple[xr.Dataset, pd.DataFrame]:
    """The components and rows of the models that are not failed evaluations."""
    keep = ~comps["failure"].values
    return comps.isel(model=keep), rows.loc[keep].reset_index(drop=True)


def systematic_logit(fit: Fit) -> xr.DataArray:
    """eta without the model-specific effect: the logit a model's compute, period and developer predict."""
    return fit.evaluate(["mu"])["mu"]


def rank_probabilities(fit: Fit, developers: list[str]) -> pd.Series:
    """P(each developer has the largest compute multiplier among ``developers``), over the draws."""
    post = fit.posterior
    log_multiplier = (post["developer_effect"] / post["beta"]).sel(developer=developers)
    return decompose.prob_largest(log_multiplier, "developer", SAMPLE_DIMS).to_series()


def progress_quantities(fit: Fit) -> list[Quantity]:
    """Period multipliers vs the first period, last vs first, and the halving time of compute needed."""
    post = fit.posterior
    periods = [str(p) for p in post["period"].values]
    if len(periods) < 2:
        return []
    first, last = periods[0], periods[-1]
    progress = decompose.multiplier(post["period_effect"], post["beta"])
    out = [Quantity(f"progress_multiplier__{p}", progress.sel(period=p, drop=True), "x",
                    f"10**(tau/beta): compute-equivalent of period {p} vs {first}") for p in periods[1:]]
    out.append(Quantity("progress_multiplier_last_vs_first", progress.sel(period=last, drop=True), "x",
                        f"10**(tau/beta): shared progress, last period {last} vs first {first}"))
    months = months_between(first, last, fit.spec.data.time)
    out.append(Quantity(
        "progress_halving_time_months", decompose.halving_time(progress.sel(period=last, drop=True), months),
        "months",
        f"months for the compute needed at a fixed score to halve: {months:.1f} months between the midpoints "
        f"of {first} and {last} x log 2 / log(progress_multiplier_last_vs_first), i.e. constant exponential "
        "progress between them; +inf in draws without progress",
    ))
    return out


def developer_quantities(fit: Fit) -> list[Quantity]:
    """Group multipliers vs Other-Small (the paper's 13 groups) and P(most efficient) among the majors."""
    post, models = fit.posterior, fit.rows
    out = []
    if "group_effect" in post and BASE_GROUP in post["group"].values:
        groups = decompose.multiplier(post["group_effect"], post["beta"])
        for group in (str(g) for g in post["group"].values if g != BASE_GROUP):
            out.append(Quantity(
                f"developer_multiplier__{headline.safe_label(group)}", groups.sel(group=group, drop=True), "x",
                f"10**(nu/beta): compute-equivalent of {group}'s effect vs {BASE_GROUP} (a major: its own "
                f"developer effect; an Other bin: its pool mean)"))
    majors = sorted(models.loc[models["is_major"].astype(bool), "developer"].unique())
    if len(majors) >= 2:
        for developer, p in rank_probabilities(fit, majors).items():
            out.append(Quantity(
                f"p_most_efficient_major__{headline.safe_label(developer)}", xr.DataArray(p), "probability",
                f"share of draws in which {developer} has the largest compute multiplier of the "
                f"{len(majors)} major developers"))
    return out


def shapley_quantities(comps: xr.Dataset) -> list[Quantity]:
    """Shapley-Owen shares of eta's variance per draw, and the finite-population SD of each component."""
    shares = decompose.component_shapley(comps)
    out = [Quantity(
        f"shapley_{headline.SHARE_NAMES[c]}", shares.sel(component=c, drop=True), "share",
        "1 - R2 of eta on the three component vectors (model-specific share)" if c == "model_effect" else
        f"exact Shapley-Owen share of the variance of eta (latent logit, all components summed) over models "
        f"for the {headline.SHARE_NAMES[c]} component; a coalition's value is the R2 of eta regressed on its "
        "component vectors (one regressor per component), per draw")
        for c in shares["component"].values]
    sd = decompose.finite_population_sd(comps)
    out += [Quantity(f"finite_population_sd__{headline.SHARE_NAMES[c]}", sd.sel(component=c, drop=True), "logit",
                     f"SD over models of the {headline.SHARE_NAMES[c]} component (finite-population ANOVA)")
            for c in sd["component"].values]
    return out


def threshold_quantity(fit: Fit) -> Quantity:
    """The threshold fall with each model's fitted (systematic) score instead of its observed score."""
    models = fit.rows
    reach = systematic_logit(fit) >= logit(headline.THRESHOLD_NORM_SCORE)
    log10_flops = xr.DataArray(models["log10_flops"].to_numpy(), dims="model",
                               coords={"model": models["model_id"].to_numpy()})
    fall = headline.threshold_fall(reach, log10_flops, headline.month_ordinal(models))
    return Quantity(
        "threshold_compute_fall_all_fitted", fall, "x",
        f"as threshold_compute_fall_all, but a model reaches >= {headline.THRESHOLD_NORM_SCORE:.0%} normalised "
        f"{fit.spec.data.outcome} when its fitted score does (eta without its model-specific effect: what its "
        "compute, period and developer predict), per draw")


# The scalar parameters reported with their posterior: (name, unit, what it is).
SCALARS = (
    ("sigma_developer", "logit", "spread of developers' levels around their pool's mean"),
    ("sigma_model", "logit", "spread of model-specific effects"),
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


def quantities(fit: Fit, comps: xr.Dataset | None = None) -> list[Quantity]:
    """Every headline quantity of a fit, per draw where it has a posterior. Decompositions leave out the
    models more likely failed evaluations than not; the ``__including_failures`` ids say what they change."""
    outcome = fit.spec.data.outcome
    post = fit.posterior
    comps = components(fit) if comps is None else comps
    kept, rows = without_failures(comps, fit.rows)
    failed = comps["model"].values[comps["failure"].values]
    out = [
        Quantity("compute_slope", post["beta"], "logit per log10 FLOP",
                 "beta: logit gain (of the chance-normalised score) per 10x training compute, for a given developer"
                 if fit.spec.model.mundlak else
                 "beta: logit gain (of the chance-normalised score) per 10x training compute"),
        Quantity("n_obs", xr.DataArray(post.sizes["model"]), "models", "models fitted"),
    ]
    out += [Quantity(name, post[name], unit, f"posterior of {what} ({name})") for name, unit, what in SCALARS
            if name in post]
    if "failure_rate" in post:
        out.append(Quantity("failure_share", 1 / (1 + np.exp(-post["failure_rate"])), "share",
                            "posterior of the share of fine-tunes whose evaluation failed (scored near chance)"))
        out.append(Quantity("n_failures", xr.DataArray(len(failed)), "models",
                            f"models with posterior P(failed evaluation) > {FAILURE_THRESHOLD}, left out of the "
                            f"decompositions: {', '.join(map(str, failed)) or 'none'}"))
    out += shapley_quantities(kept)
    out += progress_quantities(fit)
    out += developer_quantities(fit)
    out += headline.component_quantities(kept, rows, outcome)
    out += headline.data_quantities(fit.rows, outcome)
    out.append(threshold_quantity(fit))
    if len(failed):
        out += _including_failures(comps, fit.rows, outcome)
    return out


def _including_failures(comps: xr.Dataset, rows: pd.DataFrame, outcome: str) -> list[Quantity]:
    """The variance shares and the within-firm spreads with the failed evaluations kept in."""
    keep = ("shapley_", "within_firm_spread_p90_p10", "within_firm_spread_p75_p25")
    found = shapley_quantities(comps) + headline.component_quantities(comps, rows, outcome)
    return [Quantity(f"{q.id}__including_failures", q.value, q.unit, f"{q.definition}; failed evaluations included")
            for q in found if q.id.startswith(keep) and "__" not in q.id]


def summarise(quantities: list[Quantity], paper: pd.DataFrame, prob: float) -> pd.DataFrame:
    """The headline table: quantity, median, lo, hi, paper, unit, definition (lo/hi empty without draws)."""
    rows = []
    for q in quantities:
        if set(SAMPLE_DIMS) <= set(q.value.dims):
            s = median_interval(q.value, prob)
            median, lo, hi = (float(s.sel(quantile=k)) for k in ("median", "lo", "hi"))
        else:
            median, lo, hi = float(q.value), np.nan, np.nan
        rows.append({"quantity": q.id, "median": median, "lo": lo, "hi": hi,
                     "paper": paper["value"].get(q.id, np.nan), "unit": q.unit, "definition": q.definition})
    return pd.DataFrame(rows)


def developer_table(fit: Fit) -> pd.DataFrame:
    """Every raw developer: multiplier vs the base group and vs the population, and rank probabilities.

    The population is the average developer: the unweighted mean of all developers' effects, per draw.
    P(most efficient) is among developers with >= MIN_MODELS_TO_RANK models, and among the majors.
    """
    post, models, prob = fit.posterior, fit.rows, fit.prob
    effect, beta = post["developer_effect"], post["beta"]
    info = models.groupby("developer").agg(group=("developer_group", "first"), n_models=("model_id", "size"),
                                           is_major=("is_major", "first"))
    info = info.reindex(effect["developer"].values)
    vs_population = decompose.multiplier(effect - effect.mean("developer"), beta)
    table = pd.concat([info, interval_frame(decompose.multiplier(effect, beta), prob, "vs_base_"),
                       interval_frame(vs_population, prob, "vs_population_")], axis=1)
    for column, members in (("p_most_efficient", info.index[info["n_models"] >= MIN_MODELS_TO_RANK]),
                            ("p_most_efficient_major", info.index[info["is_major"].astype(bool)])):
        if len(members) >= 2:
            table[column] = rank_probabilities(fit, list(members))
    table.index.name = "developer"
    return table.sort_values("vs_population_median", ascending=False).reset_index()


def frontier_table(comps: xr.Dataset, models: pd.DataFrame, score: str, prob: float) -> pd.DataFrame:
    """Running-best frontier by quarter: each component's share of the gain since its first model (``since``), long form."""
    frontier, shares = headline.frontier_shares(comps, models, score)
    later = (frontier["model_id"] != frontier["model_id"].iloc[0]).to_numpy()  # the first has no gain yet
    shares = shares.assign_coords(frontier=frontier["period"].to_numpy()).isel(frontier=later)
    table = median_interval(shares, prob).to_dataframe("value")["value"].unstack("quantile").reset_index()
    table["component"] = table["component"].map(headline.SHARE_NAMES)
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
