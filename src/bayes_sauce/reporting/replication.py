"""The replication's files and its comparison with the paper: the contract of ``bayes-sauce replicate``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bayes_sauce.replication.ols import Replication
from bayes_sauce.reporting.claims import as_printed
from bayes_sauce.reporting.paper import (coefficient_comparison, coefficient_markdown, compare, comparison_markdown,
                                         format_value)


def write_outputs(rep: Replication, out: Path, paper: pd.DataFrame) -> dict[str, Path]:
    """Write the contract's files (coefficients, fit, shapley, headline, excluded) plus frontier and comparison."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("coefficients.csv", "fit.json", "shapley.csv", "headline.csv",
                                           "excluded.csv", "frontier.csv", "comparison.md")}
    rep.fit.coefficients.to_csv(paths["coefficients.csv"], index=False)
    fit_info = {
        "spec": rep.spec.name, "n_obs": rep.fit.n_obs, "r2": rep.fit.r2, "n_clusters": rep.fit.n_clusters,
        "cluster": rep.spec.ols.cluster, "outcome": rep.spec.data.outcome, "time": rep.spec.data.time,
        "base_period": rep.design.base_period, "base_group": rep.design.base_group,
        "vcov": "CRV1, small-sample correction G/(G-1) * (N-1)/(N-K) (Stata's)",
        "bootstrap_replicates": rep.replicates, "interval_level": rep.level,
        "data": rep.dataset.source, "data_sha256": rep.dataset.sha256, "n_excluded": len(rep.dataset.excluded),
    }
    paths["fit.json"].write_text(json.dumps(fit_info, indent=2) + "\n")
    rep.shapley.to_csv(paths["shapley.csv"], index=False)
    table = rep.headline.assign(paper=paper["value"].reindex(rep.headline["quantity"]).to_numpy())
    table[["quantity", "median", "lo", "hi", "paper", "unit", "definition", "interval"]].to_csv(
        paths["headline.csv"], index=False)
    rep.dataset.excluded.to_csv(paths["excluded.csv"], index=False)
    rep.frontier.to_csv(paths["frontier.csv"], index=False)
    paths["comparison.md"].write_text(comparison_report(rep, paper) + "\n")
    return paths


def other_rows(rep: Replication) -> str:
    """How the replication's rows differ from those the shipped data give under the same filters (the paper's
    rows), e.g. '3 added'; '' when they are the same models with the same values."""
    from bayes_sauce.data.load import load

    columns = ["model_id", rep.spec.data.outcome, "log10_flops", "developer_group", "release_month"]
    ours, shipped = (frame[columns].set_index("model_id") for frame in
                     (rep.dataset.models, load(None, rep.spec.data.filters.to_filters()).models))
    added, missing = ours.index.difference(shipped.index), shipped.index.difference(ours.index)
    common = ours.index.intersection(shipped.index)
    a, b = ours.loc[common], shipped.loc[common]
    changed = int((~((a == b) | (a.isna() & b.isna()))).any(axis=1).sum())
    parts = [f"{n} {what}" for n, what in ((len(added), "added"), (len(missing), "left out"), (changed, "changed"))
             if n]
    return ", ".join(parts)


def comparison_report(rep: Replication, paper: pd.DataFrame) -> str:
    """Markdown: headline quantities and coefficients, ours beside the paper's."""
    spec = rep.spec
    lines = [
        f"# Replication: {spec.name}",
        f"{spec.description}. Outcome {spec.data.outcome}, time {spec.data.time}; {rep.fit.n_obs} models, "
        f"{rep.fit.n_clusters} clusters ({spec.ols.cluster}); R2 {rep.fit.r2:.3f}; "
        f"{len(rep.dataset.excluded)} rows excluded (excluded.csv).",
        "",
        "## Headline quantities (paper values from data/paper_numbers.csv; definitions in headline.csv)",
        comparison_markdown(compare(rep.headline, paper), rep.level),
        "",
        "## Coefficients (standard errors clustered, Stata's small-sample correction)",
        coefficient_markdown(coefficient_comparison(rep.fit.coefficients, paper)),
    ]
    return "\n".join(lines)


def replication_summary(rep: Replication, paper: pd.DataFrame) -> str:
    """A few lines for `run`: the fit, how many of the paper's headline numbers and coefficients it reproduces as
    the paper prints them, and the ones it does not; the full table is comparison.md."""
    table = compare(rep.headline, paper).dropna(subset=["ours", "paper"]).set_index("quantity")
    decimals = paper["decimals"]
    same = pd.Series([as_printed(table.loc[q, "ours"], table.loc[q, "paper"], decimals[q]) for q in table.index],
                     index=table.index)
    coefficients = coefficient_comparison(rep.fit.coefficients, paper).dropna(subset=["paper"])
    close = [as_printed(o, p, decimals[f"coef__{t}"])
             for t, o, p in zip(coefficients["term"], coefficients["estimate"], coefficients["paper"])]
    ours = rep.headline.set_index("quantity")
    beta = ours.loc["compute_slope"]
    fitted = (f"The paper's OLS on {rep.fit.n_obs} models: R2 {rep.fit.r2:.3f}, compute slope {beta['median']:.3f} "
              f"[{beta['lo']:.3f}, {beta['hi']:.3f}] ({rep.level:.0%} interval, clustered SEs).")
    if other := other_rows(rep):
        return "\n".join([fitted, f"These are not the paper's rows ({other}), so its numbers are not expected here: "
                                   "they stand beside ours in comparison.md, uncounted."])
    differ = "; ".join(f"{ours.loc[q, 'name']}: ours {format_value(table.loc[q, 'ours'], table.loc[q, 'unit'])}, paper "
                       f"{format_value(table.loc[q, 'paper'], table.loc[q, 'unit'])}" for q in same.index[~same])
    return "\n".join([
        fitted,
        f"Reproduced as the paper prints them: {int(same.sum())} of its {len(table)} headline numbers and "
        f"{sum(close)} of its {len(coefficients)} coefficients." + (f" Not reproduced: {differ}." if differ else "")])
