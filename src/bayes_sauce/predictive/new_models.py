"""New models to predict, as users give them: validate, compute FLOPs, map release dates to fitted periods.

Inputs (one row per model, from the command line or a CSV): ``params_b`` and ``tokens_b`` (billions;
C = 6 N D) or ``flops``, ``developer``, optional ``developer_group`` (one of the paper's 13 groups;
used only for a developer the fit never saw), ``release_month`` (YYYY-MM or a full date), optional
``is_closed`` and ``model`` (a name). The output rows are ``predict``'s inputs; the tables summarise
draws by their median and equal-tailed interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.data.read import LINE, file_lines
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import interval_frame
from bayes_sauce.model.new_rows import PredictionError
from bayes_sauce.periods import cohort_last_month, period_labels

INPUT_COLUMNS = ("model", "params_b", "tokens_b", "flops", "developer", "developer_group", "release_month",
                 "is_closed")


def where(index: pd.Index, mask: np.ndarray | pd.Series) -> str:
    """The rows a message is about: their lines in the user's CSV (as every data message names them), else
    "the model" for the one given on the command line."""
    mask = np.asarray(mask, dtype=bool)
    if index.name == LINE:
        return f"line(s) {file_lines(index[mask])}"
    return "the model" if len(index) == 1 else f"row(s) {np.flatnonzero(mask)[:5].tolist()}"


def _positive(frame: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[column].notna() & ~(values > 0)
    if bad.any():
        raise PredictionError(f"{where(frame.index, bad)}: {column} must be a positive number, got "
                              f"{frame.loc[bad, column].head(3).tolist()}")
    return values


def log10_compute(frame: pd.DataFrame) -> pd.Series:
    """log10 training FLOPs: ``flops`` where given, else 6 * params * tokens (both in billions)."""
    flops = _positive(frame, "flops")
    params, tokens = _positive(frame, "params_b"), _positive(frame, "tokens_b")
    missing = flops.isna() & (params.isna() | tokens.isna())
    if missing.any():
        raise PredictionError(f"{where(frame.index, missing)}: give both params_b and tokens_b (billions), or flops")
    return np.log10(flops.fillna(6.0 * params * 1e9 * tokens * 1e9))


def release_months(frame: pd.DataFrame) -> pd.Series:
    """Release dates (YYYY-MM or YYYY-MM-DD) as monthly periods; fails naming unparsable rows."""
    dates = pd.to_datetime(frame["release_month"], errors="coerce", format="ISO8601")
    if dates.isna().any():
        raise PredictionError(f"{where(frame.index, dates.isna())}: release_month must be a date YYYY-MM or YYYY-MM-DD, got "
                              f"{frame.loc[dates.isna(), 'release_month'].head(3).tolist()}")
    return dates.dt.to_period("M")


def periods(months: pd.Series, fit: Fit, extend_last_cohort: bool) -> pd.Series:
    """Each month's period label in the fit's time granularity.

    Every month has a cohort (``periods``: the paper's, and later ones of nine months after 2025q1), but
    cohort offsets are estimated only for the cohorts the fit had: a month in another one is an error,
    unless it is after the last fitted cohort and ``extend_last_cohort`` (the last cohort's effect is
    assumed to persist). Random-walk periods are returned as they are; ``predict`` extrapolates them or refuses.
    """
    time = fit.spec.data.time
    labels = period_labels(months, time)
    fitted = fit.design.coords["period"]
    if time != "cohort":
        return labels.astype(str)
    later = (months > cohort_last_month(fitted[-1])).to_numpy()
    if later.any() and extend_last_cohort:
        labels[later] = fitted[-1]
    outside = (labels.isna() | ~labels.isin(fitted)).to_numpy()
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        hint = (" Pass --extend-last-cohort to assume the last fitted cohort's effect persists, or predict from a "
                "fit with a random walk over quarters (models/quarter_rw.toml), which extrapolates up to a year."
                if later[outside].any() else "")
        raise PredictionError(f"{where(months.index, outside)}: release month {months.iloc[first]} is in cohort {labels.iloc[first]}, "
                              f"which the fit never saw (its cohorts: {', '.join(fitted)}); the cohort model "
                              f"cannot extrapolate cohort offsets to a cohort it never saw.{hint}")
    return labels.astype(str)


def canonical_developers(names: pd.Series, fit: Fit) -> pd.Series:
    """Developer names matched to the fit's spelling, ignoring case; unseen names are kept as given."""
    fitted = {str(d).lower(): str(d) for d in fit.design.coords["developer"]}
    cleaned = names.astype("string").str.strip()
    empty = (cleaned.isna() | (cleaned == "")).to_numpy()
    if empty.any():
        raise PredictionError(f"{where(names.index, empty)}: developer is empty")
    return cleaned.map(lambda d: fitted.get(d.lower(), d)).astype(str)


def new_model_rows(frame: pd.DataFrame, fit: Fit, extend_last_cohort: bool = False,
                   with_compute: bool = True) -> pd.DataFrame:
    """Validated user rows -> ``predict``'s inputs (plus model name and release month).

    ``with_compute=False`` is for the inverse question, where the compute is what is asked for.
    """
    frame = frame.reindex(columns=list(INPUT_COLUMNS))  # the index stays: messages name a CSV's lines by it
    months = release_months(frame)
    log10_flops = log10_compute(frame) if with_compute else np.nan
    closed = frame["is_closed"].astype("string").str.strip().str.lower().isin(["true", "1", "yes"]).fillna(False)
    group = frame["developer_group"].astype("string").str.strip().replace("", pd.NA)
    return pd.DataFrame({
        "model": frame["model"].fillna(pd.Series([f"new-{i}" for i in range(len(frame))], index=frame.index)).astype(str),
        "developer": canonical_developers(frame["developer"], fit),
        "developer_group": group.astype(object).where(group.notna(), None),
        "release_month": months.astype(str),
        "period": periods(months, fit, extend_last_cohort),
        "log10_flops": log10_flops,
        "is_closed": closed,
    }).reset_index(drop=True)


IDENTITY_COLUMNS = ["model", "developer", "developer_group", "release_month", "period"]


def prediction_table(rows: pd.DataFrame, draws: xr.Dataset, prob: float) -> pd.DataFrame:
    """One row per new model: inputs, whether the developer was fitted, and the predicted score's interval."""
    return pd.concat([rows[IDENTITY_COLUMNS].fillna("").reset_index(drop=True),
                      pd.DataFrame({"developer_seen": draws["developer_seen"].values,
                                    "log10_flops": rows["log10_flops"].to_numpy()}),
                      interval_frame(draws["score"], prob, "score_").reset_index(drop=True)], axis=1)


def compute_table(rows: pd.DataFrame, needed: xr.Dataset, prob: float, target: float) -> pd.DataFrame:
    """One row per question: log10 FLOPs for the developer's median model and for a new model to reach ``target``."""
    return pd.concat([rows[IDENTITY_COLUMNS].fillna("").reset_index(drop=True),
                      pd.DataFrame({"developer_seen": needed["developer_seen"].values, "target_score": target}),
                      interval_frame(needed["median_model"], prob, "log10_flops_median_model_").reset_index(drop=True),
                      interval_frame(needed["new_model"], prob, "log10_flops_new_model_").reset_index(drop=True)],
                     axis=1)
