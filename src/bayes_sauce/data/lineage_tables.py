"""The tables lineage is derived from, all shipped in ``data/``: an extract of the Open LLM Leaderboard v2
contents (``leaderboard_lineage.csv``, built by ``make data`` from the raw file), hand-curated facts with their
sources (``lineage_curated.csv``) and the name tags of base-model generations (``lineage_tags.csv``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayes_sauce.paths import DATA_DIR

LEADERBOARD_LINEAGE_PATH = DATA_DIR / "leaderboard_lineage.csv"
CURATED_LINEAGE_PATH = DATA_DIR / "lineage_curated.csv"
TAGS_PATH = DATA_DIR / "lineage_tags.csv"

LINEAGE_COLUMNS = ["family", "family_source", "family_root_in_data", "is_root"]
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
    """Hand-curated lineage facts: ``name, relation (alias|base), target, source, note``."""
    curated = pd.read_csv(path, dtype=str, keep_default_na=False)
    bad = ~curated["relation"].isin(["alias", "base"]) | (curated["target"] == "") | (curated["source"] == "")
    if bad.any():
        raise ValueError(f"{path}: row(s) {(curated.index[bad] + 2).tolist()} need relation alias or base, "
                         "a target and a source")
    return curated


def read_tags(path: Path = TAGS_PATH) -> list[tuple[str, re.Pattern[str]]]:
    """Name tags of base-model generations, in the order they are tried (first match wins)."""
    tags = pd.read_csv(path, dtype=str, keep_default_na=False)
    return [(tag, re.compile(pattern)) for tag, pattern in zip(tags["tag"], tags["pattern"])]


@dataclass(frozen=True)
class LineageTables:
    """The shipped tables lineage is derived from."""

    leaderboard: pd.DataFrame
    curated: pd.DataFrame
    tags: list[tuple[str, re.Pattern[str]]]

    @classmethod
    def shipped(cls) -> LineageTables:
        return cls(read_leaderboard_lineage(), read_curated(), read_tags())


# --------------------------------------------------------------------------------------------- names
