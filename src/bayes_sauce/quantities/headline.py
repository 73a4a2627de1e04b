"""The paper's headline quantities, with stable ids and their definitions written beside them.

Two kinds: quantities of the decomposition (functions of the per-model components, so they work
per OLS fit, bootstrap replicate or posterior draw) and descriptive quantities of the data.
Ids are the stable snake_case names of the output contract (``headline.csv``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.data.summary import compute_range_ratio
from bayes_sauce.periods import month_ordinal as month_ordinals
from bayes_sauce.quantities import decompose

# The paper's named models: its label -> our model_id.
PAPER_MODELS = {
    "Llama-2-70B": "meta-llama__Llama-2-70b-hf",
    "DeepSeek-V3": "Deepseek-V3",
    "GPT-4.5": "GPT-4.5",
    "Gemini-1.5-Pro": "Gemini-1.5-Pro",
    "Grok-3": "Grok3-Beta",
    "Claude-3-Opus": "Claude-3-Opus",
}
# The paper's frontier comparisons and the top models whose level shares it reports.
FRONTIER_PAIRS = (("Llama-2-70B", "DeepSeek-V3"), ("Llama-2-70B", "GPT-4.5"))
LEVEL_MODELS = ("GPT-4.5", "Gemini-1.5-Pro", "Grok-3", "DeepSeek-V3", "Claude-3-Opus", "Llama-2-70B")
THRESHOLD_NORM_SCORE = 0.15  # the paper's "reach 15% normalised MMLU-Pro"
MIN_MODELS_PER_FIRM = 5  # per-developer within-firm spreads need at least this many models
# The key headline numbers: printed after a run, shown in the sweep's figure and robustness table.
KEY_QUANTITIES = (
    "compute_slope", "shapley_compute", "shapley_progress", "shapley_developer", "shapley_model",
    "progress_multiplier_last_vs_first", "progress_halving_time_months", "within_firm_spread_p90_p10",
    "within_firm_spread_p75_p25", "frontier_compute_share__Llama-2-70B__DeepSeek-V3",
    "frontier_compute_share__Llama-2-70B__GPT-4.5", "developer_multiplier__Nvidia", "developer_multiplier__Microsoft",
    "developer_multiplier__Qwen", "developer_multiplier__DeepSeek", "threshold_compute_fall_all",
    "threshold_compute_fall_all_fitted",
)
# Output name of each component (the time component is the paper's "shared progress").
SHARE_NAMES = {"compute": "compute", "time": "progress", "developer": "developer", "family": "family",
               "controls": "controls",
               "model_effect": "model"}


@dataclass(frozen=True)
class Quantity:
    """One headline number: its id, value (over any sample dims), unit and definition."""

    id: str
    value: xr.DataArray
    unit: str
    definition: str


def safe_label(label: str) -> str:
    """A model or group label usable inside an id and a file name (spaces and symbols -> '-')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")


def running_best(models: pd.DataFrame, score: str, period: str = "release_quarter") -> pd.DataFrame:
    """The frontier: per period, the best-scoring model released up to the end of that period."""
    rows = []
    for p in sorted(models[period].dropna().unique()):
        so_far = models[models[period] <= p].sort_values([score, "model_id"], ascending=[False, True])
        rows.append({"period": p, **so_far.iloc[0][["model_id", "display_name", score]].to_dict()})
    return pd.DataFrame(rows)


def min_compute_fall(models: pd.DataFrame, score_norm: str, threshold: float = THRESHOLD_NORM_SCORE,
                     period: str = "release_month") -> tuple[float, pd.Series, pd.Series]:
    """Fall in the minimum compute reaching a normalised score: first vs last (running minimum).

    First: the cheapest model reaching the threshold in the earliest period in which any does.
    Last: the cheapest such model released by the last period (the running minimum at the end).
    Returns (ratio of their FLOPs, first model's row, last model's row).
    """
    reach = models[models[score_norm] >= threshold]
    first_period = reach[period].min()
    first = reach[reach[period] == first_period].nsmallest(1, "flops").iloc[0]
    last = reach.nsmallest(1, "flops").iloc[0]
    return float(first["flops"] / last["flops"]), first, last


