"""The paper's own analysis, reproduced: OLS with fixed effects and clustered errors, Shapley R2.

logit((score - floor) / (1 - floor)) = b0 + beta * log10 FLOPs + period dummies + developer-group
dummies (+ controls), by OLS (pyfixest) with standard errors clustered on the developer groups
and Stata's small-sample correction (G/(G-1)) * ((N-1)/(N-K)). Everything downstream (Shapley
shares, multipliers, spreads, frontier shares) is computed by ``decompose`` and ``headline`` from
the fit's per-model components, the same functions the Bayesian posterior goes through.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyfixest as pf
import xarray as xr
from scipy.stats import norm
from tqdm.auto import tqdm

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.filters import exclude_for_analysis
from bayes_sauce.data.read import DataValidationError
from bayes_sauce.data.schema import GROUPS
from bayes_sauce.defaults import SEED
from bayes_sauce.periods import PERIOD_COLUMN
from bayes_sauce.quantities import decompose, headline
from bayes_sauce.quantities.keys import ID_TOKENS, PAPER, Key
from bayes_sauce.scale import COMPUTE_ORIGIN_LOG10_FLOPS, scale_of
from bayes_sauce.spec.schema import Spec, SpecError, check_columns

COMPUTE_TERM = "log10_flops"
PERIOD_X_COMPUTE = "period_x_compute"
BOOTSTRAP_CHUNK = 50  # replicates computed at once (one progress-bar step)


@dataclass(frozen=True)
class Design:
    """Outcome, regressors (columns named by their term labels) and clusters of the estimation sample."""

    models: pd.DataFrame
    y: pd.Series
    X: pd.DataFrame
    groups: dict[str, list[str]]  # Shapley player -> its columns of X
    cluster: pd.Series
    base_period: str
    base_group: str


@dataclass(frozen=True)
class OLSFit:
    """Point estimates, clustered covariance and fit statistics of the paper's regression."""

    coefficients: pd.DataFrame  # term, estimate, std_error
    vcov: pd.DataFrame  # clustered covariance, indexed by term
    r2: float
    n_obs: int
    n_clusters: int
    residuals: pd.Series


@dataclass(frozen=True)
class Replication:
    """Everything ``replicate`` reports for one spec and dataset."""

    spec: Spec
    dataset: Dataset
    design: Design
    fit: OLSFit
    components: xr.Dataset
    shapley: pd.DataFrame  # component, share, lo, hi
    headline: pd.DataFrame  # quantity, median, lo, hi, unit, definition, interval
    frontier: pd.DataFrame
    level: float
    replicates: int


def logit_outcome(models: pd.DataFrame, outcome: str) -> pd.Series:
    """logit of the chance-normalised score, (score - floor) / (1 - floor)."""
    return scale_of(outcome).to_logit(models[outcome])


def _dummies(labels: pd.Series, base: str) -> pd.DataFrame:
    """Indicator columns for every label but the base, named by the labels."""
    return pd.get_dummies(labels, dtype=float).drop(columns=base)


def check_sample(spec: Spec, dataset: Dataset, period: pd.Series, source: str) -> None:
    """Fail, naming the data, when its rows cannot support the regression: the spec is blamed only for a base group
    that is no group at all."""
    m, base, cluster = dataset.models, spec.ols.base_group, spec.ols.cluster
    if base not in GROUPS:
        raise SpecError(f"{source}: key 'ols.base_group': {base!r} is not one of the paper's groups {list(GROUPS)}")
    data = f"{dataset.source or 'the data'} (after the filters and exclusions)"
    groups = sorted(m["developer_group"].unique())
    n_terms = 1 + 1 + period.nunique() - 1 + len(groups) - 1 + len(spec.ols.controls)
    if len(m) <= n_terms:
        raise DataValidationError(f"{data}: {len(m)} model(s) are too few for the paper's regression, which has "
                                  f"{n_terms} coefficients here (intercept, compute, {period.nunique() - 1} period and "
                                  f"{len(groups) - 1} group dummies); it needs more models than coefficients")
    if m[cluster].nunique() < 2:
        raise DataValidationError(f"{data}: every model is in one {cluster} ({m[cluster].iloc[0]!r}); standard errors "
                                  f"clustered on {cluster} need at least two")
    if base not in groups:
        raise DataValidationError(f"{data}: no models of the group {base!r}, the regression's reference group (key "
                                  f"'ols.base_group' in {source}); groups in the data: {groups}")


