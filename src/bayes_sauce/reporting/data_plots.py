"""Figures of the data: scores against compute by developer group and period, the frontier, the threshold fall,
the chance floor.

Each function draws from tables already computed elsewhere and returns the figure.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bayes_sauce.data.schema import GROUPS, OTHER_GROUPS  # noqa: E402
from bayes_sauce.data.summary import family_table  # noqa: E402
from bayes_sauce.scale import scale_of  # noqa: E402


def score_vs_compute(models: pd.DataFrame) -> plt.Figure:
    """MMLU-Pro against training compute, one colour per developer group, chance floor marked."""
    fig, ax = plt.subplots(figsize=(9, 6), constrained_layout=True)
    cmap = plt.get_cmap("tab20")
    for i, group in enumerate(g for g in GROUPS if g in set(models["developer_group"])):
        sub = models[models["developer_group"] == group]
        other = group in OTHER_GROUPS
        ax.scatter(
            sub["log10_flops"], sub["mmlu_pro"], s=10 if other else 28, alpha=0.35 if other else 0.9,
            color="0.55" if group == "Other-Med" else cmap(i % 20), marker="o" if other else "D",
            label=f"{group} ({len(sub)})", edgecolor="none" if other else "k", linewidth=0.3,
        )
    ax.axhline(scale_of("mmlu_pro").floor, color="k", ls=":", lw=1)
    ax.text(ax.get_xlim()[0], 0.102, " chance (10 options)", va="bottom", fontsize=8)
    ax.set_xlabel("training compute, log10 FLOPs (6 x params x tokens)")
    ax.set_ylabel("MMLU-Pro accuracy")
    ax.set_title(f"MMLU-Pro vs training compute, {len(models)} models, by developer group")
    ax.legend(fontsize=7, ncol=2, loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    return fig


def _group_scatter(ax: plt.Axes, models: pd.DataFrame, y: str, x: str = "log10_flops", label: bool = True) -> None:
    """Models as points, one colour per developer group (Other bins small and faint, majors as diamonds)."""
    cmap = plt.get_cmap("tab20")
    for i, group in enumerate(GROUPS):
        sub = models[models["developer_group"] == group]
        if sub.empty:
            continue
        other = group in OTHER_GROUPS
        ax.scatter(sub[x], sub[y], s=8 if other else 24, alpha=0.35 if other else 0.9,
                   color="0.55" if group == "Other-Med" else cmap(i % 20), marker="o" if other else "D",
                   edgecolor="none" if other else "k", linewidth=0.3, label=f"{group} ({len(sub)})" if label else None)


def score_vs_compute_by_period(models: pd.DataFrame, period_column: str, outcome: str = "mmlu_pro") -> plt.Figure:
    """One panel per release period: score against compute, one colour per developer group, shared axes."""
    periods = sorted(models[period_column].dropna().unique())
    fig, axes = plt.subplots(1, len(periods), figsize=(5 * len(periods), 4.8), sharex=True, sharey=True,
                             constrained_layout=True, squeeze=False)
    for ax, period in zip(axes[0], periods):
        sub = models[models[period_column] == period]
        _group_scatter(ax, sub, outcome)
        ax.axhline(scale_of(outcome).floor, color="k", ls=":", lw=1)
        ax.set_title(f"{period}: {len(sub)} models", fontsize=10)
        ax.set_xlabel("training compute, log10 FLOPs")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="upper left", frameon=False)
    axes[0, 0].set_ylabel(f"{outcome} accuracy")
    fig.suptitle(f"{outcome} vs training compute by release period (dotted: chance); colours: developer groups")
    return fig


def frontier_over_time(models: pd.DataFrame, frontier: pd.DataFrame, outcome: str = "mmlu_pro") -> plt.Figure:
    """Every model's score by release month, and the running-best frontier by quarter with its models named.

    ``frontier``: period (quarter), display_name, and the score column (``headline.running_best``).
    """
    fig, ax = plt.subplots(figsize=(10, 5.5), constrained_layout=True)
    month = pd.PeriodIndex(models["release_month"], freq="M").to_timestamp()
    board = models["is_leaderboard"].astype(bool).to_numpy()
    ax.scatter(month[board], models.loc[board, outcome], s=8, alpha=0.3, color="0.5", edgecolor="none",
               label=f"Open LLM Leaderboard score ({board.sum()})")
    ax.scatter(month[~board], models.loc[~board, outcome], s=30, color="C3", marker="s",
               label=f"self-reported score, other protocol ({(~board).sum()})")
    ends = pd.PeriodIndex([p.upper() for p in frontier["period"]], freq="Q").end_time.normalize()
    ax.step(ends, frontier[outcome], where="post", color="C0", lw=2, label="running best by quarter (frontier)")
    for end, name, score in zip(ends, frontier["display_name"], frontier[outcome]):
        ax.annotate(name, (end, score), xytext=(3, 4), textcoords="offset points", fontsize=7, color="C0")
    ax.axhline(scale_of(outcome).floor, color="k", ls=":", lw=1, label="chance")
    ax.set_xlabel("release month")
    ax.set_ylabel(f"{outcome} accuracy")
    ax.set_title(f"{outcome} by release month and the running-best frontier")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def threshold_fall(path: pd.DataFrame, threshold: float, ratio_label: str) -> plt.Figure:
    """The compute of every model reaching a score threshold by release month, the running minimum, and the
    two models whose ratio is the threshold fall (``headline.threshold_path``)."""
    fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    month = pd.PeriodIndex(path["release_month"], freq="M").to_timestamp()
    ax.scatter(month, path["log10_flops"], s=10, color="0.55", alpha=0.5, edgecolor="none",
               label=f"models reaching {threshold:.0%} normalised score ({len(path)})")
    ax.step(month, path["running_min_log10_flops"], where="post", color="C0", lw=2, label="cheapest so far")
    for _, row in path[path["marker"] != ""].iterrows():
        at = pd.Period(row["release_month"], freq="M").to_timestamp()
        ax.scatter([at], [row["log10_flops"]], s=60, color="C3", zorder=3)
        ax.annotate(f"{row['display_name']} ({row['marker']})", (at, row["log10_flops"]), xytext=(5, 5),
                    textcoords="offset points", fontsize=8, color="C3")
    ax.set_xlabel("release month")
    ax.set_ylabel("training compute, log10 FLOPs")
    ax.set_title(f"Cheapest compute reaching {threshold:.0%} normalised score: fell {ratio_label}")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    return fig


def chance_floor(score: np.ndarray, logit: np.ndarray, logit_sd: np.ndarray, outcome: str) -> plt.Figure:
    """What the logit of the chance-normalised score does: the transform with the models on it, and how noisy
    each model's logit is from question sampling (``logit_sd``, e.g. ``summary.logit_measurement_sd``)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    scale = scale_of(outcome)
    floor = scale.floor
    grid = np.linspace(floor + 1e-4, 0.99, 400)
    ax = axes[0]
    ax.plot(grid, scale.to_logit(grid), color="C0", label="logit((score - floor) / (1 - floor))")
    ax.scatter(score, logit, s=6, color="k", alpha=0.4, label=f"the {len(score)} models")
    ax.axvline(floor, color="k", ls=":", lw=1, label=f"chance floor {floor:g}")
    ax.set_xlabel(f"{outcome} accuracy")
    ax.set_ylabel("logit of the normalised score")
    ax.set_title("The paper's outcome: scores near chance map to very negative logits", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    ax = axes[1]
    ax.scatter(score, logit_sd, s=6, color="C1", alpha=0.6, label="each model (binomial sampling SD)")
    ax.axvline(floor, color="k", ls=":", lw=1, label=f"chance floor {floor:g}")
    ax.set_yscale("log")
    ax.set_xlabel(f"{outcome} accuracy")
    ax.set_ylabel("SD of the logit from question sampling (log scale)")
    ax.set_title("Measurement noise on the logit scale: large only near chance", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return fig


def family_figure(models: pd.DataFrame, top: int = 12) -> tuple[plt.Figure, pd.DataFrame]:
    """The largest families whose root is in the data: every member's MMLU-Pro against its root's (and the points)."""
    table = family_table(models)
    chosen = table[table["root_in_data"] & (table["n_models"] > 1)].head(top)
    points = models[models["family"].isin(chosen["family"])]
    points = points[["family", "model_id", "developer", "family_source", "is_root", "is_leaderboard", "mmlu_pro"]].copy()
    points["root_mmlu_pro"] = points["family"].map(chosen.set_index("family")["root_mmlu_pro"])
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(chosen) + 1.6), constrained_layout=True)
    rng = np.random.default_rng(0)
    for y, row in enumerate(chosen.itertuples()):
        members = points[(points["family"] == row.family) & ~points["is_root"]]
        above = int((members["mmlu_pro"] > row.root_mmlu_pro).sum())
        jitter = y + rng.uniform(-0.18, 0.18, len(members))
        board = members["is_leaderboard"].to_numpy(dtype=bool)
        ax.scatter(members["mmlu_pro"][board], jitter[board], s=12, color="C0", alpha=0.55, edgecolor="none",
                   label="fine-tune, merge or variant" if y == 0 else None)
        ax.scatter(members["mmlu_pro"][~board], jitter[~board], s=30, marker="s", facecolor="none", edgecolor="C1",
                   label="self-reported score (other protocol)" if y == 0 else None)
        ax.scatter([row.root_mmlu_pro], [y], s=90, marker="D", color="C3", edgecolor="k", zorder=3,
                   label="the family's root (base model)" if y == 0 else None)
        ax.text(1.01, y, f"{above}/{len(members)} above root", transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    ax.set_yticks(range(len(chosen)))
    ax.set_yticklabels([f"{f.split('__')[-1]} ({n})" for f, n in zip(chosen["family"], chosen["n_models"])], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(scale_of("mmlu_pro").floor, color="k", ls=":", lw=1)
    ax.set_xlabel("MMLU-Pro accuracy (dotted: chance)")
    ax.set_title(f"The {len(chosen)} largest model families with their base model in the data:\n"
                 "each member's score against its base model's", fontsize=10)
    if len(chosen):
        fig.legend(fontsize=8, loc="outside lower center", ncol=3, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return fig, points.reset_index(drop=True)
