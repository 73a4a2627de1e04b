"""Figures. Each function draws from tables already computed elsewhere and returns the figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402



def interval_forest(table: pd.DataFrame, title: str, xlabel: str, prob: float, log: bool = True,
                    reference: float | None = None, reference_label: str = "") -> plt.Figure:
    """Median and interval per row (columns label, median, lo, hi; optional paper marked with x), top row first."""
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(table) + 1.6), constrained_layout=True)
    y = np.arange(len(table))
    _interval_bars(ax, y, table, f"posterior median, {prob:.0%} interval", "C0")
    if "paper" in table and table["paper"].notna().any():
        ax.scatter(table["paper"], y, marker="x", color="k", zorder=3, label="paper's value")
    if reference is not None:
        ax.axvline(reference, color="k", lw=0.8, ls=":", label=reference_label or None)
    if log:
        ax.set_xscale("log")
    ax.set_yticks(y, table["label"], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="x", alpha=0.3, which="both")
    return fig


def probability_bars(probs: pd.Series, title: str, xlabel: str) -> plt.Figure:
    """Horizontal bars of probabilities (index: labels), largest first."""
    probs = probs.sort_values(ascending=True)
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(probs) + 1.6), constrained_layout=True)
    ax.barh(range(len(probs)), probs.to_numpy(), color="C0", label="share of posterior draws")
    ax.set_yticks(range(len(probs)), probs.index, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig


def quantity_posteriors(draws: pd.DataFrame, paper: dict[str, float], units: dict[str, str], ncols: int = 3) -> plt.Figure:
    """Histogram of each quantity's posterior draws (one panel per column of ``draws``), the paper's value marked.

    Multipliers (unit 'x') on a log axis, shares in percent.
    """
    columns = list(draws.columns)
    nrows = -(-len(columns) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.2 * nrows), constrained_layout=True, squeeze=False)
    for ax, column in zip(axes.flat, columns):
        unit = units.get(column, "")
        scale = 100.0 if unit == "share" else 1.0
        values = draws[column].to_numpy(dtype=float) * scale
        values = values[np.isfinite(values)]
        bins = np.geomspace(values.min(), values.max(), 40) if unit == "x" and values.min() > 0 else 40
        ax.hist(values, bins=bins, color="C0", alpha=0.7, label="posterior draws")
        value = paper.get(column, np.nan)
        if pd.notna(value):
            ax.axvline(value * scale, color="C3", lw=2, label="paper")
        if unit == "x":
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel({"x": "compute multiplier (x, log scale)", "share": "share (%)"}.get(unit, unit))
        ax.set_title(column, fontsize=8)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(columns):]:
        ax.set_visible(False)
    fig.suptitle("Posterior of headline numbers (histogram of draws) and the paper's value")
    return fig


def pareto_k(k: np.ndarray, score: np.ndarray, threshold: float, outcome: str = "mmlu_pro") -> plt.Figure:
    """PSIS-LOO Pareto k of each observation against its score, with the reliability thresholds."""
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    ax.scatter(score, k, s=8, alpha=0.6, color="C0", label=f"one model ({len(k)})")
    ax.axhline(threshold, color="C1", ls="--", lw=1, label=f"k = {threshold:.2f}: PSIS unreliable above")
    ax.axhline(1.0, color="C3", ls="--", lw=1, label="k = 1: estimate useless above")
    ax.set_xlabel(f"{outcome} accuracy")
    ax.set_ylabel("Pareto k (PSIS-LOO)")
    ax.set_title(f"Pareto k per model: {(k > threshold).mean():.0%} above {threshold:.2f}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig

def _interval_bars(ax: plt.Axes, y: np.ndarray, table: pd.DataFrame, label: str, color: str, scale: float = 1.0) -> None:
    """Horizontal medians with interval whiskers (columns median, lo, hi) at positions y."""
    err = np.vstack([table["median"] - table["lo"], table["hi"] - table["median"]]) * scale
    ax.errorbar(table["median"] * scale, y, xerr=err, fmt="o", color=color, capsize=3, label=label)


def shapley_bars(table: pd.DataFrame, prob: float) -> plt.Figure:
    """Shapley shares per view: the paper view beside the paper's bars and the paper's OLS on the same rows; the model
    view's components on their own panel (not comparable with the paper's numbers).

    ``table``: view, component, median, lo, hi, paper, ols.
    """
    views = list(dict.fromkeys(table["view"]))
    fig, axes = plt.subplots(1, len(views), figsize=(6.5 * len(views), 4.8), constrained_layout=True, squeeze=False)
    for ax, view in zip(axes[0], views):
        sub = table[table["view"] == view].reset_index(drop=True)
        y = np.arange(len(sub))
        if sub["paper"].notna().any():
            ax.barh(y + 0.2, 100 * sub["paper"], height=0.35, color="0.75", label="paper (Figure 1)")
        if sub["ols"].notna().any():
            ax.scatter(100 * sub["ols"], y + 0.2, marker="|", s=200, color="k", label="the paper's OLS on these rows")
        _interval_bars(ax, y - 0.2, sub, f"posterior median, {prob:.0%} interval", "C0" if view == "paper" else "C2",
                       scale=100)
        ax.set_yticks(y, sub["component"].str.replace("_", " "))
        ax.invert_yaxis()
        ax.set_xlabel("share of the variance of the logit score across models (%)")
        ax.set_title(f"{view} view" + (": the paper's decomposition at each draw's beta" if view == "paper" else
                                        ": the model's own components"), fontsize=9)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=3, frameon=False)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Variance shares (exact Shapley-Owen)")
    return fig


def developer_forest(table: pd.DataFrame, prob: float, base: str) -> plt.Figure:
    """Developer-group compute multipliers vs the base group: paper view, model view, the paper's OLS, log axis.

    ``table``: group, n_models, median, lo, hi (paper view), model_median, model_lo, model_hi, ols, ols_lo, ols_hi,
    paper.
    """
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(table) + 1.5), constrained_layout=True)
    y = np.arange(len(table))
    _interval_bars(ax, y - 0.2, table, f"paper view, {prob:.0%} interval", "C0")
    model = pd.DataFrame({"median": table["model_median"], "lo": table["model_lo"], "hi": table["model_hi"]})
    if model["median"].notna().any():
        _interval_bars(ax, y, model, f"model view (its base-developer effect), {prob:.0%} interval", "C2")
    if table["ols"].notna().any():
        ols = pd.DataFrame({"median": table["ols"], "lo": table["ols_lo"], "hi": table["ols_hi"]})
        _interval_bars(ax, y + 0.2, ols, f"paper's OLS on these rows, {prob:.0%} delta-method interval", "C3")
    ax.scatter(table["paper"], y + 0.2, marker="x", color="k", zorder=3, label="paper's published value")
    ax.axvline(1, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{g} ({n})" for g, n in zip(table["group"], table["n_models"])])
    ax.invert_yaxis()
    ax.set_xlabel(f"compute multiplier vs {base}, 10**(effect/beta) (x, log scale)")
    ax.set_title(f"Developer compute multipliers vs {base} (models released in brackets)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3, which="both")
    return fig


def spread_posterior(draws: pd.DataFrame, rows: pd.DataFrame, ncols: int = 3) -> plt.Figure:
    """Posterior of the within-firm spreads (one panel per column of ``draws``, named from ``rows``, the headline
    table by quantity), the paper's value marked where it has one; log axis."""
    columns = [c for c in draws.columns if c in rows.index]
    nrows = -(-len(columns) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols, 3.6 * nrows), constrained_layout=True, squeeze=False)
    for ax, column in zip(axes.flat, columns):
        values = draws[column].to_numpy(dtype=float)
        values = values[np.isfinite(values) & (values > 0)]
        ax.hist(values, bins=np.geomspace(values.min(), values.max(), 50), color="C0", alpha=0.7)
        paper = rows.loc[column, "paper"]
        if pd.notna(paper):
            ax.axvline(paper, color="C3", lw=2, label=f"paper {paper:.2f}x")
            ax.legend(fontsize=8)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("compute-equivalent spread (x, log scale)")
        ax.set_ylabel("posterior draws")
        ax.set_title(rows.loc[column, "name"].replace("Within-firm efficiency spread, major developers ", ""),
                     fontsize=8)
    for ax in axes.flat[len(columns):]:
        ax.set_visible(False)
    fig.suptitle("Within-firm efficiency spread of major-developer models: posterior")
    return fig


