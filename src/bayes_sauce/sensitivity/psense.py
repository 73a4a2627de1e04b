"""Power-scaling sensitivity (ArviZ psense, Kallioinen et al. 2024): which posteriors move when the priors
or the likelihood are raised to a power near 1, estimated by importance sampling without refitting."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats import psense_summary

from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.quantities.headline import Quantity

# Power-scaling: the usual threshold on the CJS distance's derivative (Kallioinen et al. 2024).
PSENSE_THRESHOLD = 0.05
# The priors power-scaled are the spec's top-level ones; the hierarchical levels (developer levels,
# model effects eta, random-walk steps) are structure, not choices, and scaling them would scale
# the model itself (as the priorsense authors advise for hierarchical models).
TOP_LEVEL_PRIORS = ("alpha", "beta", "group_offset", "pool_offset", "period_offset", "sigma_developer",
                    "nu_developer", "sigma_model", "sigma_closed", "sigma_period_step")
PSENSE_PARAMETERS = ("intercept", "beta", "sigma_developer", "nu_developer", "sigma_model", "sigma_closed",
                     "sigma_period_step", "period_effect", "pool_effect", "group_effect")


def psense_table(fit: Fit, quantities: list[Quantity], threshold: float = PSENSE_THRESHOLD) -> pd.DataFrame:
    """Prior and likelihood power-scaling sensitivity of the parameters and the per-draw headline quantities.

    ``prior``/``likelihood``: ArviZ's psense values (CJS distance per unit of log power, alpha 0.99..1.01);
    ``prior_sensitive``: prior >= threshold, i.e. the posterior moves when the (top-level) priors are
    power-scaled. Reference levels fixed at 0 are left out.
    """
    tree, post = fit.tree, fit.posterior
    per_draw = {q.id: q.value.reset_coords(drop=True) for q in quantities if set(q.value.dims) == set(SAMPLE_DIMS)}
    params = [v for v in PSENSE_PARAMETERS if v in post]
    priors = [v for v in TOP_LEVEL_PRIORS if v in tree["log_prior"].ds]
    posterior = post[params].assign({k: v for k, v in per_draw.items() if k not in post})
    data = xr.DataTree.from_dict({"posterior": posterior, "log_prior": tree["log_prior"].ds,
                                  "log_likelihood": tree["log_likelihood"].ds})
    log = logging.getLogger("arviz_stats.psense")  # its generic warning; the diagnosis column says it per row
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # constants give 0/0
            table = psense_summary(data, threshold=threshold, prior_var_names=priors, round_to=4)
    finally:
        log.setLevel(level)
    table = table.dropna(subset=["prior", "likelihood"], how="all").rename_axis("variable").reset_index()
    table["kind"] = np.where(table["variable"].str.split("[").str[0].isin(params), "parameter", "quantity")
    table["prior_sensitive"] = table["prior"] >= threshold
    table["diagnosis"] = table["diagnosis"].replace("✓", "ok")
    return table[["variable", "kind", "prior", "likelihood", "prior_sensitive", "diagnosis"]]