def build_design(spec: Spec, dataset: Dataset, source: str = "<spec>") -> Design:
    """The regression's design from a spec; fails naming the spec key if the data cannot support it."""
    check_columns(spec, set(dataset.models.columns), source)
    m = dataset.models
    period = m[PERIOD_COLUMN[spec.data.time]].astype(str)
    group = m["developer_group"]
    base_period = sorted(period.unique())[0]
    base_group = spec.ols.base_group
    check_sample(spec, dataset, period, source)
    x = m[COMPUTE_TERM]
    periods, developers = _dummies(period, base_period), _dummies(group, base_group)
    groups = {"compute": [COMPUTE_TERM], "time": list(periods.columns), "developer": list(developers.columns)}
    parts = [x.rename(COMPUTE_TERM), periods, developers]
    controls = []
    for control in spec.ols.controls:
        if control == PERIOD_X_COMPUTE:
            # Period-specific slopes, centred at the sample mean of log10 FLOPs so that the period
            # dummies keep meaning "progress at average compute"; they count towards compute.
            slopes = periods.mul(x - x.mean(), axis=0).add_prefix(f"{COMPUTE_TERM}:")
            parts.append(slopes)
            groups["compute"] += list(slopes.columns)
        else:
            column = m[control]
            if not (pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column)):
                raise SpecError(f"{source}: key 'ols.controls': column {control!r} is not numeric or boolean")
            parts.append(column.astype(float).rename(control))
            controls.append(control)
    if controls:
        groups["controls"] = controls
    return Design(models=m, y=logit_outcome(m, spec.data.outcome).rename("y"), X=pd.concat(parts, axis=1),
                  groups=groups, cluster=m[spec.ols.cluster], base_period=base_period, base_group=base_group)


def fit_ols(design: Design) -> OLSFit:
    """OLS with CRV1 errors clustered as the spec says, Stata's small-sample correction (pyfixest default)."""
    safe = {term: f"v{i}" for i, term in enumerate(design.X.columns)}
    frame = design.X.rename(columns=safe).assign(y=design.y, cluster=design.cluster.astype(str))
    fit = pf.feols(f"y ~ {' + '.join(safe.values())}", data=frame, vcov={"CRV1": "cluster"},
                   ssc=pf.ssc(k_adj=True, G_adj=True))
    names = {v: k for k, v in safe.items()}
    terms = [names.get(str(c), str(c)) for c in fit.coef().index]
    coefficients = pd.DataFrame({"term": terms, "estimate": fit.coef().to_numpy(), "std_error": fit.se().to_numpy()})
    residuals = pd.Series(np.asarray(fit.resid()), index=design.models.index)
    # pyfixest 0.60 has no public accessor for the coefficient covariance or R2 (``vcov`` is the method that sets
    # the inference; ``summary`` prints R2 rounded), hence its attributes ``_vcov`` and ``_r2``.
    return OLSFit(
        coefficients=coefficients,
        vcov=pd.DataFrame(fit._vcov, index=terms, columns=terms),
        r2=float(fit._r2),
        n_obs=len(residuals),
        n_clusters=int(design.cluster.nunique()),
        residuals=residuals,
    )


def build_components(design: Design, fit: OLSFit) -> xr.Dataset:
    """Per-model components of the fitted logit (decompose's convention) plus beta.

    compute = beta * (log10 FLOPs - 18) (+ period-slope terms), time = period effect, developer =
    group effect, controls = their fitted sum, model_effect = the residual.
    """
    coef = fit.coefficients.set_index("term")["estimate"].reindex(design.X.columns).fillna(0.0)
    beta = coef[COMPUTE_TERM]
    model_ids = design.models["model_id"].to_numpy()
    data = {name: design.X[cols].to_numpy() @ coef[cols].to_numpy() for name, cols in design.groups.items()}
    data["compute"] = data["compute"] - beta * COMPUTE_ORIGIN_LOG10_FLOPS
    data["model_effect"] = fit.residuals.to_numpy()
    return xr.Dataset({k: ("model", v) for k, v in data.items()} | {"beta": beta},
                      coords={"model": model_ids})


