"""Out-of-time test: fit on the models released up to a cutoff, predict those released after it.

Every method is scored on the same held-out models in the same way: the log predictive density of
the observed count of correct answers (``density``'s scale, the model's own effect integrated
out), whether the observed score lies in the central 90% predictive interval, and the absolute
error of the predictive median in MMLU-Pro points.

- Bayesian specs: ``fit_store.get_or_fit`` on the pre-cutoff rows (diagnostics gate recorded), then
  ``predict``: unseen developers draw their effect from their pool, unseen fixed-effects groups from
  the group prior, random-walk periods after the last fitted one are extrapolated.
- The paper's OLS (``replication``) on the pre-cutoff rows: the normal predictive on the logit scale,
  mean x'b and variance x'Vx + s^2, with V the cluster-robust covariance the paper reports and s^2
  the residual variance (pyfixest's prediction interval, with the normal quantile: N - K > 300).
  A group with no pre-cutoff model has no dummy: its models are predicted as the base group
  (Other-Small), counted in the summary as ``group_unseen``.

Developer groups of 'Other' developers come from the whole file (the paper's size bins use each
developer's mean compute over all its models), so a held-out model's group is known at prediction
time; that is the only post-cutoff information used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.filters import exclude_for_analysis, hold_out
from bayes_sauce.fit.fit import Fit
from bayes_sauce.fit.fit_store import Echo, get_or_fit, quiet
from bayes_sauce.intervals import interval_frame
from bayes_sauce.model.new_rows import PredictionError, dataset_frame
from bayes_sauce.periods import PERIOD_COLUMN
from bayes_sauce.predictive.density import log_predictive_density, logit_normal_count_scale
from bayes_sauce.predictive.loo import held_out_log_density
from bayes_sauce.predictive.predict import predict
from bayes_sauce.replication.ols import build_design, fit_ols
from bayes_sauce.scale import scale_of
from bayes_sauce.spec.schema import Spec, SpecError

OLS_METHOD = "ols"


def cutoff_month(cutoff: str) -> pd.Period:
    """Last month covered by a cutoff given as a quarter (2024q3) or a month (2024-09)."""
    text = cutoff.strip().lower()
    if re.fullmatch(r"\d{4}q[1-4]", text):
        return pd.Period(text.upper(), "Q").asfreq("M", how="end")
    if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        return pd.Period(text, "M")
    raise PredictionError(f"cutoff {cutoff!r}: give a quarter like 2024q3 or a month like 2024-09")


def split(dataset: Dataset, cutoff: str) -> tuple[Dataset, pd.DataFrame]:
    """Rows released up to the cutoff (as a dataset to fit) and the rows after it (to predict)."""
    month = pd.PeriodIndex(dataset.models["release_month"], freq="M")
    after = pd.Series(month > cutoff_month(cutoff), index=dataset.models.index)
    if not after.any() or after.all():
        raise PredictionError(f"cutoff {cutoff}: {int((~after).sum())} models up to it and {int(after.sum())} after it; "
                         "both sides need models")
    test = dataset.models.loc[after].reset_index(drop=True)
    return hold_out(dataset, after, f"released after the backtest cutoff {cutoff}"), test


def _scores(method: str, test: pd.DataFrame, outcome: str, table: pd.DataFrame, lpd: np.ndarray) -> pd.DataFrame:
    observed = test[outcome].to_numpy(dtype=float)
    return pd.DataFrame({
        "method": method, "model_id": test["model_id"].to_numpy(), "developer": test["developer"].to_numpy(),
        "observed": observed, "median": table["median"].to_numpy(), "lo": table["lo"].to_numpy(),
        "hi": table["hi"].to_numpy(), "lpd": lpd,
        "covered": (table["lo"].to_numpy() <= observed) & (observed <= table["hi"].to_numpy()),
        "abs_error_points": 100 * np.abs(table["median"].to_numpy() - observed),
    })


def seen_flags(test: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """Per held-out model: whether its developer, and its developer group, had a model before the cutoff."""
    return pd.DataFrame({"model_id": test["model_id"].to_numpy(),
                         "developer_seen": test["developer"].isin(set(train["developer"])).to_numpy(),
                         "group_seen": test["developer_group"].isin(set(train["developer_group"])).to_numpy()})


def bayes_scores(fit: Fit, test: pd.DataFrame, prob: float, seed: int) -> pd.DataFrame:
    """Score a Bayesian fit's predictions of the held-out rows (the method is named by the spec)."""
    draws = predict(fit, dataset_frame(test, fit.spec.data.time), seed)
    lpd = log_predictive_density(held_out_log_density(fit, test)).values
    table = interval_frame(draws["score"], prob).reset_index(drop=True)
    return _scores(fit.name, test, fit.spec.data.outcome, table, lpd)


