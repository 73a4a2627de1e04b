"""Posterior summaries: the median and the equal-tailed interval over the sample dims (ArviZ's ETI)."""

from __future__ import annotations

import pandas as pd
import xarray as xr
from arviz_stats import eti

SAMPLE_DIMS = ("chain", "draw")
# Empirical quantiles without interpolation, so draws may be infinite (e.g. no halving without progress).
QUANTILE_METHOD = "inverted_cdf"


def median_interval(values: xr.DataArray, prob: float, dims: tuple[str, ...] = SAMPLE_DIMS) -> xr.DataArray:
    """Median and ``prob`` equal-tailed interval over ``dims``: dims (..., quantile) with coords lo, median, hi."""
    bounds = eti(values, prob=prob, dim=list(dims), method=QUANTILE_METHOD)
    median = values.quantile(0.5, dim=dims, method=QUANTILE_METHOD).drop_vars("quantile")
    out = xr.concat([bounds.isel(ci_bound=0, drop=True), median, bounds.isel(ci_bound=1, drop=True)], dim="quantile",
                    coords="minimal", compat="override")
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
    from scipy.stats import beta

    if n == 0:
        return float("nan"), float("nan")
    tail = (1 - prob) / 2
    lo = 0.0 if successes == 0 else float(beta.ppf(tail, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(beta.ppf(1 - tail, successes + 1, n - successes))
    return lo, hi
