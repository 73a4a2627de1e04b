"""Tiny synthetic datasets in the input schema, pushed through the real validation and derivation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.derive import derive, read_annotations
from bayes_sauce.data.filters import Filters, apply_filters
from bayes_sauce.data.read import validate

LABELS = ["Qwen", "Meta", "Google", "Other, Small", "Other, Small", "Other, Med", "Other, Med", "Other, Med"]


def synthetic_models(n: int = 60, seed: int = 0, zero_math: int = 0) -> pd.DataFrame:
    """Input-schema rows: majors and Other developers over 2022-11..2025-03 with logistic scores."""
    rng = np.random.default_rng(seed)
    dev = rng.integers(0, 14, n)
    label = [LABELS[d % len(LABELS)] for d in dev]
    prefix = [f"{lab.split(',')[0].lower()}-{d}" if lab.startswith("Other") else lab.lower() for lab, d in zip(label, dev)]
    params = 10 ** rng.uniform(-0.5, 2, n)
    tokens = 10 ** rng.uniform(2.5, 4.2, n)
    months = pd.period_range("2022-11", "2025-03", freq="M")
    month = months[np.sort(rng.integers(0, len(months), n))]
    x = np.log10(6e18 * params * tokens) - 23.5
    eta = -1.0 + 0.8 * x + rng.normal(0, 0.5, n)
    score = 0.1 + 0.9 / (1 + np.exp(-eta))
    math = np.clip(0.9 / (1 + np.exp(-(eta - 1))), 0, 1)
    math[:zero_math] = 0.0
    return pd.DataFrame({
        "model_id": [f"{p}__m{i}" for i, p in enumerate(prefix)],
        "hf_id": [f"{p}_m{i}_bf16" for i, p in enumerate(prefix)],
        "developer_raw": prefix,
        "developer_label": label,
        "params_b": params.round(3).astype(str),
        "tokens_total_b": tokens.round(1).astype(str),
        "tokens_base_b": tokens.round(1).astype(str),
        "release_month": [str(m) for m in month],
        "mmlu_pro": (np.round(score * 12032) / 12032).astype(str),
        "math_l5": (np.round(math * 1324) / 1324).astype(str),
    })


def synthetic_dataset(n: int = 60, seed: int = 0, zero_math: int = 0, filters: Filters = Filters()) -> Dataset:
    models = derive(validate(synthetic_models(n, seed, zero_math)), read_annotations())
    kept, excluded = apply_filters(models, filters)
    return Dataset(models=kept, excluded=excluded, source="<synthetic>", sha256="synthetic")
