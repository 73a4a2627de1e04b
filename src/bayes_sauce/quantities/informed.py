"""Which quantities the data inform, by a stated rule: a quantity is *not informed* by the data when its posterior
stays close to its prior, i.e. both its posterior interval is at least ``WIDTH_RATIO`` times as wide as the same
quantity's interval under the prior alone (the same spec, rows and code, the parameters drawn from their priors:
``predictive.prior.sample_prior``) and its posterior median lies in the prior's central half (between the prior's
quartiles: the data did not move it either). Widths are those of the equal-tailed interval of the report's level. Such
a quantity is reported, flagged, and never given a verdict.

A compute multiplier 10**(effect / beta) (or a spread) is judged on its logit scale, log10(multiplier) * beta in each
draw: the prior of beta alone (which reaches zero) makes every multiplier's prior interval nearly infinite, so the
multiplier itself would always look informed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.quantities.headline import Quantity

WIDTH_RATIO = 0.5
PRIOR_BULK = (0.25, 0.75)
RULE = (f"the data do not inform a quantity when its posterior interval is at least {WIDTH_RATIO:.0%} as wide as its "
        f"interval under the prior alone and its posterior median lies between the prior's quartiles (multipliers "
        "judged on the logit scale, log10(multiplier) * beta)")


def _draws(values: xr.DataArray, unit: str, beta: xr.DataArray) -> np.ndarray:
    """The draws on the scale the rule judges (a multiplier: log10(multiplier) * beta of the same draw), NaN left out."""
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.log10(values) * beta if unit == "x" else values
    draws = np.asarray(values, dtype=float).ravel()
    return draws[~np.isnan(draws)]


def _width(draws: np.ndarray, prob: float) -> float:
    if not len(draws):
        return np.nan
    lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], method="inverted_cdf")
    with np.errstate(invalid="ignore"):
        return float(hi - lo)


def prior_closeness(posterior: Quantity, prior: Quantity, prob: float, beta: xr.DataArray,
                    prior_beta: xr.DataArray) -> tuple[float, float]:
    """The posterior interval's width over the prior's (0 where the prior's is infinite, NaN where undefined), and
    the prior's CDF at the posterior median; ``beta`` and ``prior_beta`` are the compute slope's draws under each."""
    post, before = _draws(posterior.value, posterior.unit, beta), _draws(prior.value, prior.unit, prior_beta)
    wide, wide_before = _width(post, prob), _width(before, prob)
    if np.isnan(wide) or np.isnan(wide_before) or wide_before == 0:
        return np.nan, np.nan
    ratio = 0.0 if np.isinf(wide_before) and np.isfinite(wide) else wide / wide_before
    return ratio, float(np.mean(before <= np.median(post)))


def is_informed(ratio: float, prior_cdf: float) -> bool | None:
    """The rule (``RULE``): None where not assessed."""
    if np.isnan(ratio):
        return None
    return not (ratio >= WIDTH_RATIO and PRIOR_BULK[0] <= prior_cdf <= PRIOR_BULK[1])


def uninformed(flag: object) -> bool:
    """Whether an ``informed`` cell (True, False or empty, as written or read back) says the data do not inform it."""
    return flag is not None and not pd.isna(flag) and str(flag) == "False"
