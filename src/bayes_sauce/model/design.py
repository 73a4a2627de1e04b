"""The design a model is built on: index arrays, coordinates and outcomes derived from the fitted rows.

The same rows always give the same design (coordinates sorted, the compute centre rounded), so a
saved fit rebuilds exactly the model it was sampled from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
class Families:
    """The family structure's arrays: each model's family and fine-tuner, each family's base developer,
    compute and period, and the observed logits (the marginal likelihood's data)."""

    family_idx: np.ndarray  # per model: index into coords["family"]
    finetuner_idx: np.ndarray  # per model: index into coords["finetuner"], -1 for a family's root
    base_of_family: np.ndarray  # per family: index into coords["developer"]
    x_c: np.ndarray  # per family: its compute (its root's, else its members' mean), minus c0
    period_idx: np.ndarray  # per family: its period (its root's, else its earliest member's)
    logit: np.ndarray  # per model: logit of the normalised score, kept half a question inside (0, 1)

    @property
    def is_finetune(self) -> np.ndarray:
        return self.finetuner_idx >= 0

    @property
    def models_per_family(self) -> np.ndarray:
        return np.bincount(self.family_idx, minlength=len(self.base_of_family))

    @property
    def finetunes_per_finetuner(self) -> np.ndarray:
        return np.bincount(self.finetuner_idx[self.is_finetune])


@dataclass(frozen=True)
class Design:
    """Arrays and coordinates the model is built from (all derived from the fitted rows)."""

    models: pd.DataFrame
    x_c: np.ndarray  # log10 FLOPs minus c0
    c0: float
    period_idx: np.ndarray  # per model: the period whose effect applies (its family's, in the family structure)
    developer_idx: np.ndarray  # per model: the developer whose level applies (its family's base developer there)
    group_of_developer: np.ndarray  # index into coords["group"]
    pool_of_developer: np.ndarray  # index into coords["pool"]
    is_closed: np.ndarray
    coords: dict[str, list[str]]
    scale: ScoreScale
    time: str
    successes: np.ndarray
    logit_score: np.ndarray
    mean_log_compute: np.ndarray  # per developer, centred over developers: the Mundlak covariate
    families: Families | None = None
    # Per group of effects (``effects.pooled``): each effect's centring weight, chosen by the fit's pilot; a group
    # not named here is sampled non-centred (what a model built before any pilot, or from the prior, gets).
    centring: dict[str, np.ndarray] = field(default_factory=dict)

    def centring_weights(self, group: str, size: int) -> np.ndarray:
        """The centring weights of a group of ``size`` effects (zeros where none were chosen)."""
        weights = self.centring.get(group)
        if weights is None:
            return np.zeros(size)
        if len(weights) != size:
            raise ValueError(f"centring weights of {group!r}: {len(weights)} given for {size} effects")
        return np.asarray(weights, dtype=np.float64)

    @property
    def models_per_developer(self) -> np.ndarray:
        return np.bincount(self.developer_idx, minlength=len(self.coords["developer"]))

    @property
    def units_per_developer(self) -> np.ndarray:
        """What pins a developer's level: its models, or, in the family structure, the families it based."""
        if self.families is None:
            return self.models_per_developer
        return np.bincount(self.families.base_of_family, minlength=len(self.coords["developer"]))

    def models_per(self, level: str) -> np.ndarray:
        """Fitted models per label of ``group`` or ``pool``."""
        of_developer = self.group_of_developer if level == "group" else self.pool_of_developer
        return np.bincount(of_developer[self.developer_idx], minlength=len(self.coords[level]))

    def reference(self, level: str) -> int:
        """The label pinned at 0, so that the level is nearly uncorrelated with the offsets: the best-measured one.
        A group's fixed effect is pinned by its models, a pool's mean by its developers (ten majors with many
        models each pin their pool's mean less than a hundred small developers pin theirs)."""
        if level == "pool":
            return int(np.argmax(np.bincount(self.pool_of_developer, minlength=len(self.coords["pool"]))))
        return int(np.argmax(self.models_per(level)))


def fitted_periods(models: pd.DataFrame, time: str) -> list[str]:
    """The period coordinate: the cohorts present, or every calendar quarter/month from the first to the last."""
    labels = models[PERIOD_COLUMN[time]].astype(str)
    return sorted(labels.unique()) if time == "cohort" else periods_between(labels.min(), labels.max(), time)


def base_developers(models: pd.DataFrame) -> pd.Series:
    """Each family's base developer: the one lineage derived (``base_developer``, data/lineage.py: its root's, the
    publisher of its root, or for a derivative of an unknown base the developer its tokens point to, else the
    unknown base). Rows without that column (fits saved before it) keep the old rule: the root's developer, else
    the developer whose raw prefix is the family id's organisation, else the family's most frequent developer."""
    families = pd.Index(sorted(models["family"].unique()), name="family")
    if "base_developer" in models:
        out = models.drop_duplicates("family").set_index("family")["base_developer"].reindex(families)
        return out.rename("base_developer").rename_axis(None)
    roots = models[models["is_root"].astype(bool)].drop_duplicates("family").set_index("family")["developer"]
    by_prefix = models.drop_duplicates("developer_raw").set_index("developer_raw")["developer"]
    counts = models.groupby(["family", "developer"]).size().rename("n").reset_index()
    most = counts.sort_values(["family", "n", "developer"], ascending=[True, False, True]).drop_duplicates("family")
    prefix = pd.Series(by_prefix.reindex(families.astype(str).str.split("__").str[0]).to_numpy(), index=families)
    out = roots.reindex(families).fillna(prefix).fillna(most.set_index("family")["developer"])
    return out.rename("base_developer").rename_axis(None)


def sets_level(models: pd.DataFrame) -> pd.Series:
    """Per row: whether it sets its family's level, i.e. is not a fine-tune of it: the family's root, or, where the
    root is not in the rows, the first model its base developer released of it (its own release of a run it never
    published: with nothing to compare it to, its level and a fine-tuner effect could not be told apart)."""
    root = models["is_root"].astype(bool)
    base = models["family"].map(base_developers(models)) if len(models) else models["developer"]
    candidates = models[~root.groupby(models["family"]).transform("any") & (models["developer"] == base)]
    first = candidates.sort_values(["release_month", "model_id"]).drop_duplicates("family").index
    return root | models.index.isin(first)


def _most_common(values: pd.Series) -> float:
    """The most common value (one mis-recorded member does not move it, as it moves a mean); among equally common
    values the one nearest their median, then the smaller."""
    counts = values.round(9).value_counts()
    top = counts.index[counts == counts.max()]
    return float(min(top, key=lambda v: (abs(v - values.median()), v)))


def _families(m: pd.DataFrame, c0: float, periods: list[str], time: str, scale: ScoreScale,
              developers: list[str]) -> tuple[Families, list[str], list[str]]:
    """The family arrays, the family ids and the fine-tuners (developers with a fine-tune in the rows)."""
    families = sorted(m["family"].unique())
    level_setting = sets_level(m).to_numpy()
    roots = m[level_setting].drop_duplicates("family").set_index("family")
    period = m[PERIOD_COLUMN[time]].astype(str)
    # A family's compute and period are its root's (or stand-in's: ``sets_level``), else the most common compute and
    # first period of its members.
    fam_x = roots["log10_flops"].astype(float).reindex(families).fillna(
        m.groupby("family")["log10_flops"].agg(_most_common))
    fam_period = roots[PERIOD_COLUMN[time]].astype(str).reindex(families).fillna(period.groupby(m["family"]).min())
    finetune = ~level_setting
    finetuners = sorted(m.loc[finetune, "developer"].unique())
    u = scale.observed_normalised(scale.successes(m[scale.outcome].to_numpy(dtype=float)))
    tuner = pd.Categorical(m["developer"].where(m["developer"].isin(finetuners)), categories=finetuners).codes
    tuner = tuner.astype(np.int64)
    return Families(
        family_idx=pd.Categorical(m["family"], categories=families).codes.astype(np.int64),
        finetuner_idx=np.where(finetune, tuner, -1),
        base_of_family=np.array([developers.index(d) for d in base_developers(m).loc[families]], dtype=np.int64),
        x_c=fam_x.to_numpy(dtype=float) - c0,
        period_idx=pd.Categorical(fam_period.to_numpy(), categories=periods).codes.astype(np.int64),
        logit=np.log(u) - np.log1p(-u),
    ), families, finetuners


def merge_lone_pools(pool_of_dev: pd.Series) -> pd.Series:
    """Developers' pools, a pool with one developer merged into the pool with the most (ties: the first of
    ``POOLS``). A lone developer's pool mean and its own deviation cannot be told apart, only their sum is seen, as
    for a major in its group: a ridge the sampler crosses slowly (``--majors-only``: the one Other-Med developer's
    pool offset was the slowest quantity, R-hat 1.012). Its group's effect is then the developer's, as a major's is."""
    counts = pool_of_dev.value_counts()
    lone = counts.index[counts == 1]
    if len(counts) < 2 or lone.empty:
        return pool_of_dev
    target = max((p for p in POOLS if p in counts.index), key=lambda p: counts[p])  # max keeps the first of ties
    return pool_of_dev.where(~pool_of_dev.isin(lone), target)


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
    by_family = spec.model.structure == "families"
    # In the family structure a developer's level is that of the bases it pretrained: the developers are
    # the families' base developers (a pure fine-tuner has a fine-tuner effect only).
    developers = sorted(base_developers(m).unique()) if by_family else sorted(m["developer"].unique())
    # A base developer without rows of its own (the unknown base, a root's publisher) has the group lineage gave it.
    named = [m[["developer", "developer_group"]]]
    if "base_developer_group" in m:
        named.append(m[["base_developer", "base_developer_group"]].set_axis(["developer", "developer_group"], axis=1))
    group_of_dev = pd.concat(named).drop_duplicates("developer").set_index("developer")["developer_group"]
    group_of_dev = group_of_dev.loc[developers]
    groups = [g for g in GROUPS if g in set(group_of_dev)]
    pool_of_dev = merge_lone_pools(group_of_dev.map(pool_of_group))
    pools = [p for p in POOLS if p in set(pool_of_dev)]
    c0 = float(np.round(m["log10_flops"].mean(), 2))
    score = m[outcome].to_numpy(dtype=float)
    x_c = m["log10_flops"].to_numpy(dtype=float) - c0
    families, family_ids, finetuners = (None, [], [])
    period_idx = pd.Categorical(m[PERIOD_COLUMN[time]].astype(str), categories=periods).codes.astype(np.int64)
    if by_family:
        families, family_ids, finetuners = _families(m, c0, periods, time, scale, developers)
        # What applies to a model is its family's: its base developer's level and the period it was pretrained in.
        developer_idx = families.base_of_family[families.family_idx]
        period_idx = families.period_idx[families.family_idx]
        units_x = pd.Series(families.x_c).groupby(families.base_of_family).mean()
    else:
        developer_idx = pd.Categorical(m["developer"], categories=developers).codes.astype(np.int64)
        units_x = pd.Series(x_c).groupby(developer_idx).mean()
    mean_x = units_x.reindex(range(len(developers))).to_numpy()
    design = Design(
        models=m,
        x_c=x_c,
        c0=c0,
        period_idx=period_idx,
        developer_idx=developer_idx,
        group_of_developer=pd.Categorical(group_of_dev, categories=groups).codes.astype(np.int64),
        pool_of_developer=pd.Categorical(pool_of_dev, categories=pools).codes.astype(np.int64),
        is_closed=(~m["is_leaderboard"].astype(bool)).to_numpy(),
        coords={"model": m["model_id"].tolist(), "developer": developers, "group": groups, "pool": pools,
                "period": periods, **({"family": family_ids, "finetuner": finetuners} if by_family else {})},
        scale=scale,
        time=time,
        successes=scale.successes(score),
        logit_score=scale.to_logit(score),
        mean_log_compute=np.nan_to_num(mean_x - np.nanmean(mean_x)),
        families=families,
    )
    return design, dataset
