"""Per quantity over the data sets: the share of 50% and 90% intervals that cover the truth (with a binomial
interval), the uniformity of the truth's ranks, and the verdict: calibrated or not."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.calibration.ranks import COVERAGE_LEVELS
from bayes_sauce.intervals import proportion_interval
from bayes_sauce.predictive.checks import PIT_BAND, pit_summary

COVERAGE_PROB = 0.95  # level of the binomial interval around each coverage
FAMILY_ALPHA = 0.05  # the chance of flagging any quantity when all are calibrated (Bonferroni over the quantities)
UNIFORMITY_METHOD = "pot_c"  # ArviZ's default uniformity test of PIT values


def uniformity_p_value(pit: np.ndarray) -> float:
    """ArviZ's test of uniform PIT values (``pot_c``: pointwise order statistics, Cauchy-combined)."""
    values = xr.DataArray(np.asarray(pit, dtype=float), dims="dataset")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_value, _, _ = values.azstats.uniformity_test(dim="dataset", method=UNIFORMITY_METHOD)
    return float(p_value)


def coverage_table(ranks: pd.DataFrame) -> pd.DataFrame:
    """One row per quantity: the data sets, each level's coverage and its binomial interval, the rank test's
    p-value, whether the PIT-ECDF stays inside ArviZ's simultaneous 95% band, and ``calibrated``: the rank
    test does not reject uniformity at ``FAMILY_ALPHA`` over all the quantities (Bonferroni). Data sets where
    the quantity is undefined (NaN) are counted in ``n_undefined``, not ranked."""
    groups = list(ranks.groupby(["kind", "quantity"], sort=False))
    threshold = FAMILY_ALPHA / max(len(groups), 1)
    rows = []
    for (kind, quantity), both in groups:
        sub = both[both["pit"].notna()]
        row = {"quantity": quantity, "kind": kind, "n_datasets": len(sub), "n_undefined": len(both) - len(sub)}
        if sub.empty:
            rows.append({**row, "calibrated": False})
            continue
        for prob in COVERAGE_LEVELS:
            tag = round(prob * 100)
            covered = int(sub[f"covered_{tag}"].astype(bool).sum())
            lo, hi = proportion_interval(covered, len(sub), COVERAGE_PROB)
            row.update({f"coverage_{tag}": covered / len(sub), f"coverage_{tag}_lo": lo, f"coverage_{tag}_hi": hi})
        pit = sub["pit"].to_numpy(dtype=float)
        p_value = uniformity_p_value(pit)
        row.update({"rank_p_value": p_value, "p_threshold": threshold,
                    f"inside_band_{round(PIT_BAND * 100)}": pit_summary(pit)["passed"],
                    "mean_pit": float(pit.mean()), "calibrated": bool(p_value >= threshold)})
        rows.append(row)
    return pd.DataFrame(rows)
