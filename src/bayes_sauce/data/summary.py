"""Plain-text summaries of a dataset for the terminal (counts, ranges, exclusions)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_sauce.data.dataset import Dataset


def stata_percentile(values: np.ndarray, q: float) -> float:
    """Percentile with Stata's default (`summarize, detail`) definition: no interpolation across ties."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    pos = n * q / 100.0
    k = int(np.floor(pos))
    if pos == k:
        return float((x[k - 1] + x[min(k, n - 1)]) / 2) if k > 0 else float(x[0])
    return float(x[min(k, n - 1)])


def compute_range_ratio(log10_flops: pd.Series, lo: float = 5, hi: float = 95) -> float:
    """p95/p5 ratio of training compute with Stata's percentile definition (the paper's 1,321x)."""
    return 10 ** (stata_percentile(log10_flops.to_numpy(), hi) - stata_percentile(log10_flops.to_numpy(), lo))


def describe(dataset: Dataset) -> str:
    """A short multi-section summary of the dataset and its exclusions."""
    m = dataset.models
    lines = [f"Dataset: {dataset.source}", f"sha256: {dataset.sha256}", f"Models kept: {len(m)}"]
    lines.append(f"Raw developer prefixes: {m['developer_raw'].nunique()}; major-developer models: {int(m['is_major'].sum())}")
    for title, column in (("cohort", "cohort"), ("developer group", "developer_group")):
        counts = m[column].value_counts(dropna=False).sort_index()
        lines.append(f"\nModels by {title}:")
        lines += [f"  {k!s:<16} {v:>4}" for k, v in counts.items()]
    source = np.where(m["is_leaderboard"], "Open LLM Leaderboard", "other (self-reported)")
    lines.append("\nScore source:")
    lines += [f"  {k:<24} {v:>4}" for k, v in pd.Series(source).value_counts().items()]
    lines.append(
        f"\nTokens: {int((~m['tokens_inherited']).sum())} total-token counts, "
        f"{int(m['tokens_inherited'].sum())} inherited from the base model; "
        f"{int(m['size_from_estimate'].sum())} sizes are outside estimates"
    )
    if len(m):
        lines.append(
            f"Compute: 10^{m['log10_flops'].min():.2f} .. 10^{m['log10_flops'].max():.2f} FLOPs "
            f"(median 10^{m['log10_flops'].median():.2f}); p95/p5 ratio {compute_range_ratio(m['log10_flops']):,.0f}x (Stata percentiles)"
        )
        lines.append(
            f"MMLU-Pro: min {m['mmlu_pro'].min():.4f}, median {m['mmlu_pro'].median():.4f}, max {m['mmlu_pro'].max():.4f}; "
            f"{int((m['mmlu_pro'] <= 0.1).sum())} at or below the 0.1 chance floor"
        )
        lines.append(f"Release months: {m['release_month'].min()} .. {m['release_month'].max()}")
    lines.append(f"\nExcluded rows: {len(dataset.excluded)}")
    for reason, count in dataset.excluded["reason"].value_counts().items():
        lines.append(f"  {count:>4}  {reason}")
    return "\n".join(lines)
