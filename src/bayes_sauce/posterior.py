"""From a fitted posterior to the headline quantities, one value per draw.

The Bayesian counterpart of ``replication.build_components`` and ``replication.headline_table``:
the posterior is turned into the per-model components of eta (decompose's convention), and every
headline number is computed from them (or from the posterior's effects) for all draws at once, by
the same functions the OLS replication uses. Tables summarise each quantity by its median and
equal-tailed interval over the draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit, logit

from bayes_sauce import decompose, headline
from bayes_sauce.data import BASE_GROUP, CHANCE_FLOOR
from bayes_sauce.headline import Quantity
from bayes_sauce.predict import SAMPLE_DIMS, fitted_spec

MIN_MODELS_TO_RANK = 5  # developers ranked among "all developers" need at least this many models


def components(tree: xr.DataTree) -> xr.Dataset:
    """Per-model components of eta for every draw, dims (chain, draw, model), plus ``beta``.

    compute = beta * (log10 FLOPs - 18), as in ``replication.build_components`` (the posterior's
    x is centred at c0, so beta * (c0 - 18) moves from the intercept into compute); time = the
    period effect (vs the first period); developer = the developer's effect (vs the base group
    Other-Small, or the population mean without groups); model_effect = the model-specific effect.
    The intercept is not a component; eta = intercept + beta * (18 - c0) + the sum of components.
    """
    post, data = tree.posterior, tree.constant_data
    log10_flops = data["log10_flops_c"] + tree.attrs["c0_log10_flops"]
    comps = xr.Dataset({
        "compute": post["beta"] * (log10_flops - decompose.COMPUTE_ORIGIN_LOG10_FLOPS),
        "time": post["period_effect"].isel(period=data["period_idx"]),
        "developer": post["developer_effect"].isel(developer=data["developer_idx"]),
        "model_effect": post["model_effect"],
        "beta": post["beta"],
    })
    return comps.reset_coords(drop=True).transpose(*SAMPLE_DIMS, "model")


def systematic_logit(tree: xr.DataTree) -> xr.DataArray:
    """eta without the model-specific effect: the logit (normalised score) a model is expected to reach
    given its compute, period and developer; dims (chain, draw, model)."""
    post, data = tree.posterior, tree.constant_data
    eta = (post["intercept"] + post["beta"] * data["log10_flops_c"]
           + post["period_effect"].isel(period=data["period_idx"])
           + post["developer_effect"].isel(developer=data["developer_idx"]))
    return eta.reset_coords(drop=True).transpose(*SAMPLE_DIMS, "model")


def rank_probabilities(tree: xr.DataTree, developers: list[str]) -> pd.Series:
    """P(each developer has the largest compute multiplier among ``developers``), over the draws."""
    post = tree.posterior
    log_multiplier = (post["developer_effect"] / post["beta"]).sel(developer=developers)
    return decompose.prob_largest(log_multiplier, "developer", SAMPLE_DIMS).to_series()


def progress_quantities(tree: xr.DataTree, time: str) -> list[Quantity]:
    """Period multipliers vs the first period, last vs first, and the halving time of compute needed."""
    post = tree.posterior
    periods = [str(p) for p in post["period"].values]
    if len(periods) < 2:
        return []
    first, last = periods[0], periods[-1]
    progress = decompose.multiplier(post["period_effect"], post["beta"])
    out = [Quantity(f"progress_multiplier__{p}", progress.sel(period=p, drop=True), "x",
                    f"10**(tau/beta): compute-equivalent of period {p} vs {first}") for p in periods[1:]]
    out.append(Quantity("progress_multiplier_last_vs_first", progress.sel(period=last, drop=True), "x",
                        f"10**(tau/beta): shared progress, last period {last} vs first {first}"))
    months = headline.months_between(first, last, time)
    out.append(Quantity(
        "progress_halving_time_months", decompose.halving_time(progress.sel(period=last, drop=True), months),
        "months",
        f"months for the compute needed at a fixed score to halve: {months:.1f} months between the midpoints "
        f"of {first} and {last} x log 2 / log(progress_multiplier_last_vs_first), i.e. constant exponential "
        "progress between them; +inf in draws without progress",
    ))
    return out


def developer_quantities(tree: xr.DataTree, models: pd.DataFrame) -> list[Quantity]:
    """Group multipliers vs Other-Small (the paper's 13 groups) and P(most efficient) among the majors."""
    post = tree.posterior
    out = []
    if "group_effect" in post and BASE_GROUP in post["group"].values:
        groups = decompose.multiplier(post["group_effect"], post["beta"])
        for group in (str(g) for g in post["group"].values if g != BASE_GROUP):
            out.append(Quantity(
                f"developer_multiplier__{headline.safe_label(group)}", groups.sel(group=group, drop=True), "x",
                f"10**(nu/beta): compute-equivalent of {group}'s effect vs {BASE_GROUP} (a major: its own "
                f"developer effect; an Other bin: its pool mean)"))
    majors = sorted(models.loc[models["is_major"], "developer"].unique())
    if len(majors) >= 2:
        for developer, p in rank_probabilities(tree, majors).items():
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


def threshold_quantity(tree: xr.DataTree, models: pd.DataFrame, outcome: str) -> Quantity:
    """The threshold fall with each model's fitted (systematic) score instead of its observed score."""
    reach = systematic_logit(tree) >= logit(headline.THRESHOLD_NORM_SCORE)
    log10_flops = xr.DataArray(models["log10_flops"].to_numpy(), dims="model",
                               coords={"model": models["model_id"].to_numpy()})
    fall = headline.threshold_fall(reach, log10_flops, headline.month_ordinal(models))
    return Quantity(
        "threshold_compute_fall_all_fitted", fall, "x",
        f"as threshold_compute_fall_all, but a model reaches >= {headline.THRESHOLD_NORM_SCORE:.0%} normalised "
        f"{outcome} when its fitted score does (eta without its model-specific effect: what its compute, "
        "period and developer predict), per draw")


def quantities(tree: xr.DataTree, models: pd.DataFrame) -> list[Quantity]:
    """Every headline quantity of a fit, per draw where it has a posterior; ``models`` in the fit's model order."""
    spec = fitted_spec(tree)
    outcome = spec.data.outcome
    post = tree.posterior
    comps = components(tree)
    out = [
        Quantity("compute_slope", post["beta"], "logit per log10 FLOP",
                 "beta: logit gain (of the chance-normalised score) per 10x training compute"),
        Quantity("n_obs", xr.DataArray(post.sizes["model"]), "models", "models fitted"),
    ]
    out += [Quantity(s, post[s], "logit", f"posterior of the scale {s}") for s in ("sigma_developer", "sigma_model")
            if s in post]
    out += shapley_quantities(comps)
    out += progress_quantities(tree, spec.data.time)
    out += developer_quantities(tree, models)
    out += headline.component_quantities(comps, models, outcome)
    out += headline.data_quantities(models, outcome)
    out.append(threshold_quantity(tree, models, outcome))
    return out


def interval(value: xr.DataArray, prob: float) -> xr.DataArray:
    """Median and equal-tailed interval over the draws: the empirical quantiles (no interpolation, so
    infinite draws are allowed), dims (..., quantile) with coordinates lo, median, hi."""
    q = value.quantile([(1 - prob) / 2, 0.5, (1 + prob) / 2], dim=SAMPLE_DIMS, method="inverted_cdf")
    return q.assign_coords(quantile=["lo", "median", "hi"])


def summarise(quantities: list[Quantity], paper: pd.DataFrame, prob: float) -> pd.DataFrame:
    """The headline table: quantity, median, lo, hi, paper, unit, definition (lo/hi empty without draws)."""
    rows = []
    for q in quantities:
        if set(SAMPLE_DIMS) <= set(q.value.dims):
            s = interval(q.value, prob)
            median, lo, hi = (float(s.sel(quantile=k)) for k in ("median", "lo", "hi"))
        else:
            median, lo, hi = float(q.value), np.nan, np.nan
        rows.append({"quantity": q.id, "median": median, "lo": lo, "hi": hi,
                     "paper": paper["value"].get(q.id, np.nan), "unit": q.unit, "definition": q.definition})
    return pd.DataFrame(rows)


def _summary_columns(value: xr.DataArray, prob: float, prefix: str) -> pd.DataFrame:
    """median, lo, hi columns (prefixed) of a quantity with one non-sample dim."""
    frame = interval(value, prob).transpose(..., "quantile").to_pandas()
    return frame[["median", "lo", "hi"]].add_prefix(prefix)


def developer_table(tree: xr.DataTree, models: pd.DataFrame, prob: float) -> pd.DataFrame:
    """Every raw developer: multiplier vs the base group and vs the population, and rank probabilities.

    The population is the average developer: the unweighted mean of all developers' effects, per draw.
    P(most efficient) is among developers with >= MIN_MODELS_TO_RANK models, and among the majors.
    """
    post = tree.posterior
    effect, beta = post["developer_effect"], post["beta"]
    info = models.groupby("developer").agg(group=("developer_group", "first"), n_models=("model_id", "size"),
                                           is_major=("is_major", "first"))
    info = info.reindex(effect["developer"].values)
    vs_population = decompose.multiplier(effect - effect.mean("developer"), beta)
    table = pd.concat([info, _summary_columns(decompose.multiplier(effect, beta), prob, "vs_base_"),
                       _summary_columns(vs_population, prob, "vs_population_")], axis=1)
    for column, members in (("p_most_efficient", info.index[info["n_models"] >= MIN_MODELS_TO_RANK]),
                            ("p_most_efficient_major", info.index[info["is_major"]])):
        if len(members) >= 2:
            table[column] = rank_probabilities(tree, list(members))
    table.index.name = "developer"
    return table.sort_values("vs_population_median", ascending=False).reset_index()


def frontier_table(comps: xr.Dataset, models: pd.DataFrame, score: str, prob: float) -> pd.DataFrame:
    """Running-best frontier by quarter: each component's share of the gain since its first model (``since``), long form."""
    frontier, shares = headline.frontier_shares(comps, models, score)
    later = (frontier["model_id"] != frontier["model_id"].iloc[0]).to_numpy()  # the first has no gain yet
    shares = shares.assign_coords(frontier=frontier["period"].to_numpy()).isel(frontier=later)
    table = interval(shares, prob).to_dataframe("value")["value"].unstack("quantile").reset_index()
    table["component"] = table["component"].map(headline.SHARE_NAMES)
    table = frontier.merge(table.rename(columns={"frontier": "period"}), on="period")
    table["since"] = frontier["display_name"].iloc[0]
    return table[[*frontier.columns, "since", "component", "median", "lo", "hi"]]


def scaling_curve(tree: xr.DataTree, grid: np.ndarray, prob: float) -> pd.DataFrame:
    """Expected score against log10 FLOPs per period, for a model of average developer effect and e = 0.

    The average developer effect is the mean over the fitted models' developer components (so the
    curve runs through the data), per draw; the band is the credible interval of that curve.
    """
    post, data = tree.posterior, tree.constant_data
    floor = CHANCE_FLOOR[fitted_spec(tree).data.outcome]
    x = xr.DataArray(grid, dims="log10_flops", coords={"log10_flops": grid})
    developer = post["developer_effect"].isel(developer=data["developer_idx"]).mean("model")
    eta = post["intercept"] + post["beta"] * (x - tree.attrs["c0_log10_flops"]) + post["period_effect"] + developer
    score = floor + (1 - floor) * expit(eta)
    table = interval(score, prob).to_dataframe("score")["score"].unstack("quantile").reset_index()
    return table[["period", "log10_flops", "median", "lo", "hi"]]