def regressor_columns(design: Design) -> xr.DataArray:
    """The outcome and every regressor as one (model, var) array, for covariance-based R2."""
    frame = pd.concat([design.y, design.X], axis=1)
    return xr.DataArray(frame.to_numpy(), dims=("model", "var"), coords={"var": list(frame.columns)})


def shapley_shares(design: Design, weights: xr.DataArray | None = None) -> xr.DataArray:
    """Exact Shapley-Owen shares of the OLS R2 over the regressor groups (each subset's own OLS R2)."""
    cov = decompose.covariance(regressor_columns(design), weights=weights)
    return decompose.shapley_owen(decompose.subset_r2(cov, "y", design.groups), list(design.groups))


def bootstrap_shapley(design: Design, replicates: int, seed: int, progress: bool = True) -> xr.DataArray:
    """Shapley shares over cluster-bootstrap replicates: clusters drawn with replacement.

    A replicate is a frequency-weighted regression (weight = times the model's cluster was drawn),
    so a cluster drawn twice shares its one dummy; replicates are vectorised in chunks.
    """
    rng = np.random.default_rng(seed)
    codes, uniques = pd.factorize(design.cluster)
    g = len(uniques)
    counts = rng.multinomial(g, np.full(g, 1.0 / g), size=replicates)
    chunks = []
    for start in tqdm(range(0, replicates, BOOTSTRAP_CHUNK), desc="cluster bootstrap", unit="chunk",
                      total=-(-replicates // BOOTSTRAP_CHUNK), disable=not progress):
        w = counts[start:start + BOOTSTRAP_CHUNK][:, codes]
        chunks.append(shapley_shares(design, xr.DataArray(w, dims=("replicate", "model"))))
    return xr.concat(chunks, dim="replicate")


def multiplier_interval(fit: OLSFit, term: str, level: float) -> tuple[float, float, float]:
    """10**(b/beta) with a delta-method interval on log10 scale (normal, clustered covariance), as the paper."""
    b, beta = fit.coefficients.set_index("term").loc[[term, COMPUTE_TERM], "estimate"]
    grad = np.array([1 / beta, -b / beta**2])
    v = fit.vcov.loc[[term, COMPUTE_TERM], [term, COMPUTE_TERM]].to_numpy()
    se = float(np.sqrt(grad @ v @ grad))
    z = norm.ppf(0.5 + level / 2)
    r = b / beta
    return 10**r, 10 ** (r - z * se), 10 ** (r + z * se)


def _row(q: headline.Quantity, lo: float = np.nan, hi: float = np.nan, interval: str = "") -> dict:
    return {"quantity": q.id, "median": float(q.value), "lo": lo, "hi": hi, "unit": q.unit,
            "definition": q.definition, "interval": interval, "name": q.key.name}


def headline_table(spec: Spec, design: Design, fit: OLSFit, components: xr.Dataset,
                   shapley: pd.DataFrame, level: float, replicates: int) -> pd.DataFrame:
    """Every headline quantity with its point estimate, interval (where one exists) and definition."""
    z = norm.ppf(0.5 + level / 2)
    pct = f"{level:.0%}"
    coef = fit.coefficients.set_index("term")
    beta, se = coef.loc[COMPUTE_TERM, ["estimate", "std_error"]]
    slope_note = (" in the base period (period-specific slopes add log10_flops:<period>; period effects are at "
                  "mean compute); every multiplier below divides by it") if len(design.groups["compute"]) > 1 else ""
    rows = [
        _row(headline.Quantity(Key("compute_slope"), xr.DataArray(beta), "logit per log10 FLOP",
                               f"beta: OLS slope of the logit score on log10 FLOPs{slope_note}"),
             beta - z * se, beta + z * se, f"{pct} normal, clustered SE"),
        _row(headline.Quantity(Key("r2"), xr.DataArray(fit.r2), "R2", "R2 of the full OLS")),
        _row(headline.Quantity(Key("n_obs"), xr.DataArray(fit.n_obs), "models", "models in the estimation sample")),
    ]
    for r in shapley.itertuples():
        definition = ("model-specific share: 1 - R2 of the full OLS" if r.component == "model" else
                      f"exact Shapley-Owen share of the OLS R2 for the {r.component} regressors, each subset's "
                      "value being the R2 of the OLS on its regressor groups")
        rows.append(_row(
            headline.Quantity(Key("shapley", PAPER, r.component), xr.DataArray(r.share), "share", definition),
            r.lo, r.hi, f"{pct} percentile, {replicates} cluster-bootstrap replicates" if replicates else ""))
    delta = f"{pct} delta method on log10 scale, clustered covariance"
    periods = design.groups["time"]
    for term in periods:
        m, lo, hi = multiplier_interval(fit, term, level)
        rows.append(_row(headline.Quantity(
            Key("progress_multiplier", PAPER, subject=term), xr.DataArray(m), "x",
            f"10**(tau/beta): compute-equivalent of period {term} vs {design.base_period}"), lo, hi, delta))
    if periods:
        m, lo, hi = multiplier_interval(fit, periods[-1], level)
        rows.append(_row(headline.Quantity(
            Key("progress_last_vs_first", PAPER), xr.DataArray(m), "x",
            f"10**(tau/beta): shared progress, last period {periods[-1]} vs first {design.base_period}"),
            lo, hi, delta))
    for term in design.groups["developer"]:
        m, lo, hi = multiplier_interval(fit, term, level)
        rows.append(_row(headline.Quantity(
            Key("developer_multiplier", PAPER, subject=term), xr.DataArray(m), "x",
            f"10**(nu/beta): compute-equivalent of {term}'s group effect vs {design.base_group}"), lo, hi, delta))
    score = spec.data.outcome
    quantities = headline.component_quantities(components, design.models, score)
    quantities += headline.data_quantities(design.models, score)
    rows += [_row(q) for q in quantities]
    return pd.DataFrame(rows)


def frontier_table(design: Design, components: xr.Dataset, score: str) -> pd.DataFrame:
    """The running-best model by quarter, with each component's share of the gain since the first one."""
    frontier, shares = headline.frontier_shares(components, design.models, score)
    shares = shares.transpose("frontier", "component").to_pandas().reset_index(drop=True)
    return pd.concat([frontier, shares.rename(columns=lambda c: f"{ID_TOKENS.get(c, c)}_share_since_first")], axis=1)


def replicate(spec: Spec, dataset: Dataset, source: str = "<spec>", replicates: int = 200, seed: int = SEED,
              level: float = 0.90, progress: bool = True) -> Replication:
    """Run the paper's analysis for an OLS spec on a dataset (rows the logit cannot take are excluded)."""
    if spec.kind != "ols":
        raise SpecError(f"{source}: key 'kind': replicate needs kind = 'ols', got {spec.kind!r}")
    dataset = exclude_for_analysis(dataset, spec.data.outcome, spec.data.time, logit=True, duplicates=False)
    design = build_design(spec, dataset, source)
    fit = fit_ols(design)
    components = build_components(design, fit)
    point = shapley_shares(design)
    shapley = pd.DataFrame({"component": [ID_TOKENS.get(str(c), str(c)) for c in point["component"].values],
                            "share": point.values, "lo": np.nan, "hi": np.nan})
    if replicates > 0:
        boot = bootstrap_shapley(design, replicates, seed, progress)
        q = boot.quantile([0.5 - level / 2, 0.5 + level / 2], dim="replicate")
        shapley["lo"], shapley["hi"] = q.isel(quantile=0).values, q.isel(quantile=1).values
    table = headline_table(spec, design, fit, components, shapley, level, replicates)
    return Replication(spec=spec, dataset=dataset, design=design, fit=fit, components=components, shapley=shapley,
                       headline=table, frontier=frontier_table(design, components, spec.data.outcome),
                       level=level, replicates=replicates)