def threshold_path(models: pd.DataFrame, score_norm: str, threshold: float = THRESHOLD_NORM_SCORE,
                   period: str = "release_month") -> pd.DataFrame:
    """The models behind :func:`min_compute_fall`: those reaching the threshold, by release month, with the
    running minimum of their compute and ``marker`` 'first' / 'last' on the two models of the ratio."""
    if not (models[score_norm] >= threshold).any():
        return pd.DataFrame(columns=["model_id", "display_name", period, "log10_flops", "running_min_log10_flops",
                                     "marker"])
    _, first, last = min_compute_fall(models, score_norm, threshold, period)
    reach = models.loc[models[score_norm] >= threshold, ["model_id", "display_name", period, "log10_flops"]]
    reach = reach.sort_values([period, "log10_flops"]).reset_index(drop=True)
    reach["running_min_log10_flops"] = reach["log10_flops"].cummin()
    reach["marker"] = reach["model_id"].map({first["model_id"]: "first", last["model_id"]: "last"}).fillna("")
    return reach


def threshold_fall(reach: xr.DataArray, log10_flops: xr.DataArray, month: xr.DataArray) -> xr.DataArray:
    """:func:`min_compute_fall`'s ratio, vectorised over any sample dims of ``reach``.

    ``reach`` (..., model) says which models reach the threshold (e.g. per posterior draw, by
    fitted score); ``log10_flops`` and ``month`` (an integer month ordinal) are per model. NaN where
    no model reaches it.
    """
    first_month = month.where(reach).min("model")
    first = log10_flops.where(reach & (month == first_month)).min("model")
    return 10 ** (first - log10_flops.where(reach).min("model"))


def month_ordinal(models: pd.DataFrame) -> xr.DataArray:
    """Each model's release month as an integer (months since 1970-01), dims (model,)."""
    return xr.DataArray(month_ordinals(models["release_month"]).to_numpy(), dims="model",
                        coords={"model": models["model_id"].to_numpy()})


def frontier_shares(components: xr.Dataset, models: pd.DataFrame, score: str) -> tuple[pd.DataFrame, xr.DataArray]:
    """The running-best frontier and each component's share of the logit gain from its first model.

    Returns the frontier table and shares with dims (..., frontier, component); NaN for the first model.
    """
    frontier = running_best(models, score)
    first = frontier["model_id"].iloc[0]
    with np.errstate(invalid="ignore"):
        shares = [decompose.change_shares(components, first, m) for m in frontier["model_id"]]
    return frontier, xr.concat(shares, dim="frontier")


def data_quantities(models: pd.DataFrame, outcome: str) -> list[Quantity]:
    """Descriptive headline numbers computed from the data alone."""
    out = [Quantity(
        "compute_range_p95_p5", xr.DataArray(compute_range_ratio(models["log10_flops"])), "x",
        "p95/p5 of training compute (6ND FLOPs) across the sample, Stata's percentile definition "
        "(numpy's default linear interpolation gives a smaller ratio)",
    )]
    for name, subset in (("all", models), ("majors", models[models["is_major"]])):
        if (subset[f"{outcome}_norm"] >= THRESHOLD_NORM_SCORE).any():
            ratio, first, last = min_compute_fall(subset, f"{outcome}_norm")
            out.append(Quantity(
                f"threshold_compute_fall_{name}", xr.DataArray(ratio), "x",
                f"fall in the minimum compute reaching >= {THRESHOLD_NORM_SCORE:.0%} normalised {outcome} "
                f"({name} models): cheapest in the first month any reaches it ({first['display_name']}, "
                f"{first['release_month']}, {first['flops']:.3g} FLOPs) / cheapest by the last month "
                f"({last['display_name']}, {last['release_month']}, {last['flops']:.3g} FLOPs); rests on single models",
            ))
    flops = models.set_index("model_id")["flops"]
    for start, end in FRONTIER_PAIRS:
        a, b = PAPER_MODELS[start], PAPER_MODELS[end]
        if a in flops.index and b in flops.index:
            out.append(Quantity(
                f"frontier_compute_growth__{start}__{end}", xr.DataArray(flops[b] / flops[a]), "x",
                f"training compute of {end} / {start}",
            ))
    return out


