"""Markdown for "how well does the model predict": the LOO comparison and the backtest, from their CSVs.

``compare`` writes ``loo.csv`` and ``backtest`` writes ``summary.csv``; these functions turn them into
the tables and sentences printed by the commands and included in a fit's report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

LOO_SCALE = ("log probability of the observed count of correct answers for a new model with the same inputs "
             "(model effect integrated out; also the developer effect for one-model developers; in the family "
             "structure a new member of the model's family)")


# Pairs whose difference answers "does pooling developers predict better than the paper's fixed effects?"
POOLING_PAIRS = (("hierarchical", "paper_fixed_effects"), ("hierarchical_logit_normal", "paper_fixed_effects"),
                 ("hierarchical", "fixed_groups"))


def pairwise_differences(pointwise: pd.DataFrame) -> list[str]:
    """elpd differences with their paired SE for the pooling pairs present in the pointwise LOO table."""
    elpd = pointwise.pivot(index="model_id", columns="spec", values="elpd_i")
    lines = []
    for a, b in POOLING_PAIRS:
        if {a, b} <= set(elpd.columns):
            diff = elpd[a] - elpd[b]
            lines.append(f"- {a} - {b}: {diff.sum():+.1f} (SE {diff.std() * len(diff) ** 0.5:.1f})")
    return lines


def loo_markdown(table: pd.DataFrame, pointwise: pd.DataFrame | None = None) -> str:
    """The LOO comparison table with its Pareto-k record, what it says in one sentence, and the pooling pairs."""
    view = table.reset_index(names="spec")[["spec", "rank", "elpd", "se", "elpd_diff", "dse", "p", "weight",
                                            "gate_passed", "pareto_k_threshold", "pareto_k_high_psis", "exact_refits",
                                            "pareto_k_high_left"]]
    best, rest = view.iloc[0], view.iloc[1:]
    clear = rest[rest["elpd_diff"].abs() > 2 * rest["dse"]]
    sentence = (f"Best expected predictive density: **{best['spec']}**; "
                + (f"{len(clear)} of {len(rest)} others are worse by more than twice the SE of the difference "
                   f"({', '.join(clear['spec'])})." if len(clear) else "no other is worse by more than twice the SE "
                   "of the difference."))
    uncertain = view[view["pareto_k_high_left"] > 0]
    if len(uncertain):
        sentence += (" Pareto k stays above its threshold after the refits for " + ", ".join(
            f"{r.spec} ({int(r.pareto_k_high_left)} models)" for r in uncertain.itertuples())
            + ": PSIS cannot be trusted for those models (in the family structure mostly families of one, whose "
              "level only that model pins; leaving it out makes it a new family), so their elpd is likely "
              "optimistic; the new-family check and the backtest test that prediction directly.")
    failed = view.loc[~view["gate_passed"].astype(bool), "spec"].tolist()
    if failed:
        sentence += f" Fits that FAILED the diagnostics gate (their numbers are not reliable): {', '.join(failed)}."
    return "\n".join([
        f"PSIS-LOO on the {LOO_SCALE}. elpd_diff is against the best; dse its standard error; p the effective "
        "number of parameters; pareto_k_threshold the Pareto k above which PSIS is not trusted (ArviZ's, from the number "
        "of draws: min(1 - 1/log10(S), 0.7)); how many models are above it before refits, exact refits done, and how "
        "many still above it afterwards.", "", view.to_markdown(index=False, floatfmt=".1f"), "", sentence,
        *(["", "Pooling developers vs the paper's fixed effects (elpd difference, paired SE):", *pairs]
          if (pairs := pairwise_differences(pointwise) if pointwise is not None else []) else [])])


def backtest_markdown(summary: pd.DataFrame, cutoff: str, n_train: int, n_test: int) -> str:
    """The backtest table and a sentence on the best method by each score."""
    everyone = summary[summary["models"] == "all"].set_index("method")
    best = everyone["elpd"].idxmax()
    closest = (everyone["coverage_90"] - 0.9).abs().idxmin()
    sharpest = everyone["median_abs_error_points"].idxmin()
    return "\n".join([
        f"Fitted on the {n_train} models released up to {cutoff}; scored on the {n_test} released after it. elpd: "
        "summed log predictive density of the observed counts (same scale as LOO); coverage_90: share of observed "
        "scores inside the 90% predictive interval; median_abs_error_points: median |predicted median - observed| "
        "in MMLU-Pro points; group_unseen: held-out models whose developer group had no model before the cutoff.",
        "", summary.round({"elpd": 1, "mean_lpd": 2, "coverage_90": 3, "median_abs_error_points": 2, "elpd_diff": 1,
                           "elpd_diff_se": 1}).to_markdown(index=False), "",
        f"Highest out-of-time predictive density: **{best}**; coverage closest to 90%: **{closest}**; "
        f"smallest median error: **{sharpest}**."])


def prediction_section(folders: list[Path]) -> list[str]:
    """The report's "How well does the model predict" section from folders written by compare and backtest."""
    lines = ["## How well does the model predict"]
    for folder in folders:
        if (folder / "loo.csv").exists():
            pointwise = pd.read_csv(folder / "loo_pointwise.csv")
            lines += ["", f"### Leave-one-out (bayes-sauce compare, {folder})",
                      loo_markdown(pd.read_csv(folder / "loo.csv", index_col=0), pointwise)]
        if (folder / "summary.csv").exists() and (folder / "meta.csv").exists():
            meta = pd.read_csv(folder / "meta.csv").iloc[0]
            lines += ["", f"### Out of time, cutoff {meta['cutoff']} (bayes-sauce backtest, {folder})",
                      backtest_markdown(pd.read_csv(folder / "summary.csv"), meta["cutoff"], int(meta["n_train"]),
                                        int(meta["n_test"])), f"Figure: {folder / 'backtest.png'}"]
    if len(lines) == 1:
        lines.append("Not computed yet: run `bayes-sauce compare` and `bayes-sauce backtest --cutoff 2024q3`, then "
                     "`bayes-sauce report` again.")
    return lines
