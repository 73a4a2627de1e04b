"""Power-scaling sensitivity (ArviZ psense, Kallioinen et al. 2024): which posteriors move when the priors
(every prior of the spec) or the likelihood are raised to a power near 1, estimated by importance sampling without
refitting."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats import psense_summary

from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.quantities.headline import Quantity
from bayes_sauce.spec.priors import prior_variables

# Power-scaling: the usual threshold on the CJS distance's derivative (Kallioinen et al. 2024).
PSENSE_THRESHOLD = 0.05
# Derived effects reported in place of the level alpha and the offsets (each a function of the scaled parameters).
REPORTED_EFFECTS = ("intercept", "period_effect", "pool_effect", "group_effect")


def psense_table(fit: Fit, quantities: list[Quantity], threshold: float = PSENSE_THRESHOLD) -> pd.DataFrame:
    """Prior and likelihood power-scaling sensitivity of the parameters and the per-draw headline quantities.

    ``prior``/``likelihood``: ArviZ's psense values (CJS distance per unit of log power, alpha 0.99..1.01);
    ``prior_sensitive``: prior >= threshold, i.e. the posterior moves when every prior of the spec is
    power-scaled. Reference levels fixed at 0 are left out.
    """
    tree, post = fit.tree, fit.posterior
    per_draw = {q.id: q.value.reset_coords(drop=True) for q in quantities if set(q.value.dims) == set(SAMPLE_DIMS)}
    priors = [v for v in prior_variables(fit.spec.priors) if v in tree["log_prior"].ds]
    params = [v for v in (*priors, *REPORTED_EFFECTS) if v in post and v != "alpha" and not v.endswith("_offset")]
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