def frontier_pairs(table: pd.DataFrame, prob: float) -> plt.Figure:
    """Each component's share of the logit gain between frontier models, with intervals and the paper's values, one
    panel per view.

    ``table``: view, pair, scores (face value or leaderboard scale), component, median, lo, hi, paper.
    """
    table = table.assign(pair=table["pair"].where(table["scores"] == "face value",
                                                  table["pair"] + " (" + table["scores"] + ")"))
    views = list(dict.fromkeys(table["view"]))
    fig, axes = plt.subplots(len(views), 1, figsize=(10, 4.2 * len(views)), constrained_layout=True, squeeze=False)
    for ax, view in zip(axes[:, 0], views):
        sub_view = table[table["view"] == view]
        pairs = list(dict.fromkeys(sub_view["pair"]))
        components = list(dict.fromkeys(sub_view["component"]))
        width = 0.8 / len(pairs)
        x = np.arange(len(components))
        for i, pair in enumerate(pairs):
            sub = sub_view[sub_view["pair"] == pair].set_index("component").reindex(components)
            pos = x - 0.4 + width * (i + 0.5)
            ax.bar(pos, 100 * sub["median"], width=width, color=f"C{i}", alpha=0.6, label=pair)
            ax.errorbar(pos, 100 * sub["median"], yerr=100 * np.vstack([sub["median"] - sub["lo"],
                                                                        sub["hi"] - sub["median"]]),
                        fmt="none", color="k", capsize=3)
            if sub["paper"].notna().any():
                ax.scatter(pos, 100 * sub["paper"], marker="x", color="k", zorder=3, label="paper" if i == 0 else None)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(x, [c.replace("_", " ") for c in components], fontsize=8)
        ax.set_ylabel("share of the logit gain (%)")
        ax.set_title(f"{view} view: share of the gain between two models (median, {prob:.0%} interval)", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    return fig


def frontier_running(table: pd.DataFrame, prob: float) -> plt.Figure:
    """Along the running-best frontier: each component's share of the gain since the first frontier model.

    ``table``: period, display_name, since (the first frontier model), component, median, lo, hi.
    """
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    periods = list(dict.fromkeys(table["period"]))
    for i, (component, sub) in enumerate(table.groupby("component", sort=False)):
        pos = np.array([periods.index(p) for p in sub["period"]]) + (i - 1.5) * 0.12
        ax.errorbar(pos, 100 * sub["median"], yerr=100 * np.vstack([sub["median"] - sub["lo"], sub["hi"] - sub["median"]]),
                    fmt="o-", color=f"C{i}", capsize=2, label=component)
    names = table.drop_duplicates("period").set_index("period")["display_name"]
    ax.set_xticks(range(len(periods)), [f"{p}\n{names[p]}" for p in periods], fontsize=7)
    ax.axhline(0, color="k", lw=0.8)
    ax.axhline(100, color="k", lw=0.5, ls=":")
    ax.set_ylabel(f"share of the logit gain since {table['since'].iloc[0]} (%)")
    ax.set_title(f"Running-best frontier by quarter: components' shares (median, {prob:.0%} interval)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def scaling_curve(curve: pd.DataFrame, models: pd.DataFrame, outcome: str, period_column: str, prob: float) -> plt.Figure:
    """Expected score against compute per period, with credible bands, over the data."""
    fig, ax = plt.subplots(figsize=(9, 6), constrained_layout=True)
    for i, (period, sub) in enumerate(curve.groupby("period", sort=True)):
        data = models[models[period_column].astype(str) == str(period)]
        ax.scatter(data["log10_flops"], data[outcome], s=8, alpha=0.35, color=f"C{i}", edgecolor="none")
        ax.plot(sub["log10_flops"], sub["median"], color=f"C{i}", label=f"{period} ({len(data)} models)")
        ax.fill_between(sub["log10_flops"], sub["lo"], sub["hi"], color=f"C{i}", alpha=0.25)
    ax.set_xlabel("training compute, log10 FLOPs")
    ax.set_ylabel(f"{outcome} accuracy")
    ax.set_title(f"Scaling curve by period: average developer, model effect 0 (median, {prob:.0%} band), and the data")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


PPC_KINDS = {"fresh": "Replicated as new models (in the family structure: in new families)",
             "own": "Replicated from the saved predictive (a new member of each model's family, or its own effect)"}


def ppc_ecdf(table: pd.DataFrame, prob: float, kinds: dict[str, str] | None = None,
             title: str = "Posterior predictive check: distribution of scores across models") -> plt.Figure:
    """Predictive check: ECDF of the observed scores vs replicated datasets' ECDF bands.

    ``table``: score, observed, then median/lo/hi per replication kind (columns '<kind>_median', ...);
    ``kinds``: the panel title of each kind (default: the posterior's fresh and own model effects).
    """
    kinds = kinds or PPC_KINDS
    present = [k for k in kinds if f"{k}_median" in table]
    fig, axes = plt.subplots(1, len(present), figsize=(6 * len(present), 4.5), constrained_layout=True, squeeze=False)
    for ax, kind in zip(axes[0], present):
        ax.fill_between(table["score"], table[f"{kind}_lo"], table[f"{kind}_hi"], color="C0", alpha=0.3,
                        label=f"replicated, {prob:.0%} band")
        ax.plot(table["score"], table[f"{kind}_median"], color="C0", lw=1)
        ax.plot(table["score"], table["observed"], color="k", lw=1.5, label="observed")
        ax.set_xlabel("score (accuracy)")
        ax.set_ylabel("share of models with a score <= x (ECDF)")
        ax.set_title(kinds[kind], fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


def sensitivity_forest(table: pd.DataFrame, quantities: tuple[str, ...], default: str, prob: float) -> plt.Figure:
    """One panel per headline quantity: each variant's median and interval (hollow: failed the diagnostics gate),
    the default fit's interval shaded, the paper's value dashed; multipliers on a log axis.

    ``table``: long, one row per variant and quantity (variant, kind, quantity, median, lo, hi, paper, unit,
    gate_passed, error), in the sweep's variant order; variants without numbers are labelled '(error)'.
    """
    present = [q for q in quantities if q in set(table["quantity"])]
    variants = list(dict.fromkeys(table["variant"]))
    kind_of = dict(zip(table["variant"], table["kind"]))
    colors = {kind: f"C{i}" for i, kind in enumerate(dict.fromkeys(kind_of.values()))}
    errors = set(table.loc[table["quantity"].isna(), "variant"])
    ncols = min(4, len(present))
    nrows = -(-len(present) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.3 * ncols, 0.2 * len(variants) * nrows + 2), sharey=True,
                             squeeze=False, constrained_layout=True)
    y = {v: i for i, v in enumerate(variants)}
    for ax, quantity in zip(axes.flat, present):
        rows = table[table["quantity"] == quantity]
        ref = rows[rows["variant"] == default]
        if len(ref) and ref["lo"].notna().all():
            ax.axvspan(float(ref["lo"].iloc[0]), float(ref["hi"].iloc[0]), color="0.88", zorder=0)
        for r in rows.itertuples():
            color = colors[r.kind]
            ax.errorbar(r.median, y[r.variant], xerr=[[r.median - r.lo], [r.hi - r.median]], fmt="o", ms=4, capsize=2,
                        color=color, mfc=color if r.gate_passed else "white")
        if rows["paper"].notna().any():
            ax.axvline(float(rows["paper"].dropna().iloc[0]), color="k", ls="--", lw=1)
        if (rows["unit"] == "x").all():
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(quantity, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes.flat[len(present):]:
        ax.set_visible(False)
    axes[0, 0].set_yticks(range(len(variants)), [f"{v} (error)" if v in errors else v for v in variants], fontsize=7)
    axes[0, 0].invert_yaxis()
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=f"{k} variants" if k != default else default)
               for k, c in colors.items()]
    handles += [plt.Line2D([], [], marker="o", ls="", color="0.4", mfc="white", label="failed the diagnostics gate"),
                plt.Rectangle((0, 0), 1, 1, color="0.88", label=f"default fit's {prob:.0%} interval"),
                plt.Line2D([], [], color="k", ls="--", label="the paper's value")]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5), fontsize=8)
    fig.suptitle(f"Headline numbers under each variant: median and {prob:.0%} interval")
    return fig


