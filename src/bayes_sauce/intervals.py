"""Posterior summaries: the median and the equal-tailed interval over the sample dims.

The interval is ArviZ's ETI (``arviz_stats.eti``: the (1 - prob)/2 and (1 + prob)/2 quantiles, numpy's), computed
here by xarray's quantile with the same method: importing arviz_stats takes about a second (it imports scipy.stats),
which a one-model ``predict`` cannot afford; a test checks the two agree."""

from __future__ import annotations

import pandas as pd
import xarray as xr

SAMPLE_DIMS = ("chain", "draw")
# Empirical quantiles without interpolation, so draws may be infinite (e.g. no halving without progress).
QUANTILE_METHOD = "inverted_cdf"


def median_interval(values: xr.DataArray, prob: float, dims: tuple[str, ...] = SAMPLE_DIMS) -> xr.DataArray:
    """Median and ``prob`` equal-tailed interval over ``dims``: dims (..., quantile) with coords lo, median, hi."""
    tail = (1 - prob) / 2
    out = values.quantile([tail, 0.5, 1 - tail], dim=dims, method=QUANTILE_METHOD)
    return out.assign_coords(quantile=["lo", "median", "hi"])


def interval_frame(values: xr.DataArray, prob: float, prefix: str = "",
                   dims: tuple[str, ...] = SAMPLE_DIMS) -> pd.DataFrame:
    """``median``, ``lo``, ``hi`` columns (prefixed) of a quantity with at most one non-sample dim, one row per entry."""
    summary = median_interval(values, prob, dims).transpose(..., "quantile")
    frame = pd.DataFrame(summary.values.reshape(-1, 3), columns=list(summary["quantile"].values))
    if summary.ndim == 2:
        frame.index = pd.Index(summary[summary.dims[0]].values, name=summary.dims[0])
    return frame[["median", "lo", "hi"]].add_prefix(prefix)


def proportion_interval(successes: int, n: int, prob: float) -> tuple[float, float]:
    """Clopper-Pearson ``prob`` interval of a binomial proportion (e.g. the coverage of n intervals); NaN for n = 0."""
    from scipy.stats import binomtest

    if n == 0:
        return float("nan"), float("nan")
    ci = binomtest(successes, n).proportion_ci(confidence_level=prob, method="exact")
    return float(ci.low), float(ci.high)