def _frontier_pairs(models: pd.DataFrame, score: str) -> list[tuple[str, str, str, str]]:
    """(label, model_id) pairs to decompose: the paper's, then the running-best frontier's first -> last."""
    ids = set(models["model_id"])
    pairs = [(s, PAPER_MODELS[s], e, PAPER_MODELS[e]) for s, e in FRONTIER_PAIRS
             if PAPER_MODELS[s] in ids and PAPER_MODELS[e] in ids]
    frontier = running_best(models, score)
    first, last = frontier.iloc[0], frontier.iloc[-1]
    if first["model_id"] != last["model_id"]:
        pairs.append((safe_label(first["display_name"]), first["model_id"],
                      safe_label(last["display_name"]), last["model_id"]))
    return pairs


def component_quantities(components: xr.Dataset, models: pd.DataFrame, score: str) -> list[Quantity]:
    """Headline numbers of the decomposition: within-firm spreads, frontier change and level shares.

    ``components`` follows the convention of :mod:`bayes_sauce.decompose` with ``model`` coordinates
    equal to ``models['model_id']``; ``score`` is the outcome column used to find the frontier.
    """
    beta = components["beta"]
    out: list[Quantity] = []
    majors = models.loc[models["is_major"].astype(bool), "model_id"].tolist()
    # A model's own efficiency: its model-specific effect, plus its base model's (family) where the model has one.
    efficiency = components["model_effect"] + (components["family"] if "family" in components else 0.0)
    what = "family and fine-tune effects e (base model's and model's own)" if "family" in components else \
        "model-specific effects e"
    for lo, hi in ((0.10, 0.90), (0.25, 0.75)):
        tag = f"p{hi * 100:.0f}_p{lo * 100:.0f}"
        if len(majors) >= 2:
            out.append(Quantity(
                f"within_firm_spread_{tag}",
                decompose.within_firm_spread(efficiency.sel(model=majors), beta, lo, hi), "x",
                f"10**((q{hi * 100:.0f}(e) - q{lo * 100:.0f}(e)) / beta) over the {what} of the "
                f"{len(majors)} major-developer models (numpy linear percentiles): the compute-equivalent gap "
                "between a firm's more and less efficient models",
            ))
    counts = models.loc[models["is_major"].astype(bool), "developer"].value_counts()
    for developer in sorted(counts[counts >= MIN_MODELS_PER_FIRM].index):
        ids = models.loc[models["developer"] == developer, "model_id"].tolist()
        out.append(Quantity(
            f"within_firm_spread_p90_p10__{safe_label(developer)}",
            decompose.within_firm_spread(efficiency.sel(model=ids), beta), "x",
            f"as within_firm_spread_p90_p10, over the {len(ids)} models of {developer} only",
        ))
    for start, start_id, end, end_id in _frontier_pairs(models, score):
        shares = decompose.change_shares(components, start_id, end_id)
        for component in shares["component"].values:
            out.append(Quantity(
                f"frontier_{SHARE_NAMES[component]}_share__{start}__{end}", shares.sel(component=component, drop=True),
                "share",
                f"{SHARE_NAMES[component]} component's share of the logit gain from {start} to {end} "
                "(components: beta*x, period effect, developer effect, model effect; intercept cancels)",
            ))
    for label in LEVEL_MODELS:
        if PAPER_MODELS[label] in set(models["model_id"]):
            shares = decompose.level_shares(components, PAPER_MODELS[label])
            out.append(Quantity(
                f"level_compute_share__{label}", shares.sel(component="compute", drop=True), "share",
                f"beta*x over the sum of {label}'s components (intercept dropped), x = log of FLOPs/1e18: "
                "depends on that arbitrary origin, so not identified",
            ))
    return out
