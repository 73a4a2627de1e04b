"""The report's tables, by the stem of their CSV: every headline quantity in both views beside the paper's value and
the paper's OLS on the same rows, the claims, per developer, frontier, threshold fall, scaling curve, predictive
check and psense. Rows are chosen by each quantity's key (``quantities.keys``), never by parsing its id."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.paper_numbers import comparable, load_paper_numbers
from bayes_sauce.data.read import DataValidationError
from bayes_sauce.defaults import SEED
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.build import COMPONENTS
from bayes_sauce.predictive.checks import ppc_table
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.quantities import decompose, headline, posterior
from bayes_sauce.quantities.headline import Quantity
from bayes_sauce.quantities.keys import ID_TOKENS, MODEL, PAPER, component_name
from bayes_sauce.quantities.views import View, paper_spec
from bayes_sauce.paths import OLS_SPEC
from bayes_sauce.replication.ols import Replication, replicate
from bayes_sauce.reporting.claims import claims_table
from bayes_sauce.sensitivity.psense import psense_table
from bayes_sauce.spec.schema import Spec, SpecError

PRIOR_DRAWS = 1000  # prior draws behind the informed check (widths of 90% intervals), at most
# How a frontier share reads self-reported scores, by its key's variant.
SCORE_READINGS = {"": "face value", headline.LEADERBOARD_SCALE: "leaderboard scale"}


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
    try:
        return replicate(paper_spec(fit.spec), Dataset(models=fit.rows, source=f"{fit.path}/models.csv"), str(OLS_SPEC),
                         replicates=0, progress=False, level=fit.prob)
    except (SpecError, DataValidationError):
        return None


def prior_quantities(fit: Fit) -> dict[str, Quantity]:
    """Every headline quantity under the prior alone: the same spec, rows and code, the parameters drawn from their
    priors (``sample_prior``, seeded by the fit's seed), as many draws as the posterior has, at most ``PRIOR_DRAWS``
    (a prior width known more precisely than the posterior's it is set against adds nothing)."""
    draws = min(PRIOR_DRAWS, fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"])
    with warnings.catch_warnings():  # numba's note that it runs the skew-normal's draws in Python: not the user's
        warnings.filterwarnings("ignore", message="Numba will use object mode", category=UserWarning)
        prior = sample_prior(fit.spec, Dataset(models=fit.rows), draws, int(fit.tree.attrs.get("seed", SEED)),
                             predictive=False)
    return {q.id: q for q in posterior.quantities(prior)}


def _draws_frame(quantities: list[Quantity]) -> pd.DataFrame:
    """Draws of some quantities as columns (chain, draw rows)."""
    ids = [q.id for q in quantities]
    return xr.Dataset({q.id: q.value for q in quantities}).to_dataframe()[ids].reset_index()


def _summary(table: pd.DataFrame, ids: list[str], prefix: str = "") -> pd.DataFrame:
    rows = table.set_index("quantity").reindex(ids)
    return pd.DataFrame({f"{prefix}{c}": rows[c].to_numpy(dtype=float) for c in ("median", "lo", "hi")})


def shapley_table(quantities: list[Quantity], table: pd.DataFrame, ols: Replication | None) -> pd.DataFrame:
    """Each view's Shapley shares (view, component, median, lo, hi) beside the paper's and, in the paper view, the
    paper's OLS on the same rows (``ols``)."""
    shares = [q for q in quantities if q.key.kind == "shapley"]
    out = pd.DataFrame({"view": [q.key.view for q in shares],
                        "component": [ID_TOKENS.get(q.key.component, q.key.component) for q in shares]})
    out = pd.concat([out, _summary(table, [q.id for q in shares])], axis=1)
    out["paper"] = table.set_index("quantity")["paper"].reindex([q.id for q in shares]).to_numpy()
    replicated = ols.shapley.set_index("component")["share"] if ols is not None else pd.Series(dtype=float)
    out["ols"] = np.where(out["view"] == PAPER, replicated.reindex(out["component"]).to_numpy(), np.nan)
    return out


def developer_multiplier_table(quantities: list[Quantity], table: pd.DataFrame, fit: Fit,
                               ols: Replication | None) -> pd.DataFrame:
    """Group multipliers vs Other-Small: the paper view, the model view, the paper's OLS on the same rows
    (delta-method interval) and the paper's value."""
    by_view = {view: {q.key.subject: q.id for q in quantities if q.key.kind == "developer_multiplier"
                      and q.key.view == view} for view in (PAPER, MODEL)}
    groups = list(dict.fromkeys([*by_view[PAPER], *by_view[MODEL]]))
    counts = fit.rows["developer_group"].value_counts()
    out = pd.DataFrame({"group": groups, "n_models": counts.reindex(groups).fillna(0).astype(int).to_numpy()})
    paper_ids = [by_view[PAPER].get(g, "") for g in groups]
    out = pd.concat([out, _summary(table, paper_ids), _summary(table, [by_view[MODEL].get(g, "") for g in groups],
                                                               "model_")], axis=1)
    ols_rows = ols.headline.set_index("quantity") if ols is not None else pd.DataFrame(columns=["median", "lo", "hi"])
    ols_rows = ols_rows.reindex(paper_ids)
    out["ols"], out["ols_lo"], out["ols_hi"] = (ols_rows[c].to_numpy(dtype=float) for c in ("median", "lo", "hi"))
    out["paper"] = table.set_index("quantity")["paper"].reindex(paper_ids).to_numpy()
    return out.sort_values("median", ascending=False).reset_index(drop=True)


def frontier_pairs_table(quantities: list[Quantity], table: pd.DataFrame) -> pd.DataFrame:
    """The change shares of both views, one row per (view, pair, scores, component); ``scores`` says how
    self-reported scores are read: at face value (as the paper) or on the leaderboard scale (less the protocol offset;
    only where a fit has one and it moves the pair's gain)."""
    shares = [q for q in quantities if q.key.kind == "frontier_share"]
    out = pd.DataFrame({"view": [q.key.view for q in shares], "pair": [" -> ".join(q.key.pair) for q in shares],
                        "scores": [SCORE_READINGS[q.key.variant] for q in shares],
                        "component": [ID_TOKENS.get(q.key.component, q.key.component) for q in shares]})
    out = pd.concat([out, _summary(table, [q.id for q in shares])], axis=1)
    out["paper"] = table.set_index("quantity")["paper"].reindex([q.id for q in shares]).to_numpy()
    return out


def spread_draws(quantities: list[Quantity]) -> pd.DataFrame:
    """Draws of the pooled within-firm spreads of both views (and the model view's at beta's median)."""
    pooled = [q for q in quantities if q.key.kind == "within_firm_spread" and not q.key.subject
              and set(SAMPLE_DIMS) <= set(q.value.dims)]
    return _draws_frame(pooled) if pooled else pd.DataFrame()


def components_table(views: list[View]) -> pd.DataFrame:
    """components.csv: each view's components, in order, with what each is (the last is its shares' residual)."""
    return pd.DataFrame([{"view": v.name, "component": ID_TOKENS.get(c, c), "name": component_name(c),
                          "meaning": v.meanings.get(c, "")} for v in views for c in decompose.component_names(v.components)])


def model_effects_table(fit: Fit, comps: xr.Dataset) -> pd.DataFrame:
    """model_effects.csv: per model its family, posterior failure probability (empty where the spec has no
    failure component) and the posterior median of each component of its latent score in the model."""
    rows = fit.rows
    out = pd.DataFrame({"model_id": rows["model_id"].to_numpy(),
                        "family": rows["family"].to_numpy() if "family" in rows else "",
                        "p_failure": posterior.failure_probability(fit).values if fit.has("p_failure") else np.nan})
    for name in (c for c in COMPONENTS if c in comps):
        out[f"{name}_median"] = comps[name].median(SAMPLE_DIMS).values
    return out


def build_tables(fit: Fit, ols: Replication | None, prior: dict[str, Quantity] | None = None) -> dict[str, pd.DataFrame]:
    """Every table of the report, by the stem of its CSV; ``prior`` (default: computed) are the quantities under the
    prior that tell which quantities the data inform."""
    comps = posterior.components(fit)
    views: list[View] = posterior.fit_views(fit, comps)
    found = posterior.quantities(fit, comps, views)
    prior = prior_quantities(fit) if prior is None else prior
    paper = paper_reference(fit.spec, fit.design.coords["period"])
    table = posterior.summarise(found, paper, fit.prob, prior)
    outcome = fit.spec.data.outcome
    x = fit.rows["log10_flops"]
    return {
        "headline": table,
        "claims": claims_table({q.id: q for q in found}, table),
        "components": components_table(views),
        "developers": posterior.developer_table(fit),
        "shapley": shapley_table(found, table, ols),
        "developer_multipliers": developer_multiplier_table(found, table, fit, ols),
        "within_firm_spread": spread_draws(found),
        "frontier_pairs": frontier_pairs_table(found, table),
        "frontier_running": posterior.frontier_table(views[0], fit.rows, outcome, fit.prob),
        "threshold_fall": headline.threshold_path(fit.rows, f"{outcome}_norm"),
        "scaling_curve": posterior.scaling_curve(fit, comps, np.linspace(x.min() - 0.25, x.max() + 0.25, 100)),
        "ppc": ppc_table(fit),
        "model_effects": model_effects_table(fit, comps),
        "psense": psense_table(fit, found),
    }
