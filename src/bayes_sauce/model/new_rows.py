"""Rows the fitted model is asked to predict, indexed against the fit's coordinates.

A row's developer is a fitted one or unseen (then drawn from its group's pool, a pool the fit never
saw from the group prior, or, with no group given, around a fitted developer picked at random); its
period is a fitted one or, for a random walk, up to ``MAX_EXTRAPOLATION_MONTHS`` outside the fitted
span; a fitted model may keep its own model effect (``own``). In the family structure a row joins a fitted family
(its base developer, compute and period) or founds a new one, around its ``base_developer``'s line where given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes_sauce.data.schema import GROUPS, pool_of_group
from bayes_sauce.model.design import Design, sets_level
from bayes_sauce.periods import MONTHS_PER_PERIOD, PERIOD_COLUMN, steps_outside

MAX_EXTRAPOLATION_MONTHS = 12
# Codes for an unseen developer's centre: a fitted pool/group index (>= 0), or one of these.
UNSEEN_LEVEL = -1  # its group or pool has no fitted developer: an offset from the group prior
UNKNOWN_GROUP = -2  # no group given: the centre of a fitted developer picked at random


class PredictionError(ValueError):
    """A row asks for something the fitted model cannot predict; the message names the row."""


@dataclass(frozen=True)
class NewRows:
    """New rows as indices into the fitted coordinates, extended by what the fit never saw."""

    names: list[str]
    x_c: np.ndarray
    period_idx: np.ndarray  # into [backward steps..., fitted periods..., forward steps...]
    steps_before: int
    steps_after: int
    developer_idx: np.ndarray  # into [fitted developers..., unseen developers...]
    unseen_developers: list[str]
    unseen_centre: np.ndarray  # per unseen developer: fitted pool/group index, UNSEEN_LEVEL or UNKNOWN_GROUP
    unseen_labels: list[str]  # the pools/groups behind UNSEEN_LEVEL codes, one new offset each
    unseen_label_idx: np.ndarray  # per unseen developer: index into unseen_labels (0 where unused)
    is_closed: np.ndarray
    own: np.ndarray  # fitted model index whose own effect a row keeps, -1 for a fresh one
    developer_seen: np.ndarray
    # The family structure (empty arrays otherwise):
    family_idx: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))  # -1: a new family
    new_family_idx: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))  # rows sharing one
    finetune: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))
    finetuner_idx: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))  # -1: a fresh effect
    new_finetuner_idx: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))  # rows sharing one
    family_member: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))  # a fitted model of its family
    observed_score: np.ndarray | None = None  # held-out rows' scores, for their log density

    @property
    def n(self) -> int:
        return len(self.names)


def dataset_frame(models: pd.DataFrame, time: str) -> pd.DataFrame:
    """``new_rows``' input columns for rows of the curated dataset (fitted or held-out models)."""
    return pd.DataFrame({
        "model": models["model_id"].to_numpy(),
        "developer": models["developer"].to_numpy(),
        "developer_group": models["developer_group"].to_numpy(),
        "period": models[PERIOD_COLUMN[time]].astype(str).to_numpy(),
        "log10_flops": models["log10_flops"].to_numpy(dtype=float),
        "is_closed": (~models["is_leaderboard"].astype(bool)).to_numpy(),
        "family": models["family"].to_numpy() if "family" in models else None,
        "is_finetune": (~sets_level(models)).to_numpy() if "is_root" in models else None,
    })


def _period_positions(periods: list[str], design: Design) -> tuple[np.ndarray, int, int]:
    fitted = design.coords["period"]
    steps = np.array([0 if p in fitted else None for p in periods], dtype=object)
    for i, label in enumerate(periods):
        if label in fitted:
            continue
        if design.time == "cohort":
            raise PredictionError(f"row {i}: cohort {label!r} was not in the fit (its cohorts: {', '.join(fitted)}); "
                                  "the cohort model cannot extrapolate to a cohort it never saw: use "
                                  "--extend-last-cohort or a random walk over quarters (models/quarter_rw.toml)")
        steps[i] = steps_outside(label, fitted, design.time)
        if abs(steps[i]) * MONTHS_PER_PERIOD[design.time] > MAX_EXTRAPOLATION_MONTHS:
            raise PredictionError(f"row {i}: period {label!r} is {abs(steps[i])} {design.time}s outside the fitted "
                                  f"{fitted[0]}..{fitted[-1]}; the random walk is extrapolated at most "
                                  f"{MAX_EXTRAPOLATION_MONTHS} months")
    before = max([-s for s in steps if s < 0], default=0)
    after = max([s for s in steps if s > 0], default=0)
    position = [before + (fitted.index(p) if s == 0 else (s + len(fitted) - 1 if s > 0 else s))
                for p, s in zip(periods, steps)]
    return np.asarray(position, dtype=np.int64), before, after


def _level_of_group(group: str | None, structure: str, design: Design) -> tuple[int, str]:
    """An unseen developer's centre code and, for UNSEEN_LEVEL, the pool or group it needs an offset for."""
    if group is None:
        return UNKNOWN_GROUP, ""
    level = "group" if structure == "fixed_groups" else "pool"
    label = group if level == "group" else pool_of_group(group)
    labels = design.coords[level]
    return (labels.index(label), label) if label in labels else (UNSEEN_LEVEL, label)


def _shared_index(labels: list, fresh: np.ndarray) -> np.ndarray:
    """Per row: the index of its label among the labels of ``fresh`` rows, in order of first appearance (rows with
    one label share one fresh draw); 0 where the row is not fresh."""
    unseen = {label: i for i, label in enumerate(dict.fromkeys(label for label, new in zip(labels, fresh) if new))}
    return np.array([unseen[label] if new else 0 for label, new in zip(labels, fresh)], dtype=np.int64)


