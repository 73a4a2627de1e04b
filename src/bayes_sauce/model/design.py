"""The design a model is built on: index arrays, coordinates and outcomes derived from the fitted rows.

The same rows always give the same design (coordinates sorted, the compute centre rounded), so a
saved fit rebuilds exactly the model it was sampled from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.filters import exclude_for_analysis
from bayes_sauce.data.read import DataValidationError
from bayes_sauce.data.schema import GROUPS, POOLS, pool_of_group
from bayes_sauce.periods import PERIOD_COLUMN, periods_between
from bayes_sauce.scale import ScoreScale, scale_of
from bayes_sauce.spec.schema import Spec


@dataclass(frozen=True)
class Design:
    """Arrays and coordinates the model is built from (all derived from the fitted rows)."""

    models: pd.DataFrame
    x_c: np.ndarray  # log10 FLOPs minus c0
    c0: float
    period_idx: np.ndarray
    developer_idx: np.ndarray
    group_of_developer: np.ndarray  # index into coords["group"]
    pool_of_developer: np.ndarray  # index into coords["pool"]
    is_closed: np.ndarray
    coords: dict[str, list[str]]
    scale: ScoreScale
    time: str
    successes: np.ndarray
    logit_score: np.ndarray

    @property
    def models_per_developer(self) -> np.ndarray:
        return np.bincount(self.developer_idx, minlength=len(self.coords["developer"]))

    def models_per(self, level: str) -> np.ndarray:
        """Fitted models per label of ``group`` or ``pool``."""
        of_developer = self.group_of_developer if level == "group" else self.pool_of_developer
        return np.bincount(of_developer[self.developer_idx], minlength=len(self.coords[level]))

    def reference(self, level: str) -> int:
        """Index of the label with most models: pinned at 0 so the level is nearly uncorrelated with the offsets."""
        return int(np.argmax(self.models_per(level)))


def fitted_periods(models: pd.DataFrame, time: str) -> list[str]:
    """The period coordinate: the cohorts present, or every calendar quarter/month from the first to the last."""
    labels = models[PERIOD_COLUMN[time]].astype(str)
    return sorted(labels.unique()) if time == "cohort" else periods_between(labels.min(), labels.max(), time)


def prepare(spec: Spec, dataset: Dataset) -> tuple[Design, Dataset]:
    """The design of the rows the spec's likelihood can take; the others are excluded with their reason."""
    outcome, time = spec.data.outcome, spec.data.time
    scale = scale_of(outcome)
    dataset = exclude_for_analysis(dataset, outcome, time, logit=spec.model.likelihood == "logit_normal")
    m = dataset.models
    if len(m) == 0:
        raise DataValidationError(f"{dataset.source or 'the data'}: no rows left to fit after the filters and "
                                  f"exclusions ({len(dataset.excluded)} rows excluded; see excluded.csv)")
    periods = fitted_periods(m, time)
    developers = sorted(m["developer"].unique())
    groups = [g for g in GROUPS if g in set(m["developer_group"])]
    group_of_dev = m.drop_duplicates("developer").set_index("developer")["developer_group"].loc[developers]
    pool_of_dev = group_of_dev.map(pool_of_group)
    pools = [p for p in POOLS if p in set(pool_of_dev)]
    c0 = float(np.round(m["log10_flops"].mean(), 2))
    score = m[outcome].to_numpy(dtype=float)
    design = Design(
        models=m,
        x_c=m["log10_flops"].to_numpy(dtype=float) - c0,
        c0=c0,
        period_idx=pd.Categorical(m[PERIOD_COLUMN[time]].astype(str), categories=periods).codes.astype(np.int64),
        developer_idx=pd.Categorical(m["developer"], categories=developers).codes.astype(np.int64),
        group_of_developer=pd.Categorical(group_of_dev, categories=groups).codes.astype(np.int64),
        pool_of_developer=pd.Categorical(pool_of_dev, categories=pools).codes.astype(np.int64),
        is_closed=(~m["is_leaderboard"].astype(bool)).to_numpy(),
        coords={"model": m["model_id"].tolist(), "developer": developers, "group": groups, "pool": pools,
                "period": periods},
        scale=scale,
        time=time,
        successes=scale.successes(score),
        logit_score=scale.to_logit(score),
    )
    return design, dataset
