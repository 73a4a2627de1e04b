"""The paper's headline quantities, each a structured key (``keys.Key``: its id and name are rendered from it), a
value and its definition written beside it.

Two kinds: quantities of a decomposition (functions of the per-model components of one view, so they work per OLS
fit, bootstrap replicate or posterior draw) and descriptive quantities of the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.data.summary import compute_range_ratio
from bayes_sauce.periods import month_ordinal as month_ordinals
from bayes_sauce.quantities import decompose
from bayes_sauce.quantities.keys import MODEL, PAPER, SPREADS, Key, safe_label

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
# The variant of a frontier share with self-reported scores read on the leaderboard harness's scale (less the protocol
# offset, as the model reads them); without it a share takes every score at face value, as the paper does.
LEADERBOARD_SCALE = "leaderboard_scale"
PROTOCOL = "protocol"  # the protocol offset's component (model.protocol_offset)
MIN_MODELS_PER_FIRM = 5  # per-developer within-firm spreads need at least this many models
# The key headline numbers: printed after a run, shown in the sweep's figure and robustness table.
KEY_QUANTITIES = tuple(k.id for k in (
    Key("compute_slope"), *(Key("shapley", PAPER, c) for c in ("compute", "progress", "developer", "model")),
    Key("progress_last_vs_first", PAPER), Key("progress_last_vs_first", MODEL), Key("halving_time", MODEL),
    Key("within_firm_spread", PAPER, spread="p90_p10"), Key("within_firm_spread", PAPER, spread="p75_p25"),
    Key("within_firm_spread", MODEL, spread="p90_p10"),
    Key("within_firm_spread", MODEL, spread="p90_p10", variant="beta_at_median"),
    *(Key("frontier_share", PAPER, "compute", pair=pair) for pair in FRONTIER_PAIRS),
    *(Key("frontier_share", PAPER, "compute", pair=pair, variant=LEADERBOARD_SCALE) for pair in FRONTIER_PAIRS),
    *(Key("developer_multiplier", view, subject=g) for g in ("Nvidia", "Microsoft", "Qwen", "DeepSeek")
      for view in (PAPER, MODEL)),
    Key("threshold_fall", subject="all"), Key("threshold_fall", MODEL, subject="all", variant="fitted"),
))


@dataclass(frozen=True)
class Quantity:
    """One headline number: what it is (its key), its value (over any sample dims), unit and definition."""

    key: Key
    value: xr.DataArray
    unit: str
    definition: str

    @property
    def id(self) -> str:
        return self.key.id


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
    """Descriptive headline numbers computed from the data alone (no view: the same whatever the model)."""
    out = [Quantity(
        Key("compute_range"), xr.DataArray(compute_range_ratio(models["log10_flops"])), "x",
        "p95/p5 of training compute (6ND FLOPs) across the sample, Stata's percentile definition "
        "(numpy's default linear interpolation gives a smaller ratio)",
    )]
    for name, subset in (("all", models), ("majors", models[models["is_major"]])):
        if (subset[f"{outcome}_norm"] >= THRESHOLD_NORM_SCORE).any():
            ratio, first, last = min_compute_fall(subset, f"{outcome}_norm")
            out.append(Quantity(
                Key("threshold_fall", subject=name), xr.DataArray(ratio), "x",
                f"fall in the minimum compute reaching >= {THRESHOLD_NORM_SCORE:.0%} normalised {outcome} "
                f"({name} models): cheapest in the first month any reaches it ({first['display_name']}, "
                f"{first['release_month']}, {first['flops']:.3g} FLOPs) / cheapest by the last month "
                f"({last['display_name']}, {last['release_month']}, {last['flops']:.3g} FLOPs); rests on single models",
            ))
    flops = models.set_index("model_id")["flops"]
    for start, end in FRONTIER_PAIRS:
        a, b = PAPER_MODELS[start], PAPER_MODELS[end]
        if a in flops.index and b in flops.index:
            out.append(Quantity(Key("frontier_compute_growth", pair=(start, end)), xr.DataArray(flops[b] / flops[a]),
                                "x", f"training compute of {end} / {start}"))
    return out


def frontier_pairs(models: pd.DataFrame, score: str) -> list[tuple[str, str, str, str]]:
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


@dataclass(frozen=True)
class Efficiency:
    """What a view calls a model's efficiency (its values per model, NaN where a draw gives it none) and its words."""

    values: xr.DataArray
    what: str


