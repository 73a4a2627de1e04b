"""Which rows an analysis uses: the filters (release window and subsamples) and the rows a model cannot take.

Every row removed is recorded with its reason; nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields

import pandas as pd

from bayes_sauce.data.dataset import Dataset, excluded_frame
from bayes_sauce.defaults import PAPER_WINDOW
from bayes_sauce.periods import PERIOD_COLUMN
from bayes_sauce.scale import scale_of


@dataclass(frozen=True)
class Filters:
    """Which rows an analysis uses. Every row removed is reported with its reason."""

    window: tuple[str, str] | None = PAPER_WINDOW
    majors_only: bool = False
    leaderboard_only: bool = False
    no_size_estimates: bool = False
    total_tokens_only: bool = False

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line naming the filters in force."""
        window = "all dates" if self.window is None else f"window {self.window[0]}..{self.window[1]}"
        flags = [name for name in self.names() if name != "window" and getattr(self, name)]
        return ", ".join([window, *flags])


# Subsample filters: (name, the column that keeps a row when true, or drops it when prefixed "~", reason).
SUBSAMPLES = (
    ("majors_only", "is_major", "not one of the ten major developers (majors_only)"),
    ("leaderboard_only", "is_leaderboard", "score not from the Open LLM Leaderboard (leaderboard_only)"),
    ("no_size_estimates", "~size_from_estimate", "size is an outside estimate (no_size_estimates)"),
    ("total_tokens_only", "~tokens_inherited", "tokens inherited from the base model (total_tokens_only)"),
)


def apply_filters(models: pd.DataFrame, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep rows passing every filter; return (kept, excluded with the first failing reason)."""
    reasons = pd.Series(pd.NA, index=models.index, dtype="string")

    def drop(mask: pd.Series, reason: str) -> None:
        reasons[mask & reasons.isna()] = reason

    if filters.window is not None:
        start, end = (pd.Period(s, "M") for s in filters.window)
        month = pd.PeriodIndex(models["release_month"], freq="M")
        drop(pd.Series((month < start) | (month > end), index=models.index),
             f"released outside the window {filters.window[0]}..{filters.window[1]}")
    for name, column, reason in SUBSAMPLES:
        if getattr(filters, name):
            keep = models[column.lstrip("~")].astype(bool)
            drop(keep if column.startswith("~") else ~keep, reason)
    dropped = reasons.notna()
    excluded = excluded_frame(models.loc[dropped, "model_id"].tolist(), reasons[dropped].tolist())
    return models.loc[~dropped].reset_index(drop=True), excluded


def exclude_rows(dataset: Dataset, mask: pd.Series, reason: str) -> Dataset:
    """Drop rows an analysis cannot take, recording each with its reason."""
    dropped = dataset.models.loc[mask, "model_id"].tolist()
    excluded = pd.concat([dataset.excluded, excluded_frame(dropped, [reason] * len(dropped))], ignore_index=True)
    return dataset.replace(dataset.models.loc[~mask], excluded)


def hold_out(dataset: Dataset, mask: pd.Series, reason: str) -> Dataset:
    """Rows kept for a fit on part of the data (a backtest or a fold): the rest excluded with ``reason``, and a
    data identity of its own, so that a saved fit of the whole data or of another part is never reused."""
    kept = exclude_rows(dataset, mask, reason)
    identity = hashlib.sha256(f"{dataset.sha256}|{reason}|{','.join(sorted(kept.models['model_id']))}".encode())
    return Dataset(models=kept.models, excluded=kept.excluded, source=kept.source, sha256=identity.hexdigest())


def exclude_duplicates(dataset: Dataset) -> Dataset:
    """Drop (and list) later uploads of a model whose first upload is among the rows (``duplicate_of``, from lineage),
    each with a reason naming the row kept; rows saved without the column are kept as they are."""
    if "duplicate_of" not in dataset.models:
        return dataset
    kept = set(dataset.models["model_id"])
    for first in sorted(set(dataset.models["duplicate_of"].dropna()) & kept):
        dataset = exclude_rows(dataset, dataset.models["duplicate_of"] == first,
                               f"duplicate upload of {first} (same developer, parameters, MMLU-Pro and MATH): "
                               "counted once")
    return dataset


def exclude_for_analysis(dataset: Dataset, outcome: str, time: str, logit: bool, duplicates: bool = True) -> Dataset:
    """Drop (and list) rows without the outcome or a period, and, for a logit outcome, rows it cannot take; with
    ``duplicates``, later uploads of one model too (the paper's replication keeps them: its sample has them)."""
    if duplicates:
        dataset = exclude_duplicates(dataset)
    floor = scale_of(outcome).floor
    dataset = exclude_rows(dataset, dataset.models[outcome].isna(), f"no {outcome} score")
    dataset = exclude_rows(dataset, dataset.models[PERIOD_COLUMN[time]].isna(), f"no {time} defined for the release month")
    if logit:
        dataset = exclude_rows(dataset, dataset.models[outcome] <= floor,
                               f"{outcome} at or below the chance floor {floor}: logit undefined")
        dataset = exclude_rows(dataset, dataset.models[outcome] >= 1, f"{outcome} = 1: logit undefined")
    return dataset
