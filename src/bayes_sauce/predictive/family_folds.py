"""The new-family check, cross-validated: families held out in folds, each predicted by a fit without it.

A family informs its own level, and, where its developer based no other, that developer's level too; an
in-sample PIT of a family's models under "a new family" is therefore pulled towards 0.5 and says little.
Here the families are split into ``FOLDS`` folds (seeded, balanced by model count); each fold is fitted on
the other families (a saved fit is reused) and predicts its families' roots (else their first member) as
models of unseen families, by an unseen developer where the developer based only held-out families.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.filters import hold_out
from bayes_sauce.defaults import NEW_FAMILY_FOLDS as FOLDS
from bayes_sauce.defaults import SEED
from bayes_sauce.fit.fit import Fit
from bayes_sauce.fit.reuse import fit_or_reuse
from bayes_sauce.model.design import base_developers, sets_level
from bayes_sauce.model.new_rows import dataset_frame
from bayes_sauce.periods import PERIOD_COLUMN
from bayes_sauce.predictive.predict import predict


def family_folds(rows: pd.DataFrame, folds: int = FOLDS, seed: int = SEED) -> pd.Series:
    """Fold number per row: families in a seeded random order, each put in the fold with fewest models so far."""
    sizes = rows.groupby("family").size()
    order = np.random.default_rng(seed).permutation(sizes.index.to_numpy())
    load, fold_of = np.zeros(folds, dtype=int), {}
    for family in order:
        k = int(np.argmin(load))
        fold_of[family] = k
        load[k] += sizes[family]
    return rows["family"].map(fold_of).astype(int)


def first_members(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per family: the one that sets its level (``design.sets_level``), else its first member in the data."""
    order = rows.assign(_sets=sets_level(rows)).sort_values("_sets", ascending=False, kind="stable")
    return rows.loc[order.drop_duplicates("family").index].sort_index()


def as_new_families(rows: pd.DataFrame, time: str, lineage: pd.DataFrame | None = None) -> pd.DataFrame:
    """``new_rows``' input for rows as members of families the fit never saw: a family's members share one fresh
    level, drawn around the line of the family's base developer (found in ``lineage``, by default the rows
    themselves), with that developer's paper group, at each row's own compute and period."""
    lineage = rows if lineage is None else lineage
    base = rows["family"].map(base_developers(lineage))
    group = lineage.drop_duplicates("developer").set_index("developer")["developer_group"]
    return dataset_frame(rows, time).assign(
        developer=base.to_numpy(), developer_group=base.map(group).fillna(rows["developer_group"]).to_numpy(),
        family="new:" + rows["family"].astype(str).to_numpy())


def new_family_pit(fit: Fit, folder: Path, folds: int = FOLDS, progress: bool = True) -> pd.DataFrame:
    """Per family: the PIT of its first member's score under the fold fit that never saw the family.

    Columns model_id, family, fold, pit (NaN where the fold's fit has no model of the row's period, which a
    cohort spec cannot predict), developer_seen, and the fold fit's gate result."""
    rows = fit.rows.reset_index(drop=True)
    fold = family_folds(rows, folds, fit.spec.sampling.seed)
    data = Dataset(models=rows, source=str(fit.tree.attrs.get("data_source", "")),
                   sha256=str(fit.tree.attrs.get("data_sha256", "")))
    column, outcome = PERIOD_COLUMN[fit.spec.data.time], fit.spec.data.outcome
    parts = []
    for k in range(folds):
        held = fold == k
        if progress:
            print(f"  new-family check: fold {k + 1} of {folds} ({int(held.sum())} models held out)", flush=True)
        train = hold_out(data, held, f"family fold {k + 1} of {folds} held out")
        fold_fit = fit_or_reuse(fit.spec, train, [folder / f"fold{k + 1}"], extras=False)
        test = first_members(rows.loc[held])
        predictable = test[column].astype(str).isin(set(fold_fit.rows[column].astype(str)))
        pit = np.full(len(test), np.nan)
        seen = np.zeros(len(test), dtype=bool)
        if predictable.any():
            part = test.loc[predictable]
            draws = predict(fold_fit, as_new_families(part, fit.spec.data.time, rows), SEED)
            score = draws["score"].stack(sample=("chain", "draw")).transpose("new_model", "sample").values
            pit[predictable.to_numpy()] = (score <= part[outcome].to_numpy(dtype=float)[:, None]).mean(axis=1)
            seen[predictable.to_numpy()] = draws["developer_seen"].values
        parts.append(pd.DataFrame({"model_id": test["model_id"].to_numpy(), "family": test["family"].to_numpy(),
                                   "fold": k + 1, "pit": pit, "developer_seen": seen,
                                   "fold_gate_passed": fold_fit.passed}))
    return pd.concat(parts, ignore_index=True)