def spread_quantities(efficiency: Efficiency, beta: xr.DataArray, models: pd.DataFrame, view: str,
                      variant: str = "") -> list[Quantity]:
    """Within-firm spreads of the major developers' models pooled (each pair of percentiles) and per major
    developer with at least MIN_MODELS_PER_FIRM models (90th/10th), as compute multipliers."""
    majors = models.loc[models["is_major"].astype(bool), "model_id"].tolist()
    slope = "beta at its posterior median" if variant == "beta_at_median" else "beta"
    out = []
    if len(majors) >= 2:
        for tag, (lo, hi) in SPREADS.items():
            out.append(Quantity(
                Key("within_firm_spread", view, spread=tag, variant=variant),
                decompose.within_firm_spread(efficiency.values.sel(model=majors), beta, lo, hi), "x",
                f"10**((q{hi * 100:.0f}(e) - q{lo * 100:.0f}(e)) / {slope}) over the {efficiency.what} e of the "
                f"{len(majors)} major-developer models (numpy linear percentiles): the compute-equivalent gap between "
                "a firm's more and less efficient models"))
    counts = models.loc[models["is_major"].astype(bool), "developer"].value_counts()
    for developer in sorted(counts[counts >= MIN_MODELS_PER_FIRM].index):
        ids = models.loc[models["developer"] == developer, "model_id"].tolist()
        out.append(Quantity(
            Key("within_firm_spread", view, subject=developer, spread="p90_p10", variant=variant),
            decompose.within_firm_spread(efficiency.values.sel(model=ids), beta), "x",
            f"as the pooled 90th/10th percentile spread, over the {len(ids)} models of {developer} only"))
    return out


def leaderboard_scale(components: xr.Dataset, protocol: xr.DataArray) -> xr.Dataset:
    """A view's components with every self-reported score read on the leaderboard harness's scale: its protocol
    offset (``protocol``, per model and draw; 0 for a leaderboard score) taken out of the gain. Where the offset is a
    component of its own (the model view) it is dropped; else (the paper view, whose residual holds it) it is taken
    out of the residual. Compute's part of a change is the same either way; only the gain it is a share of differs."""
    if PROTOCOL in components:
        return components.drop_vars(PROTOCOL)
    residual = decompose.component_names(components)[-1]
    return components.assign({residual: components[residual] - protocol})


def _differs(protocol: xr.DataArray | None, start: str, end: str) -> bool:
    """Whether a change's end-points differ in protocol offset in some draw (else the two readings are one)."""
    return protocol is not None and bool((protocol.sel(model=end) != protocol.sel(model=start)).any())


def frontier_change_quantities(components: xr.Dataset, models: pd.DataFrame, score: str, view: str = PAPER,
                               protocol: xr.DataArray | None = None) -> list[Quantity]:
    """Each component's share of the logit gain between the frontier pairs (``frontier_pairs``), self-reported scores
    at face value (the paper's reading) and, where ``protocol`` (each model's protocol offset per draw) moves a pair's
    gain, also on the leaderboard scale (:func:`leaderboard_scale`, variant ``LEADERBOARD_SCALE``)."""
    out = []
    for start, start_id, end, end_id in frontier_pairs(models, score):
        readings = [("", components)]
        if _differs(protocol, start_id, end_id):
            readings.append((LEADERBOARD_SCALE, leaderboard_scale(components, protocol)))
        for variant, comps in readings:
            shares = decompose.change_shares(comps, start_id, end_id)
            names = ", ".join(decompose.component_names(comps))
            scores = ("; self-reported scores less the protocol offset (on the leaderboard harness's scale, as the "
                      "model reads them)" if variant else
                      "; self-reported scores at face value, as the paper" if protocol is not None else "")
            out += [Quantity(Key("frontier_share", view, str(c), pair=(start, end), variant=variant),
                             shares.sel(component=c, drop=True), "share",
                             f"{c} component's share of the logit gain from {start} to {end} (components: {names}; "
                             f"the intercept cancels{scores})") for c in shares["component"].values]
    return out


def component_quantities(components: xr.Dataset, models: pd.DataFrame, score: str, view: str = PAPER,
                         efficiency: Efficiency | None = None, protocol: xr.DataArray | None = None) -> list[Quantity]:
    """Headline numbers of one view's decomposition: within-firm spreads, frontier change and (paper view) level shares.

    ``components`` follows the convention of :mod:`bayes_sauce.quantities.decompose` (its residual named ``model`` in
    the paper view) with ``model`` coordinates equal to ``models['model_id']``; ``score`` is the outcome column used
    to find the frontier; ``efficiency`` is what the spreads measure (default: the residual, as the paper);
    ``protocol`` each model's self-reported protocol offset per draw (None: the model has none, or no row is
    self-reported), which adds the frontier shares on the leaderboard scale.
    """
    efficiency = efficiency or Efficiency(components[decompose.RESIDUAL], "model-specific effects (residuals)")
    out = spread_quantities(efficiency, components["beta"], models, view)
    out += frontier_change_quantities(components, models, score, view, protocol)
    if view == PAPER:
        for label in LEVEL_MODELS:
            if PAPER_MODELS[label] in set(models["model_id"]):
                shares = decompose.level_shares(components, PAPER_MODELS[label])
                out.append(Quantity(
                    Key("level_compute_share", view, subject=label), shares.sel(component="compute", drop=True), "share",
                    f"beta*x over the sum of {label}'s components (intercept dropped), x = log of FLOPs/1e18: "
                    "depends on that arbitrary origin, so not identified"))
    return out
