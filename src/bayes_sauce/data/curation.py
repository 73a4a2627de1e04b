"""Regenerate the shipped files in ``data/`` from the raw public sources in ``shared/data_raw``.

Run once by a maintainer (``make data``); the package never reads ``shared/`` at analysis time.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bayes_sauce.data.lineage_tables import LEADERBOARD_LINEAGE_PATH, build_leaderboard_lineage
from bayes_sauce.data.load import write_curated
from bayes_sauce.data.protocol_pairs import PAIRS_PATH, build_protocol_pairs
from bayes_sauce.data.raw_sources import AUTHORS_FILE, OLL_FILE
from bayes_sauce.data.schema import ANNOTATIONS_PATH, CURATED_PATH

# Closed models whose parameter and token counts are outside estimates (the developer never
# published them); the paper's footnotes and the authors' README describe these as estimates.
SIZE_ESTIMATED = (
    "GPT-4.5",
    "GPT-4-Turbo",
    "Claude-3-Opus",
    "Claude 3.5 Sonnet",
    "Gemini-1.5-Pro",
    "Gemini-1.5-Flash",
    "Grok3-Beta",
)


def build_annotations(raw_dir: Path) -> pd.DataFrame:
    """Per-model facts from outside the authors' file: size estimates and the leaderboard's MoE flag."""
    authors = pd.read_csv(raw_dir / AUTHORS_FILE, dtype=str)
    oll = pd.read_csv(raw_dir / OLL_FILE, usecols=["eval_name", "MoE"])
    moe = authors["Hugging Face ID"].map(oll.set_index("eval_name")["MoE"])
    missing = set(SIZE_ESTIMATED) - set(authors["Model"])
    if missing:
        raise ValueError(f"size-estimated models not in the authors' file: {sorted(missing)}")
    return pd.DataFrame(
        {
            "model_id": authors["Model"],
            "size_from_estimate": authors["Model"].isin(SIZE_ESTIMATED),
            "oll_moe": moe.astype("boolean"),
        }
    )


def rebuild(raw_dir: Path, data_dir: Path = CURATED_PATH.parent) -> pd.DataFrame:
    """Write ``annotations.csv`` and ``leaderboard_lineage.csv``, then ``models.csv`` and from it
    ``protocol_pairs.csv``; return the curated table."""
    build_annotations(raw_dir).to_csv(data_dir / ANNOTATIONS_PATH.name, index=False)
    build_leaderboard_lineage(raw_dir / OLL_FILE).to_csv(data_dir / LEADERBOARD_LINEAGE_PATH.name, index=False)
    models = write_curated(raw_dir / AUTHORS_FILE, data_dir / CURATED_PATH.name)
    build_protocol_pairs(raw_dir, models).to_csv(data_dir / PAIRS_PATH.name, index=False)
    return models
