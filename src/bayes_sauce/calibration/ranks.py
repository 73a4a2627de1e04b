"""The rank of the truth among the posterior draws, for every scalar parameter and the headline quantities.

The quantities come from :func:`bayes_sauce.quantities.posterior.quantities`, computed on the truth (a
one-draw fit of the simulating model) and on the posterior of the same simulated data set. A quantity
that depends on the data as well as the parameters (Shapley shares, within-firm spreads, frontier
shares: the model effects are what the data leave after the other components) is a test quantity
f(theta, y) like any other: its rank is uniform when the inference is calibrated. Both views are ranked; what the
model view draws per draw (failed evaluations, damage, a single family's split: ``quantities.latent``) is drawn
for the truth from its conditional distribution given the true parameters and the data, which keeps the ranks
uniform. Quantities are chosen by their key (``quantities.keys``), not by parsing ids.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS, median_interval
from bayes_sauce.quantities import posterior
from bayes_sauce.quantities.headline import FRONTIER_PAIRS
from bayes_sauce.quantities.keys import Key

# Kinds of headline quantities ranked besides the scalar parameters.
RANKED_KINDS = ("shapley", "progress_multiplier", "progress_last_vs_first", "within_firm_spread", "frontier_share",
                "failure_share")
RUNNING_BEST = ("first_to_last_frontier",)  # the pair of the running-best frontier, whatever its models
COVERAGE_LEVELS = (0.5, 0.9)
RANK_COLUMNS = ["quantity", "kind", "truth", "rank", "n_draws", "pit", "median",
                *[f"{side}_{round(p * 100)}" for p in COVERAGE_LEVELS for side in ("lo", "hi")],
                *[f"covered_{round(p * 100)}" for p in COVERAGE_LEVELS]]


def ranked_key(key: Key, last_period: str) -> Key | None:
    """The key under which a headline quantity is ranked (None: not ranked): the Shapley shares, the period
    multipliers (the last period's is ``progress_last_vs_first``), the pooled within-firm spreads, compute's share of
    the frontier pairs and the failure share. The pair from the first to the last running-best model depends on the
    simulated scores, so it gets one key for every data set."""
    if key.kind not in RANKED_KINDS or (key.kind == "within_firm_spread" and (key.subject or key.variant)):
        return None
    if key.kind == "progress_multiplier" and key.subject == last_period:
        return None
    if key.kind == "frontier_share":
        if key.component != "compute":
            return None
        return key if key.pair in FRONTIER_PAIRS else replace(key, pair=RUNNING_BEST)
    return key


def calibration_quantities(fit: Fit, comps: xr.Dataset) -> dict[str, tuple[str, xr.DataArray]]:
    """id -> (kind, values over the draws): every scalar variable of the posterior ("parameter") and the headline
    quantities of both views ("headline"), from the fit's components ``comps``."""
    post = fit.posterior
    out = {name: ("parameter", post[name]) for name in sorted(post.data_vars) if set(post[name].dims) == set(SAMPLE_DIMS)}
    last = str(post["period"].values[-1]) if "period" in post.coords else ""
    for q in posterior.quantities(fit, comps):
        key = ranked_key(q.key, last)
        if key is not None and set(SAMPLE_DIMS) <= set(q.value.dims) and q.value.ndim == len(SAMPLE_DIMS):
            out[key.id] = ("headline", q.value)
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
    true_values = calibration_quantities(truth, posterior.components(truth))
    draws = calibration_quantities(fitted, posterior.components(fitted))
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
