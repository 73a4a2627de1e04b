"""The rank of the truth among the posterior draws, for every scalar parameter and the headline quantities.

The quantities come from :func:`bayes_sauce.quantities.posterior.quantities`, computed on the truth (a
one-draw fit of the simulating model) and on the posterior of the same simulated data set. A quantity
that depends on the data as well as the parameters (Shapley shares, within-firm spreads, frontier
shares: the model effects are what the data leave after the other components) is a test quantity
f(theta, y) like any other: its rank is uniform when the inference is calibrated. Both sides leave out
the same models as failed evaluations (those the posterior says are, a function of the data alone).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS, median_interval
from bayes_sauce.quantities import posterior
from bayes_sauce.quantities.headline import FRONTIER_PAIRS

# Headline quantities ranked besides the scalar parameters (ids as in headline.csv).
HEADLINE_PREFIXES = ("shapley_", "progress_multiplier", "within_firm_spread_p90_p10", "within_firm_spread_p75_p25",
                     "frontier_compute_share__", "failure_share")
PAPER_PAIRS = {f"{start}__{end}" for start, end in FRONTIER_PAIRS}
RUNNING_BEST = "frontier_compute_share__first_to_last_frontier"
COVERAGE_LEVELS = (0.5, 0.9)
RANK_COLUMNS = ["quantity", "kind", "truth", "rank", "n_draws", "pit", "median",
                *[f"{side}_{round(p * 100)}" for p in COVERAGE_LEVELS for side in ("lo", "hi")],
                *[f"covered_{round(p * 100)}" for p in COVERAGE_LEVELS]]


def _headline_id(qid: str, last_period: str) -> str | None:
    """The id under which a headline quantity is ranked (None: not ranked). The frontier pair from the first to
    the last running-best model depends on the simulated scores, so it gets one id for every data set; the
    per-developer spreads and the variants including failures are left out; the last period's multiplier is
    ``progress_multiplier_last_vs_first``."""
    if not qid.startswith(HEADLINE_PREFIXES) or qid.endswith("__including_failures"):
        return None
    if qid.startswith("within_firm_spread") and "__" in qid:
        return None
    if qid == f"progress_multiplier__{last_period}":
        return None
    if qid.startswith("frontier_compute_share__") and qid.removeprefix("frontier_compute_share__") not in PAPER_PAIRS:
        return RUNNING_BEST
    return qid


def calibration_quantities(fit: Fit, comps: xr.Dataset) -> dict[str, tuple[str, xr.DataArray]]:
    """id -> (kind, values over the draws): every scalar variable of the posterior ("parameter") and the headline
    quantities ("headline"), from the fit's components ``comps`` (their ``failure`` marks the models left out)."""
    post = fit.posterior
    out = {name: ("parameter", post[name]) for name in sorted(post.data_vars) if set(post[name].dims) == set(SAMPLE_DIMS)}
    last = str(post["period"].values[-1]) if "period" in post.coords else ""
    for q in posterior.quantities(fit, comps):
        qid = _headline_id(q.id, last)
        if qid is not None and set(SAMPLE_DIMS) <= set(q.value.dims) and q.value.ndim == len(SAMPLE_DIMS):
            out[qid] = ("headline", q.value)
    return out


def rank_of(truth: float, draws: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
    """The truth's rank among the draws (ties broken at random) and its PIT, (rank + U) / (draws + 1), uniform
    on (0, 1) when the truth is a draw from the same distribution as the draws."""
    below = int(np.sum(draws < truth))
    rank = below + int(rng.integers(0, int(np.sum(draws == truth)) + 1))
    return rank, (rank + float(rng.uniform())) / (len(draws) + 1)


def rank_table(truth: Fit, fitted: Fit, seed: int) -> pd.DataFrame:
    """One row per quantity both fits have: the truth, its rank and PIT among the draws, the median and the
    50% and 90% intervals (``intervals.median_interval``) and whether each covers the truth; a quantity that is
    NaN in the truth or a draw (undefined for this data set) has its row with no rank."""
    comps = posterior.components(fitted)
    true_comps = posterior.components(truth).assign_coords(failure=("model", comps["failure"].values))
    true_values = calibration_quantities(truth, true_comps)
    draws = calibration_quantities(fitted, comps)
    rng = np.random.default_rng(seed)
    rows = []
    for qid in (q for q in draws if q in true_values):
        kind, values = draws[qid]
        t = float(true_values[qid][1].values.reshape(-1)[0])
        flat = values.values.reshape(-1)
        if np.isnan(t) or np.isnan(flat).any():  # undefined here (kept as a row: the coverage table counts it)
            rows.append({"quantity": qid, "kind": kind, "truth": t, "n_draws": len(flat)})
            continue
        rank, pit = rank_of(t, flat, rng)  # +-inf ranks like any other value (a multiplier that overflows)
        row = {"quantity": qid, "kind": kind, "truth": t, "rank": rank, "n_draws": len(flat), "pit": pit}
        for prob in COVERAGE_LEVELS:
            s = median_interval(values, prob)
            lo, hi = float(s.sel(quantile="lo")), float(s.sel(quantile="hi"))
            row.update({"median": float(s.sel(quantile="median")), f"lo_{round(prob * 100)}": lo,
                        f"hi_{round(prob * 100)}": hi, f"covered_{round(prob * 100)}": bool(lo <= t <= hi)})
        rows.append(row)
    return pd.DataFrame(rows, columns=RANK_COLUMNS)
