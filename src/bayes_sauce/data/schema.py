"""The dataset's vocabulary: input columns of both accepted schemas, developer labels and groups, curated columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_sauce.data.lineage_tables import LINEAGE_COLUMNS
from bayes_sauce.paths import DATA_DIR

CURATED_PATH = DATA_DIR / "models.csv"
ANNOTATIONS_PATH = DATA_DIR / "annotations.csv"

# Authors' column -> our name, for the columns we read. Their derived columns (normalised and
# logit scores, Ln/Log FLOPs, quarter, cohort) are ignored and recomputed.
AUTHORS_COLUMNS = {
    "Model": "model_id",
    "Hugging Face ID": "hf_id",
    "Model Developer (str)": "developer_raw",
    "Dummy for Top Company": "developer_label",
    "Parameters (Billions)": "params_b",
    "Total Dataset Tokens": "tokens_total_b",
    "Basemodel Dataset Tokens": "tokens_base_b",
    "Month of Model Release": "release_month",
    "MMLU Pro Raw Score": "mmlu_pro",
    "Raw MATH Level 5 Score": "math_l5",
}
INPUT_COLUMNS = list(AUTHORS_COLUMNS.values())

# The authors' labels for the ten major developers, mapped to canonical names.
MAJOR_LABELS = {
    "Deepseek": "DeepSeek",
    "DeepSeek": "DeepSeek",
    "Qwen": "Qwen",
    "Meta": "Meta",
    "Google": "Google",
    "Microsoft": "Microsoft",
    "OpenAI": "OpenAI",
    "Anthropic": "Anthropic",
    "X-AI": "xAI",
    "xAI": "xAI",
    "01-AI": "01-AI",
    "Nvidia": "Nvidia",
}
# Labels the paper folds into the size-binned "Other" groups.
OTHER_LABELS = {"Other, Small", "Other, Med", "Other, Large", "Other", "Mistral", "Tencent"}
MAJORS = sorted(set(MAJOR_LABELS.values()))
# Other developers are binned by their mean ln(6 N[B] D[B]) across their models in the file.
OTHER_BIN_EDGES = (12.0, 15.5)
OTHER_GROUPS = ("Other-Small", "Other-Med", "Other-Large")
GROUPS = (*MAJORS, *OTHER_GROUPS)
BASE_GROUP = "Other-Small"
# Developers are partially pooled within a pool: an Other size bin, or the ten majors together
# (each major is the only developer of its paper group, so a group mean of its own is not identified).
MAJORS_POOL = "Majors"
POOLS = (*OTHER_GROUPS, MAJORS_POOL)


def other_groups(mean_ln_flops: pd.Series) -> pd.Series:
    """The Other size bin of a developer's mean ln(6 N[B] D[B]) (the paper's rule for developers not among the majors)."""
    return pd.cut(mean_ln_flops, [-np.inf, *OTHER_BIN_EDGES, np.inf], labels=OTHER_GROUPS).astype(str)


def pool_of_group(group: str) -> str:
    """The pool a developer of this paper group is shrunk within: its Other size bin, or the majors' pool."""
    return MAJORS_POOL if group in MAJORS else group


NAME_MOE_PATTERN = r"(?i)moe|mixtral|jamba|deepseek-v[23]|-a\d+b\b"

CURATED_COLUMNS = [
    "model_id",
    "display_name",
    "hf_id",
    "developer_raw",
    "developer_label",
    "developer",
    "developer_group",
    "is_major",
    "release_month",
    "release_quarter",
    "cohort",
    "params_b",
    "tokens_total_b",
    "tokens_base_b",
    "tokens_b",
    "tokens_inherited",
    "flops",
    "log10_flops",
    "ln_flops_1e18",
    "mmlu_pro",
    "mmlu_pro_norm",
    "math_l5",
    "math_l5_norm",
    "is_leaderboard",
    "size_from_estimate",
    "is_moe",
    *LINEAGE_COLUMNS,
]
# Text columns of the curated file that must stay text when it is read back (e.g. a month like 2024-09).
TEXT_COLUMNS = ("model_id", "display_name", "hf_id", "developer_raw", "developer_label", "developer",
                "developer_group", "release_month", "release_quarter", "cohort", "family",
                "family_source", "base_developer", "base_developer_source", "base_developer_group", "size_change",
                "duplicate_of")