def _family_columns(frame: pd.DataFrame, design: Design) -> dict:
    """Each row's fitted family (or -1), whether it is a fine-tune, its fine-tuner's sampled effect (or -1), and
    whether the row is itself one of the family's fitted models (so the family's other members can be counted).

    A row naming a fitted family is a fine-tune of its base unless ``is_finetune`` says otherwise; a row
    without one is the first model of a new family (its own base), unless it says it is a fine-tune.
    """
    families, fam = design.coords["family"], design.families
    named = frame["family"] if "family" in frame else pd.Series([None] * len(frame))
    family_idx = np.array([families.index(f) if isinstance(f, str) and f in families else -1 for f in named])
    # Rows naming the same family the fit never saw share one new family; a row naming none is its own.
    labels = [f if isinstance(f, str) and f else f"<row {i}>" for i, f in enumerate(named)]
    new_family_idx = _shared_index(labels, family_idx < 0)
    given = frame["is_finetune"] if "is_finetune" in frame else pd.Series([None] * len(frame))
    finetune = np.array([bool(g) if g is not None and not pd.isna(g) else f >= 0 for g, f in zip(given, family_idx)])
    sampled = [t for t, n in zip(design.coords["finetuner"], fam.finetunes_per_finetuner) if n >= 2]
    tuner = np.where(finetune, [design.coords["finetuner"].index(d) if d in sampled else -1 for d in frame["developer"]],
                     -1)
    fitted = dict(zip(design.coords["model"], fam.family_idx))
    names = frame["model"] if "model" in frame else pd.Series([None] * len(frame))
    member = np.array([fitted.get(m, -1) == f >= 0 for m, f in zip(names, family_idx)], dtype=bool)
    # Fine-tunes by the same fine-tuner without a sampled effect share one fresh effect, as a fitted one's share theirs.
    return {"family_idx": family_idx.astype(np.int64), "new_family_idx": new_family_idx,
            "finetune": finetune, "finetuner_idx": tuner.astype(np.int64),
            "new_finetuner_idx": _shared_index(frame["developer"].tolist(), finetune & (tuner < 0)),
            "family_member": member}


def new_rows(frame: pd.DataFrame, design: Design, structure: str, own: bool = False) -> NewRows:
    """Index rows with columns log10_flops, developer, developer_group, period, is_closed (and model, for own;
    family, is_finetune, base_developer and observed in the family structure, all optional). A row founding a new
    family takes its level around ``base_developer``'s line where given (a fine-tune of a base the fit never saw
    by a developer it did), else around its own developer's."""
    frame = frame.reset_index(drop=True)
    developers = design.coords["developer"]
    groups = [None if g is None or pd.isna(g) or g == "" else str(g) for g in frame["developer_group"]]
    names = frame["developer"].astype(str).tolist()
    lineage = _family_columns(frame, design) if design.families is not None else {}
    if lineage:  # a fitted family's base developer and period apply to its new members
        fam = design.families
        known = lineage["family_idx"] >= 0
        base = np.asarray(developers)[fam.base_of_family[np.maximum(lineage["family_idx"], 0)]]
        founder = frame["base_developer"] if "base_developer" in frame else pd.Series([None] * len(frame))
        names = [str(b) if k else (str(f) if isinstance(f, str) and f else d)
                 for b, k, f, d in zip(base, known, founder, names)]
        period_of_family = np.asarray(design.coords["period"])[fam.period_idx[np.maximum(lineage["family_idx"], 0)]]
        frame = frame.assign(period=np.where(known, period_of_family, frame["period"].astype(str)))
    for i, (dev, group) in enumerate(zip(names, groups, strict=True)):
        if dev not in developers and group is not None and group not in GROUPS:
            raise PredictionError(f"row {i}: developer {dev!r} was not in the fit and its group {group!r} is not "
                                  f"one of {list(GROUPS)} (leave the group empty to draw from all developers)")
    unseen = list(dict.fromkeys(d for d in names if d not in developers))
    group_of_unseen = {d: g for d, g in zip(names, groups) if d in unseen}
    codes = [_level_of_group(group_of_unseen[d], structure, design) if structure != "pooled" else (0, "")
             for d in unseen]
    labels = list(dict.fromkeys(label for code, label in codes if code == UNSEEN_LEVEL))
    period_idx, before, after = _period_positions(frame["period"].astype(str).tolist(), design)
    fitted_models = {m: i for i, m in enumerate(design.coords["model"])}
    position = {d: i for i, d in enumerate([*developers, *unseen])}  # fitted developers, then unseen ones
    own_idx = (frame["model"].map(fitted_models).fillna(-1).astype(np.int64).to_numpy() if own
               else np.full(len(frame), -1, dtype=np.int64))
    return NewRows(
        names=frame["model"].astype(str).tolist() if "model" in frame else [f"new-{i}" for i in range(len(frame))],
        x_c=frame["log10_flops"].to_numpy(dtype=float) - design.c0,
        period_idx=period_idx, steps_before=before, steps_after=after,
        developer_idx=np.array([position[d] for d in names], dtype=np.int64),
        unseen_developers=unseen,
        unseen_centre=np.array([c for c, _ in codes], dtype=np.int64),
        unseen_labels=labels,
        unseen_label_idx=np.array([labels.index(lab) if c == UNSEEN_LEVEL else 0 for c, lab in codes], dtype=np.int64),
        is_closed=frame["is_closed"].to_numpy(dtype=bool),
        own=own_idx,
        developer_seen=frame["developer"].astype(str).isin(set(design.models["developer"])).to_numpy(),
        observed_score=frame["observed"].to_numpy(dtype=float) if "observed" in frame else None,
        **lineage,
    )
