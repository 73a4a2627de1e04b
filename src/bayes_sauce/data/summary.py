"""Plain-text summaries of a dataset for the terminal (counts, ranges, exclusions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.lineage import on_leaderboard
from bayes_sauce.data.lineage_tables import FAMILY_SOURCES, LineageTables
from bayes_sauce.data.schema import CURATED_PATH, OTHER_BIN_EDGES
from bayes_sauce.periods import COHORTS, is_paper_cohort
from bayes_sauce.scale import scale_of


def stata_percentile(values: np.ndarray, q: float) -> float:
    """Percentile with Stata's default (`summarize, detail`) definition: no interpolation across ties.

    numpy's ``averaged_inverted_cdf`` is the same definition but places the order statistic at n * (q / 100) in
    floating point, which can miss an exact position (n = 50, q = 14 gives x(8), not the mean of x(7) and x(8));
    tests/test_library_equivalence.py shows where the two agree."""
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


def _cohort_note(label: object) -> str:
    """A cohort outside the paper's window, marked as one of the cohorts continuing the paper's."""
    if not isinstance(label, str) or is_paper_cohort(label):
        return ""
    side = "after" if label > COHORTS[-1][0] else "before"
    return f"  ({side} the paper's window: a continuing cohort, see README 'Adding your own models')"


def describe(dataset: Dataset) -> str:
    """A short multi-section summary of the dataset and its exclusions."""
    m = dataset.models
    lines = [f"Dataset: {dataset.source}", f"sha256: {dataset.sha256}", f"Models kept: {len(m)}"]
    lines.append(f"Raw developer prefixes: {m['developer_raw'].nunique()}; major-developer models: {int(m['is_major'].sum())}")
    for title, column in (("cohort", "cohort"), ("developer group", "developer_group")):
        counts = m[column].value_counts(dropna=False).sort_index()
        lines.append(f"\nModels by {title}:")
        lines += [f"  {k!s:<16} {v:>4}{_cohort_note(k) if column == 'cohort' else ''}" for k, v in counts.items()]
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


def family_table(models: pd.DataFrame) -> pd.DataFrame:
    """One row per family, largest first: size, developers, where its members' lineage came from, the root's score
    (``root_in_data``: the root is one of these rows, so a filter that drops it drops the root's score too)."""
    score = models.set_index("model_id")["mmlu_pro"]
    rows = []
    for family, members in models.groupby("family", sort=False):
        sources = members["family_source"].value_counts()
        root_here = bool(members["family_root_in_data"].iloc[0]) and family in score.index  # not filtered out
        rows.append({
            "family": family,
            "n_models": len(members),
            "n_developers": members["developer"].nunique(),
            "root_in_data": root_here,
            "root_mmlu_pro": score[family] if root_here else np.nan,
            "median_mmlu_pro": members["mmlu_pro"].median(),
            "sources": "; ".join(f"{k} {v}" for k, v in sources.items()),
        })
    table = pd.DataFrame(rows)
    return table.sort_values(["n_models", "family"], ascending=[False, True], kind="stable").reset_index(drop=True)


def icc_oneway(values: np.ndarray, groups: np.ndarray) -> float:
    """Intraclass correlation ICC(1) from a one-way random-effects ANOVA, with the unbalanced-design group size
    n0 = (N - sum n_i^2 / N) / (k - 1): the share of variance between groups."""
    frame = pd.DataFrame({"y": np.asarray(values, dtype=float), "g": np.asarray(groups)})
    stats = frame.groupby("g")["y"].agg(["size", "mean"])
    n, k = len(frame), len(stats)
    if k < 2 or n <= k:
        return float("nan")
    grand = frame["y"].mean()
    msb = float((stats["size"] * (stats["mean"] - grand) ** 2).sum()) / (k - 1)
    msw = float(((frame["y"] - frame["g"].map(stats["mean"])) ** 2).sum()) / (n - k)
    n0 = (n - float((stats["size"] ** 2).sum()) / n) / (k - 1)
    return (msb - msw) / (msb + (n0 - 1) * msw)


def residual_icc(models: pd.DataFrame, groupings: tuple[str, ...] = ("family", "developer", "developer_group"),
                 outcome: str = "mmlu_pro") -> dict[str, float]:
    """ICC(1) by each grouping of the residual of an OLS of the logit of the normalised score on log10 FLOPs
    and cohort dummies: how much of what compute and time leave unexplained is shared within a family or developer."""
    scale = scale_of(outcome)
    m = models[(models[outcome] > scale.floor) & (models[outcome] < 1) & models["cohort"].notna()]
    y = scale.to_logit(m[outcome]).to_numpy()
    x = np.column_stack([np.ones(len(m)), m["log10_flops"].to_numpy(),
                         pd.get_dummies(m["cohort"], drop_first=True, dtype=float).to_numpy()])
    resid = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    return {g: icc_oneway(resid, m[g].to_numpy()) for g in groupings}


def family_summary(models: pd.DataFrame, tables: LineageTables | None = None, top: int = 10) -> str:
    """Family counts, sources, the rows not on the leaderboard, the largest families and the residual ICCs, as text."""
    table = family_table(models)
    own_or_root = ((models["family"] != models["model_id"]) | models["is_root"]).mean()
    multi = table[table["n_models"] > 1]
    lines = [
        "Lineage (family = the pretraining run a model descends from; see data/README.md):",
        f"  {len(models)} models in {len(table)} families, {int((table['n_models'] == 1).sum())} of them singletons; "
        f"{own_or_root:.1%} of models belong to another model's family or are a root",
        f"  {len(multi)} families with 2+ models hold {int(multi['n_models'].sum())} models; "
        f"{int((multi['n_developers'] > 1).sum())} of them span several developers "
        f"({int(multi.loc[multi['n_developers'] > 1, 'n_models'].sum())} models)",
        "  source of each row's family: " + ", ".join(
            f"{s} {int((models['family_source'] == s).sum())}" for s in FAMILY_SOURCES if (models["family_source"] == s).any()),
    ]
    board = on_leaderboard(models, tables)
    missing = models[~board]
    if len(missing):
        none = int((missing["family_source"] == "none").sum())
        lines.append(f"  {len(missing)} rows are not in the leaderboard file: {len(missing) - none} placed by the curated "
                     f"table, a user column or their name and size; {none} are their own family (family_source none)")
    lines.append(f"\n  Largest families (root score: the family root's MMLU-Pro where the root is in the data):")
    lines.append(f"  {'family':<42} {'models':>6} {'devs':>5} {'root in data':>12} {'root score':>10} {'median':>7}")
    for row in table.head(top).itertuples():
        root = f"{row.root_mmlu_pro:.3f}" if np.isfinite(row.root_mmlu_pro) else "-"
        lines.append(f"  {row.family:<42} {row.n_models:>6} {row.n_developers:>5} {str(row.root_in_data):>12} "
                     f"{root:>10} {row.median_mmlu_pro:>7.3f}")
    icc = residual_icc(models, tuple(g for g in ("family", "developer", "developer_group") if g in models))
    lines.append("\n  Residual ICC (logit MMLU-Pro on log10 FLOPs + cohort; one-way random-effects ANOVA): "
                 + ", ".join(f"{g} {v:.2f}" for g, v in icc.items()))
    return "\n".join(lines)


def shipped_developer_groups(path: Path = CURATED_PATH) -> pd.Series:
    """Each developer of the shipped curated file and its paper group (the reference for "new" developers)."""
    shipped = pd.read_csv(path, usecols=["developer", "developer_group"], dtype=str)
    return shipped.drop_duplicates("developer").set_index("developer")["developer_group"]


def developer_changes(rows: pd.DataFrame, kept: pd.DataFrame, shipped: pd.Series) -> pd.DataFrame:
    """Developers of a file (all its rows) that the shipped data does not have (``new``), or whose paper group
    differs from the shipped one because of the file's rows (``regrouped``): group, mean ln(6 N[B] D[B]) over
    the developer's rows in the file (what the Other bins are cut on), its rows and how many the filters kept."""
    out = []
    for developer, own in rows.groupby("developer", sort=True):
        group = own["developer_group"].iloc[0]
        before = shipped.get(developer)
        if before is not None and before == group:
            continue
        out.append({"developer": developer, "status": "new" if before is None else "regrouped",
                    "developer_group": group, "shipped_group": before or "",
                    "mean_ln_flops_1e18": own["ln_flops_1e18"].mean(), "n_rows": len(own),
                    "n_kept": int(own["model_id"].isin(kept["model_id"]).sum()),
                    "models": ", ".join(own["model_id"])})
    columns = ["developer", "status", "developer_group", "shipped_group", "mean_ln_flops_1e18", "n_rows", "n_kept",
               "models"]
    return pd.DataFrame(out, columns=columns)


def developer_changes_text(changes: pd.DataFrame) -> str:
    """``developer_changes`` for the terminal: which rows brought which new developers, and the group each got."""
    small, large = OTHER_BIN_EDGES
    rule = (f"a major's label gives its group; any other developer gets the Other size bin of its mean "
            f"ln(6 N[B] D[B]) over its rows in this file (<= {small:g} Small, {small:g}-{large:g} Med, > {large:g} Large)")
    if changes.empty:
        return "Developers: all are in the shipped data, with the same groups"
    lines = [f"Developers not in the shipped data, or regrouped by this file's rows ({rule}):"]
    for row in changes.itertuples():
        was = "new" if row.status == "new" else f"{row.shipped_group} in the shipped data"
        kept = "" if row.n_kept == row.n_rows else f", {row.n_kept} kept by the filters"
        lines.append(f"  {row.developer:<24} {row.developer_group:<12} ({was}; mean ln compute "
                     f"{row.mean_ln_flops_1e18:.2f} over {row.n_rows} row(s){kept}): {row.models}")
    return "\n".join(lines)
