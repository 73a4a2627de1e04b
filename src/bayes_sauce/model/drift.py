"""Developers whose level changes over time (``model.developer_time``): each developer's drift from its level in the
reference period, a partially pooled trend or random walk over the periods.

    trend: drift[d, t] = slope_d (year_t - year_ref),          slope_d ~ Normal(0, sigma_developer_trend)
    walk:  drift[d, t] - drift[d, t-1] ~ Normal(0, sigma_developer_walk sqrt(year_t - year_t-1)),  drift[d, ref] = 0

with year_t the midpoint of period t in years (so the priors mean the same per year whatever the periods' length).
The drifts have mean zero, so the period effects remain the progress of the population's developer (shared progress)
and a developer's drift is its own progress beyond it; the reference period is the one where alpha and the period
effects are anchored (the most populous). Each developer's level is sampled at its own anchor period (where it based
the most families; ``anchor_periods``) rather than at the reference period: the data pin its level there, whatever
they say about its drift since (the same distribution, a better-conditioned posterior).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_sauce.model.design import Design
from bayes_sauce.model.effects import pooled, prior_rv
from bayes_sauce.model.new_rows import NewRows
from bayes_sauce.periods import MONTHS_PER_PERIOD, calendar_period, cohort_bounds
from bayes_sauce.spec.schema import Spec


@dataclass(frozen=True)
class DeveloperTime:
    """The fitted developers' drifts per period (``values``, (developer, period), 0 in the reference period) and what
    new rows need to extend them: the kind, its scale, the slopes (trend) and the periods' years from the reference."""

    kind: str
    values: pt.TensorVariable
    sigma: pt.TensorVariable
    slope: pt.TensorVariable | None
    years: np.ndarray
    reference: int
    n_developers: int

    def extended(self, new: NewRows, time: str) -> pt.TensorVariable:
        """Drifts for new rows, (fitted developers then the unseen ones, [steps before..., fitted periods..., steps
        after...]: ``NewRows``' indices): a fitted developer's trend extrapolated or walk continued with fresh steps;
        an unseen developer's a fresh slope or walk from the reference period."""
        n_unseen, before, after = len(new.unseen_developers), new.steps_before, new.steps_after
        n_dev = self.n_developers
        step = MONTHS_PER_PERIOD.get(time, 0) / 12  # cohorts are never extrapolated
        years = np.concatenate([self.years[0] - step * np.arange(before, 0, -1), self.years,
                                self.years[-1] + step * np.arange(1, after + 1)])
        if self.kind == "trend":
            slope = self.slope
            if n_unseen:
                slope = pt.concatenate([slope, self.sigma * pm.Normal("new_developer_trend_z", 0.0, 1.0, shape=n_unseen)])
            return slope[:, None] * years[None, :]
        parts = [self.values]
        if before:
            steps = self.sigma * np.sqrt(step) * pm.Normal("new_developer_steps_before", 0.0, 1.0, shape=(n_dev, before))
            parts.insert(0, (self.values[:, 0][:, None] - pt.cumsum(steps, axis=1))[:, ::-1])
        if after:
            steps = self.sigma * np.sqrt(step) * pm.Normal("new_developer_steps_after", 0.0, 1.0, shape=(n_dev, after))
            parts.append(self.values[:, -1][:, None] + pt.cumsum(steps, axis=1))
        values = pt.concatenate(parts, axis=1)
        if n_unseen:
            z = pm.Normal("new_developer_steps_z", 0.0, 1.0, shape=(n_unseen, len(years) - 1))
            fresh = _walk(self.sigma * np.sqrt(np.diff(years)) * z, before + self.reference)
            values = pt.concatenate([values, fresh], axis=0)
        return values


def _walk(steps: pt.TensorVariable, reference: int) -> pt.TensorVariable:
    """Random walks along the second axis of ``steps`` (one row per developer), 0 at ``reference``."""
    walk = pt.concatenate([pt.zeros((steps.shape[0], 1)), pt.cumsum(steps, axis=1)], axis=1)
    return walk - walk[:, reference][:, None]


def _midpoint_month(label: str, time: str) -> float:
    """The middle of a period's release months, in months since 1970-01 (calendar months, so that quarters are
    exactly three apart, as the steps beyond the fitted span are)."""
    if time == "cohort":
        first, last = cohort_bounds(label)
    else:
        span = calendar_period(label, time)
        first, last = span.asfreq("M", how="start"), span.asfreq("M", how="end")
    return (first.ordinal + last.ordinal + 1) / 2


def period_years(design: Design, reference: int) -> np.ndarray:
    """Each fitted period's midpoint, in years from the reference period's."""
    months = np.array([_midpoint_month(p, design.time) for p in design.coords["period"]])
    return (months - months[reference]) / 12


def anchor_periods(design: Design, reference: int) -> np.ndarray:
    """Per developer: the period in which it based the most families (ties: the one nearest the reference period,
    then the earlier), where the data pin its level."""
    fam = design.families
    n_dev, n_period = len(design.coords["developer"]), len(design.coords["period"])
    counts = np.zeros((n_dev, n_period))
    np.add.at(counts, (fam.base_of_family, fam.period_idx), 1)
    distance = np.abs(np.arange(n_period) - reference)
    # Most families first, then nearest the reference, then earliest: one sortable key per (developer, period).
    key = counts * (n_period + 1) ** 2 - distance * (n_period + 1) - np.arange(n_period) / (n_period + 1)
    return key.argmax(axis=1)


def developer_time(spec: Spec, design: Design, reference: int) -> DeveloperTime | None:
    """The drifts' random variables (``model.developer_time``; None for "none"), records ``developer_drift``."""
    kind = spec.model.developer_time
    if kind == "none":
        return None
    n_dev, n_period = len(design.coords["developer"]), len(design.coords["period"])
    years = period_years(design, reference)
    if kind == "trend":
        sigma = prior_rv("sigma_developer_trend", spec.priors.sigma_developer_trend)
        slope = pooled("developer_trend", pt.zeros(n_dev), sigma, design.centring_weights("developer_trend", n_dev))
        values = slope[:, None] * years[None, :]
    else:
        sigma = prior_rv("sigma_developer_walk", spec.priors.sigma_developer_walk)
        slope, n_steps = None, n_dev * (n_period - 1)
        if n_steps:
            scale = sigma * np.tile(np.sqrt(np.diff(years)), n_dev)
            steps = pooled("developer_step", pt.zeros(n_steps), scale, design.centring_weights("developer_step", n_steps))
            values = _walk(steps.reshape((n_dev, n_period - 1)), reference)
        else:
            values = pt.zeros((n_dev, 1))
    values = pm.Deterministic("developer_drift", values, dims=("developer", "period"))
    return DeveloperTime(kind, values, sigma, slope, years, reference, n_dev)
