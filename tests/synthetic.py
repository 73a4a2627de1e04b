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


def synthetic_family_models(developers: int = 10, families: int = 4, finetunes: int = 3, seed: int = 0,
                            beta: float = 0.8, developer_slope: float = 0.0, failures: int = 0,
                            orphans: int = 0, family_sd: float = 0.4) -> pd.DataFrame:
    """Input-schema rows with lineage (a ``base_model`` column): ``developers`` labs of ``families`` pretraining
    runs each, every run with ``finetunes`` fine-tunes by hobbyist developers at the base's compute.

    Scores follow logit = beta x + developer effect + family effect + fine-tune deviation, the developer effect
    being ``developer_slope`` x (its mean compute - the overall mean) plus noise (a slope that, ignored, biases
    beta); ``failures`` fine-tunes of bases well above chance score at chance whatever their inputs. Columns ``true_failure``
    and the generating ``beta`` (attrs) are kept for the tests. ``orphans`` more rows have no ``base_model``: a
    lineage of their own that nothing finds (``family_source = none``)."""
    rng = np.random.default_rng(seed)
    months = pd.period_range("2022-11", "2025-03", freq="M")
    rows = []
    centre = rng.normal(0, 0.8, developers)  # each lab's typical size (log10 params)
    level = developer_slope * (centre - centre.mean()) + rng.normal(0, 0.3, developers)
    for d in range(developers):
        label = LABELS[d % len(LABELS)]
        name = f"{label.split(',')[0].lower()}-lab{d}" if label.startswith("Other") else f"{label.lower()}{d}"
        for f in range(families):
            params = 10 ** np.clip(1.0 + centre[d] + rng.normal(0, 0.5), -0.5, 2.6)
            tokens = 10 ** rng.uniform(2.8, 4.0)
            month = months[rng.integers(0, len(months))]
            x = np.log10(6e18 * params * tokens) - 23.5
            family_logit = -0.5 + beta * x + level[d] + (rng.normal(0, family_sd) if family_sd else 0.0)
            base = f"{name}/base-{f}"
            rows.append((f"{name}__base-{f}", base, name, label, params, tokens, month, family_logit, base))
            for j in range(finetunes):
                tuner = f"other-tuner{rng.integers(0, 6)}"
                # One in ten damaged, by half a logit to a logit and a half (never down to chance: that is a failure).
                deviation = rng.normal(0, 0.05) - (rng.uniform(0.5, 1.5) if rng.random() < 0.1 else 0.0)
                rows.append((f"{tuner}__{name}-base-{f}-ft{j}", f"{tuner}/{name}-base-{f}-ft{j}", tuner, "Other, Small",
                             params, tokens, month, family_logit + deviation, base))
    for j in range(orphans):
        params, tokens = 10 ** rng.uniform(0, 1.5), 10 ** rng.uniform(3, 4)
        logit = -0.5 + beta * (np.log10(6e18 * params * tokens) - 23.5) + rng.normal(0, 0.8)
        rows.append((f"hobby{j}__merge-{j}", f"hobby{j}/merge-{j}", f"hobby{j}", "Other, Small", params, tokens,
                     months[rng.integers(0, len(months))], logit, ""))
    frame = pd.DataFrame(rows, columns=["model_id", "hf_id", "developer_raw", "developer_label", "params", "tokens",
                                        "month", "logit", "base_model"])
    # Failures are planted where they can be told from damage: fine-tunes of a base well above chance.
    fine = frame.index[frame["model_id"].str.contains("-ft") & (frame["logit"] > -0.5)]
    failed = frame.index.isin(rng.choice(fine, failures, replace=False)) if failures else np.zeros(len(frame), bool)
    accuracy = 0.1 + 0.9 / (1 + np.exp(-frame["logit"]))
    accuracy = np.where(failed, 0.1 + rng.uniform(0.0, 0.02, len(frame)), accuracy)
    k = rng.binomial(12032, np.clip(accuracy + rng.normal(0, 0.01, len(frame)), 0.1, 0.99))
    out = pd.DataFrame({
        "model_id": frame["model_id"], "hf_id": frame["hf_id"], "developer_raw": frame["developer_raw"],
        "developer_label": frame["developer_label"], "params_b": frame["params"].round(3).astype(str),
        "tokens_total_b": frame["tokens"].round(1).astype(str), "tokens_base_b": frame["tokens"].round(1).astype(str),
        "release_month": frame["month"].astype(str), "mmlu_pro": (k / 12032).astype(str),
        "math_l5": (0.5 * k / 12032).round(4).astype(str), "base_model": frame["base_model"],
        "true_failure": failed})
    out.attrs["beta"] = beta
    return out


def family_dataset(frame: pd.DataFrame, filters: Filters = Filters()) -> Dataset:
    """A synthetic frame of ``synthetic_family_models`` through validation, derivation and lineage."""
    models = derive(validate(frame.drop(columns="true_failure")), read_annotations())
    kept, excluded = apply_filters(models, filters)
    return Dataset(models=kept, excluded=excluded, source="<synthetic families>", sha256="synthetic-families")