def backtest_scores(scores: pd.DataFrame, cutoff: str, prob: float) -> plt.Figure:
    """Predicted (median and interval) vs observed score per method, coloured by whether the developer was seen."""
    methods = list(dict.fromkeys(scores["method"]))
    ncols = min(len(methods), 2 if len(methods) == 4 else 3)
    nrows = -(-len(methods) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.6 * nrows), sharex=True, sharey=True,
                             squeeze=False)
    for ax in axes.flat[len(methods):]:
        ax.set_visible(False)
    for ax, method in zip(axes.flat, methods):
        part = scores[scores["method"] == method]
        for seen, colour, label in ((True, "tab:blue", "developer seen before cutoff"),
                                    (False, "tab:orange", "developer new after cutoff")):
            s = part[part["developer_seen"] == seen]
            ax.errorbar(s["observed"], s["median"], yerr=[s["median"] - s["lo"], s["hi"] - s["median"]], fmt="o",
                        ms=2.5, lw=0.5, alpha=0.6, color=colour, label=f"{label} ({len(s)})")
        lims = [scores[["observed", "lo"]].min().min(), scores[["observed", "hi"]].max().max()]
        ax.plot(lims, lims, color="black", lw=0.8)
        ax.set_title(f"{method}: {prob:.0%} coverage {part['covered'].mean():.0%}, "
                     f"median |error| {part['abs_error_points'].median():.1f} pts",
                     fontsize=9)
        ax.set_xlabel("observed MMLU-Pro")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"predicted (median, {prob:.0%} interval)")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Backtest: fitted on models released up to {cutoff}, predicting those released after")
    fig.tight_layout()
    return fig