def ols_scores(spec: Spec, train: Dataset, test: pd.DataFrame, prob: float) -> pd.DataFrame:
    """Score the paper's OLS, fitted on the pre-cutoff rows, on the held-out rows."""
    if spec.ols.controls:
        raise SpecError("backtest: the OLS baseline takes no controls (use models/ols.toml)")
    train = exclude_for_analysis(train, spec.data.outcome, spec.data.time, logit=True)
    design = build_design(spec, train)
    fit = fit_ols(design)
    period = test[PERIOD_COLUMN[spec.data.time]].astype(str)
    unknown = ~period.isin([design.base_period, *design.groups["time"]])
    if unknown.any():
        raise SpecError(f"backtest: period {period[unknown].iloc[0]!r} has no model before the cutoff, so the "
                        "OLS has no dummy for it; choose a later cutoff")
    # Dummies of the training design; a group without one (no pre-cutoff model) is the base group.
    X = pd.concat([test["log10_flops"].rename("log10_flops"),
                   pd.get_dummies(period, dtype=float).reindex(columns=design.groups["time"], fill_value=0.0),
                   pd.get_dummies(test["developer_group"], dtype=float).reindex(columns=design.groups["developer"],
                                                                                 fill_value=0.0)], axis=1)
    terms = fit.coefficients["term"].tolist()
    x = X.assign(Intercept=1.0)[terms].to_numpy()
    mean = x @ fit.coefficients["estimate"].to_numpy()
    residual_var = float(np.sum(fit.residuals**2) / (fit.n_obs - len(terms)))
    sd = np.sqrt(np.einsum("ij,jk,ik->i", x, fit.vcov.loc[terms, terms].to_numpy(), x) + residual_var)
    outcome = spec.data.outcome
    scale = scale_of(outcome)
    z = norm.ppf(0.5 + prob / 2)
    # The score is monotone in the logit, so the logit's quantiles map to the score's.
    table = pd.DataFrame({name: scale.accuracy(mean + shift * sd) for name, shift in (("median", 0.0), ("lo", -z),
                                                                                      ("hi", z))})
    lpd = logit_normal_count_scale(test[outcome].to_numpy(dtype=float), scale.n_questions, scale.floor, mean, sd)
    return _scores(OLS_METHOD, test, outcome, table, lpd)


def summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per method (scores with ``seen_flags``), on all held-out models and on those whose developer was or
    was not seen before the cutoff: models, summed and mean log predictive density, 90% coverage, median
    absolute error (points); for all models also the elpd difference to the best method with its paired SE."""
    rows = []
    for method, group in scores.groupby("method", sort=False):
        seen = group["developer_seen"]
        for subset, part in (("all", group), ("developer seen", group[seen]), ("developer new", group[~seen])):
            rows.append({"method": method, "models": subset, "n": len(part), "elpd": part["lpd"].sum(),
                         "mean_lpd": part["lpd"].mean(), "coverage_90": part["covered"].mean(),
                         "median_abs_error_points": part["abs_error_points"].median(),
                         "group_unseen": int((~part["group_seen"]).sum())})
    table = pd.DataFrame(rows)
    pointwise = scores.pivot(index="model_id", columns="method", values="lpd")
    best = pointwise.sum().idxmax()
    diff = pointwise.sub(pointwise[best], axis=0)
    everyone = table["models"] == "all"
    table.loc[everyone, "elpd_diff"] = table.loc[everyone, "method"].map(diff.sum()).to_numpy()
    table.loc[everyone, "elpd_diff_se"] = table.loc[everyone, "method"].map(diff.std() * np.sqrt(len(diff))).to_numpy()
    return table


@dataclass
class Backtest:
    cutoff: str
    scores: pd.DataFrame
    summary: pd.DataFrame
    gates: dict[str, bool]
    n_train: int
    n_test: int


def run(specs: dict[str, Spec], ols_spec: Spec, dataset: Dataset, cutoff: str, fits_dir: Path,
        prob: float = 0.90, seed: int = 0, allow_failed: bool = True, echo: Echo = quiet) -> Backtest:
    """Fit (or reuse) every Bayesian spec and the OLS on the rows up to the cutoff; score all on the rest. Each
    fit's gate status is said through ``echo``; one that failed the gate is refused (FitError) unless
    ``allow_failed``."""
    train, test = split(dataset, cutoff)
    # Every method is scored on the same held-out rows: those with a score the logit can take.
    test = exclude_for_analysis(Dataset(models=test), ols_spec.data.outcome, ols_spec.data.time, logit=True).models
    for name, spec in {**specs, OLS_METHOD: ols_spec}.items():
        column = PERIOD_COLUMN[spec.data.time]
        missing = sorted(set(test[column].astype(str)) - set(train.models[column].astype(str)))
        if spec.data.time == "cohort" and missing:
            raise PredictionError(f"{name}: cohort(s) {missing} have no model up to {cutoff}, and cohort offsets cannot "
                             "be extrapolated to a cohort the fit never saw; choose a cutoff inside the last cohort "
                             "or a random-walk spec (models/quarter_rw.toml)")
    parts, gates = [], {}
    for name, spec in specs.items():
        echo(f"  {name}: fitting (or reusing) on {len(train.models)} models up to {cutoff}")
        fit = get_or_fit(spec, train, fits_dir / name, replace=True, allow_failed=allow_failed,
                         echo=lambda line: echo(f"  {line}"))
        gates[name] = fit.passed
        parts.append(bayes_scores(fit, test, prob, seed))
    parts.append(ols_scores(ols_spec, train, test, prob))
    scores = pd.concat(parts, ignore_index=True).merge(seen_flags(test, train.models), on="model_id")
    return Backtest(cutoff=cutoff, scores=scores, summary=summary(scores), gates=gates,
                    n_train=len(train.models), n_test=len(test))
