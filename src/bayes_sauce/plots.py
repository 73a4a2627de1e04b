"""Figures. Each function draws from tables already computed elsewhere and returns the figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bayes_sauce.data import GROUPS, OTHER_GROUPS  # noqa: E402


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
    ax.axhline(0.1, color="k", ls=":", lw=1)
    ax.text(ax.get_xlim()[0], 0.102, " chance (10 options)", va="bottom", fontsize=8)
    ax.set_xlabel("training compute, log10 FLOPs (6 x params x tokens)")
    ax.set_ylabel("MMLU-Pro accuracy")
    ax.set_title(f"MMLU-Pro vs training compute, {len(models)} models, by developer group")
    ax.legend(fontsize=7, ncol=2, loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    return fig
