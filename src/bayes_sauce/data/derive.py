"""Derived columns of the curated dataset: compute, developer group, periods, sources and flags.

Everything here is computed from the validated input columns (and the shipped annotations), never
typed in, so the curated file and any user file in the authors' schema go through the same code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_sauce.data.lineage import derive_lineage
from bayes_sauce.data.lineage_tables import LINEAGE_COLUMNS, LineageTables
from bayes_sauce.data.schema import (
    ANNOTATIONS_PATH,
    CURATED_COLUMNS,
    MAJOR_LABELS,
    NAME_MOE_PATTERN,
    other_groups,
)
from bayes_sauce.periods import period_labels
from bayes_sauce.scale import SCALES


def read_annotations(path: Path = ANNOTATIONS_PATH) -> pd.DataFrame:
    """Per-model facts that are not in the authors' file (outside size estimates, leaderboard MoE flag)."""
    ann = pd.read_csv(path, dtype={"model_id": str})
    return ann[["model_id", "size_from_estimate", "oll_moe"]]


def developer_groups(developer_raw: pd.Series, developer_label: pd.Series, ln_flops_1e18: pd.Series) -> pd.Series:
    """The paper's 13 groups: a major's name, else the Other size bin of the developer's mean ln(6 N[B] D[B])."""
    major = developer_label.map(MAJOR_LABELS)
    return major.fillna(other_groups(ln_flops_1e18.groupby(developer_raw).transform("mean")))


def derive(valid: pd.DataFrame, annotations: pd.DataFrame | None = None,
           lineage: LineageTables | None = None) -> pd.DataFrame:
    """Add compute, developer group, periods, sources, flags and lineage to validated input columns."""
    df = valid.copy()
    df["display_name"] = df["model_id"].str.split("__").str[-1]
    df["tokens_inherited"] = df["tokens_total_b"].isna()
    df["tokens_b"] = df["tokens_total_b"].fillna(df["tokens_base_b"])
    df["flops"] = 6.0 * (df["params_b"] * 1e9) * (df["tokens_b"] * 1e9)
    df["log10_flops"] = np.log10(df["flops"])
    # The paper's unit for the size bins: ln(6 N[B] D[B]) = ln(FLOPs / 1e18).
    df["ln_flops_1e18"] = np.log(6.0 * df["params_b"] * df["tokens_b"])

    major = df["developer_label"].map(MAJOR_LABELS)
    df["is_major"] = major.notna()
    df["developer_group"] = developer_groups(df["developer_raw"], df["developer_label"], df["ln_flops_1e18"])
    # Canonical developer name: the major's name, otherwise the raw prefix.
    df["developer"] = major.fillna(df["developer_raw"])

    df["release_quarter"] = period_labels(df["release_month"], "quarter").astype(str)
    df["cohort"] = period_labels(df["release_month"], "cohort")
    df["release_month"] = df["release_month"].astype(str)
    df["is_leaderboard"] = df["hf_id"].notna()

    ann = (annotations if annotations is not None else read_annotations()).set_index("model_id")
    df["size_from_estimate"] = df["model_id"].map(ann["size_from_estimate"]).astype("boolean").fillna(False).astype(bool)
    oll_moe = df["model_id"].map(ann["oll_moe"]).astype("boolean")
    df["is_moe"] = (oll_moe.fillna(False) | df["model_id"].str.contains(NAME_MOE_PATTERN, regex=True)).astype(bool)
    for outcome, scale in SCALES.items():
        df[f"{outcome}_norm"] = scale.normalised(df[outcome])
    df[LINEAGE_COLUMNS] = derive_lineage(df, lineage)
    return df[CURATED_COLUMNS]
