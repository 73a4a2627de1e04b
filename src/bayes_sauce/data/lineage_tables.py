"""The tables lineage is derived from, all shipped in ``data/``: an extract of the Open LLM Leaderboard v2
contents (``leaderboard_lineage.csv``, built by ``make data`` from the raw file), hand-curated facts with their
sources (``lineage_curated.csv``), the name tags of base-model generations (``lineage_tags.csv``) and the name
patterns of pruned and upscaled models (``lineage_size_changes.csv``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bayes_sauce.paths import DATA_DIR

LEADERBOARD_LINEAGE_PATH = DATA_DIR / "leaderboard_lineage.csv"
CURATED_LINEAGE_PATH = DATA_DIR / "lineage_curated.csv"
TAGS_PATH = DATA_DIR / "lineage_tags.csv"
SIZE_CHANGES_PATH = DATA_DIR / "lineage_size_changes.csv"

FAMILY_COLUMNS = ["family", "family_source", "family_root_in_data", "is_root"]
LINEAGE_COLUMNS = [*FAMILY_COLUMNS, "base_developer", "base_developer_source", "base_developer_group", "size_change",
                   "duplicate_of"]
# How a family's base developer (the developer of its pretraining run) was found, strongest first: its root's
# developer, a curated fact, the organisation that published its root, the releaser of a model that shows no sign
# of being a derivative, the single developer whose pretraining runs a derivative's tokens and name point to, none.
BASE_SOURCES = ("root", "curated", "provider", "releaser", "inferred", "unknown")
# The base developer of derivatives whose base no evidence ties to one developer: one pseudo-developer for all of
# them (parentheses: no Hugging Face organisation can be named so).
UNKNOWN_BASE = "(unknown base)"
# How a model was made from a larger or smaller one (``lineage_size_changes.csv``): pruned (or pruned and distilled)
# to fewer parameters than its base, upscaled to more, or distilled from a teacher at its own base's size.
SIZE_CHANGES = ("pruned", "upscaled", "distilled")
# Optional columns of a user's file that override the derivation.
USER_COLUMNS = ["base_model", "family"]
# Strongest evidence first; a chain of steps reports its weakest link.
FAMILY_SOURCES = (
    "user",
    "curated",
    "declared",
    "official_variant",
    "own_root",
    "inferred_name_size",
    "inferred_size_tokens",
    "none",
)
# Relative tolerances when a model is matched to a family: its parameter count (fine-tunes and merges are
# often listed a little off their base's) and its base token count (copied from the base by the authors).
SIZE_TOLERANCE = 0.05
TOKENS_TOLERANCE = 0.01
MAX_CHAIN = 10

# The leaderboard's model types (emoji labels) -> short codes; "continuously" is tested before "pretrained".
TYPE_CODES = (
    ("continuously pretrained", "continuously_pretrained"),
    ("pretrained", "pretrained"),
    ("fine-tuned", "fine_tuned"),
    ("chat models", "chat"),
    ("merges", "merge"),
    ("multimodal", "multimodal"),
)
# Name tokens an organisation adds to one pretraining run's releases: post-training and context length.
VARIANT_TOKENS = {"instruct", "chat", "it", "hf", "base", "sft", "dpo", "rlhf"}
CONTEXT_TOKEN = re.compile(r"\d+k")
PRETRAINED = ("pretrained", "continuously_pretrained")  # types of a pretraining run
MERGE_SUFFIX = " (Merge)"
REMOVED = "Removed"  # the leaderboard's Base Model for 411 rows whose base it could not read


# --------------------------------------------------------------------------------------------- tables


def build_leaderboard_lineage(contents_csv: Path) -> pd.DataFrame:
    """Extract from the leaderboard contents what lineage needs, one row per result id (``eval_name``): the repo,
    the declared base (``base_is_merge``: declared as 'X (Merge)'), parameters, type, official flag, MMLU-Pro."""
    raw = pd.read_csv(contents_csv)
    base = raw["Base Model"].fillna("").astype(str)
    code = pd.Series("other", index=raw.index)
    for label, short in reversed(TYPE_CODES):
        code[raw["Type"].fillna("").str.contains(label, regex=False)] = short
    out = pd.DataFrame({
        "eval_name": raw["eval_name"],
        "repo": raw["Model"].str.extract(r'href="https://huggingface\.co/([^"]+)"')[0],
        "base_model": base.str.removesuffix(MERGE_SUFFIX),
        "base_is_merge": base.str.endswith(MERGE_SUFFIX),
        "params_b": raw["#Params (B)"],
        "type": code,
        "official": raw["Official Providers"].astype(bool),
        "mmlu_pro": raw["MMLU-PRO Raw"].round(6),
    })
    if out["repo"].isna().any():
        raise ValueError(f"{contents_csv}: no Hugging Face link in 'Model' for {out.loc[out['repo'].isna(), 'eval_name'].tolist()[:5]}")
    return out.sort_values("eval_name", kind="stable").reset_index(drop=True)


def read_leaderboard_lineage(path: Path = LEADERBOARD_LINEAGE_PATH) -> pd.DataFrame:
    """The shipped leaderboard extract (see ``build_leaderboard_lineage``)."""
    return pd.read_csv(path, dtype={"eval_name": str, "repo": str, "base_model": str, "type": str},
                       keep_default_na=False, na_values={"params_b": [""], "mmlu_pro": [""]})


def read_curated(path: Path = CURATED_LINEAGE_PATH) -> pd.DataFrame:
    """Hand-curated lineage facts: ``name, relation (alias|base|developer), target, source, note``; a ``developer``
    fact names the developer (its raw organisation) who pretrained the repo or the organisation's models."""
    curated = pd.read_csv(path, dtype=str, keep_default_na=False)
    bad = (~curated["relation"].isin(["alias", "base", "developer"]) | (curated["target"] == "")
           | (curated["source"] == ""))
    if bad.any():
        raise ValueError(f"{path}: row(s) {(curated.index[bad] + 2).tolist()} need relation alias, base or developer, "
                         "a target and a source")
    return curated


def read_tags(path: Path = TAGS_PATH) -> list[tuple[str, re.Pattern[str]]]:
    """Name tags of base-model generations, in the order they are tried (first match wins)."""
    tags = pd.read_csv(path, dtype=str, keep_default_na=False)
    return [(tag, re.compile(pattern)) for tag, pattern in zip(tags["tag"], tags["pattern"])]


def read_size_changes(path: Path = SIZE_CHANGES_PATH) -> list[tuple[str, re.Pattern[str]]]:
    """Name patterns of models pruned (or pruned and distilled) to fewer parameters than their base's, upscaled to
    more, or distilled from a teacher at their base's size, as ``(size_change, pattern)`` in the order they are
    tried."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    bad = ~table["size_change"].isin(SIZE_CHANGES)
    if bad.any():
        raise ValueError(f"{path}: row(s) {(table.index[bad] + 2).tolist()} need size_change "
                         f"{' or '.join(SIZE_CHANGES)}")
    return [(kind, re.compile(pattern)) for kind, pattern in zip(table["size_change"], table["pattern"])]


@dataclass(frozen=True)
class LineageTables:
    """The shipped tables lineage is derived from."""

    leaderboard: pd.DataFrame
    curated: pd.DataFrame
    tags: list[tuple[str, re.Pattern[str]]]
    size_changes: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)

    @classmethod
    def shipped(cls) -> LineageTables:
        return cls(read_leaderboard_lineage(), read_curated(), read_tags(), read_size_changes())


# --------------------------------------------------------------------------------------------- names
