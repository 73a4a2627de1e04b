"""The report's tables, by the stem of their CSV: every headline quantity beside the paper's value and the
paper's OLS on the same rows, per developer, frontier, threshold fall, scaling curve, predictive check and psense."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.paper_numbers import comparable, load_paper_numbers
from bayes_sauce.data.read import DataValidationError
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.build import COMPONENTS
from bayes_sauce.paths import OLS_SPEC
from bayes_sauce.predictive.checks import ppc_table
from bayes_sauce.quantities import decompose, headline, posterior
from bayes_sauce.replication.ols import Replication, replicate
from bayes_sauce.sensitivity.psense import psense_table
from bayes_sauce.spec.schema import Spec, SpecError, merge, read_spec_dict, spec_from_dict

HEADLINE_COLUMNS = ["quantity", "median", "lo", "hi", "paper", "unit", "definition"]


def paper_reference(spec: Spec, periods: list[str] | None = None) -> pd.DataFrame:
    """The paper's numbers to compare a fit (over ``periods``, see ``comparable``) with: the main regression's
    (MATH's for that outcome), with the paper's Shapley shares for the same time granularity where it published them."""
    periods = periods or []
    if spec.data.outcome != "mmlu_pro":
        return comparable(load_paper_numbers("ols_math"), periods, spec.data.time)
    numbers = load_paper_numbers("ols")
    if spec.data.time != "cohort":
        same_time = load_paper_numbers(f"ols_{spec.data.time}")
        numbers = pd.concat([same_time, numbers.drop(same_time.index, errors="ignore")])
    return comparable(numbers, periods, spec.data.time)


def ols_reference(fit: Fit) -> Replication | None:
    """The paper's OLS (same outcome and time) on the fitted rows; None where they cannot support it (too few rows,
    one cluster, no model of the base group)."""
    raw = merge(read_spec_dict(OLS_SPEC), {"data": {"outcome": fit.spec.data.outcome, "time": fit.spec.data.time}})
    spec = spec_from_dict(raw, str(OLS_SPEC))
    try:
        return replicate(spec, Dataset(models=fit.rows, source=f"{fit.path}/models.csv"), str(OLS_SPEC),
                         replicates=0, progress=False, level=fit.prob)
    except (SpecError, DataValidationError):
        return None


def _draws_frame(quantities: dict[str, headline.Quantity], ids: list[str]) -> pd.DataFrame:
    """Draws of some quantities as columns (chain, draw rows)."""
    return xr.Dataset({i: quantities[i].value for i in ids}).to_dataframe()[ids].reset_index()


def shapley_table(table: pd.DataFrame, ols: Replication | None) -> pd.DataFrame:
    """Posterior Shapley shares beside the paper's and the paper's OLS decomposed one regressor per component."""
    rows = table.set_index("quantity")
    names = [n for n in headline.SHARE_NAMES.values() if f"shapley_{n}" in rows.index]
    out = rows.loc[[f"shapley_{n}" for n in names], ["median", "lo", "hi", "paper"]].reset_index(drop=True)
    out.insert(0, "component", names)
    if ols is not None:
        method = decompose.component_shapley(ols.components).to_series().rename(headline.SHARE_NAMES)
        out["ols_component_method"] = method.reindex(names).to_numpy()
    else:
        out["ols_component_method"] = np.nan
    return out


def developer_multiplier_table(table: pd.DataFrame, fit: Fit, ols: Replication | None) -> pd.DataFrame:
    """Group multipliers vs Other-Small: posterior, the paper's OLS on the same rows (delta-method interval), paper."""
    rows = table.set_index("quantity")
    prefix = "developer_multiplier__"
    ids = [q for q in rows.index if q.startswith(prefix)]
    out = rows.loc[ids, ["median", "lo", "hi", "paper"]].reset_index()
    out.insert(0, "group", [q.removeprefix(prefix) for q in ids])
    counts = fit.rows["developer_group"].map(headline.safe_label).value_counts()
    out.insert(1, "n_models", counts.reindex(out["group"]).fillna(0).astype(int).to_numpy())
    ols_rows = (ols.headline.set_index("quantity") if ols is not None else pd.DataFrame(columns=["median", "lo", "hi"]))
    ols_rows = ols_rows.reindex(ids)
    out["ols"], out["ols_lo"], out["ols_hi"] = (ols_rows[c].to_numpy(dtype=float) for c in ("median", "lo", "hi"))
    return out.drop(columns="quantity").sort_values("median", ascending=False).reset_index(drop=True)


FRONTIER_ID = re.compile(r"frontier_(?P<component>[a-z]+)_share__(?P<start>.+)__(?P<end>.+)")


def frontier_pairs_table(table: pd.DataFrame) -> pd.DataFrame:
    """The change-share rows of the headline table, one row per (pair, component)."""
    rows = []
    for r in table.itertuples(index=False):
        if m := FRONTIER_ID.fullmatch(r.quantity):
            rows.append({"pair": f"{m['start']} -> {m['end']}", "component": m["component"],
                         "median": r.median, "lo": r.lo, "hi": r.hi, "paper": r.paper})
    return pd.DataFrame(rows, columns=["pair", "component", "median", "lo", "hi", "paper"])


def model_effects_table(fit: Fit, comps: xr.Dataset) -> pd.DataFrame:
    """model_effects.csv: per model its family, posterior failure probability (empty where the spec has no
    failure component) and the posterior median of each component of its latent score."""
    rows = fit.rows
    out = pd.DataFrame({"model_id": rows["model_id"].to_numpy(),
                        "family": rows["family"].to_numpy() if "family" in rows else "",
                        "p_failure": comps["p_failure"].values if fit.has("p_failure") else np.nan})
    for name in (c for c in COMPONENTS if c in comps):
        out[f"{name}_median"] = comps[name].median(SAMPLE_DIMS).values
    return out


def build_tables(fit: Fit, ols: Replication | None) -> dict[str, pd.DataFrame]:
    """Every table of the report, by the stem of its CSV."""
    comps = posterior.components(fit)
    quantities = {q.id: q for q in posterior.quantities(fit, comps)}
    paper = paper_reference(fit.spec, fit.design.coords["period"])
    table = posterior.summarise(list(quantities.values()), paper, fit.prob)[HEADLINE_COLUMNS]
    outcome = fit.spec.data.outcome
    x = fit.rows["log10_flops"]
    spreads = [q for q in ("within_firm_spread_p90_p10", "within_firm_spread_p75_p25") if q in quantities]
    return {
        "headline": table,
        "developers": posterior.developer_table(fit),
        "shapley": shapley_table(table, ols),
        "developer_multipliers": developer_multiplier_table(table, fit, ols),
        "within_firm_spread": _draws_frame(quantities, spreads) if spreads else pd.DataFrame(),
        "frontier_pairs": frontier_pairs_table(table),
        "frontier_running": posterior.frontier_table(comps, fit.rows, outcome, fit.prob),
        "threshold_fall": headline.threshold_path(fit.rows, f"{outcome}_norm"),
        "scaling_curve": posterior.scaling_curve(fit, comps, np.linspace(x.min() - 0.25, x.max() + 0.25, 100)),
        "ppc": ppc_table(fit),
        "model_effects": model_effects_table(fit, comps),
        "psense": psense_table(fit, list(quantities.values())),
    }


