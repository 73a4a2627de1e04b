"""Decomposition maths shared by the OLS replication and the Bayesian posterior.

Every function is vectorised over xarray and works with any leading sample dims: none (an OLS
point estimate), ``("replicate",)`` (a bootstrap) or ``("chain", "draw")`` (a posterior).

Input convention: ``components`` is an ``xarray.Dataset`` with one data variable per additive
component of each model's latent logit (eta), each of dims ``(*sample_dims, "model")``, in the order
they are reported, one of them the residual (the model-specific part: ``model_effect`` by default), so that
eta = level + sum of components; ``beta`` (sample dims only: the compute slope per log10 FLOP on the
logit scale) and ``level`` (the intercept) may ride along and are not components. ``compute`` is
``beta * (log10 FLOPs - 18)``, i.e. x measured in log units of FLOPs / 1e18, the paper's units: only the
level shares depend on that origin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from math import factorial

import numpy as np
import xarray as xr

NOT_COMPONENTS = ("beta", "level")
RESIDUAL = "model_effect"  # a data variable cannot share the "model" dimension's name


def component_names(components: xr.Dataset) -> list[str]:
    """The components of a components dataset, in its order (``beta`` and ``level`` are not components)."""
    return [str(c) for c in components.data_vars if c not in NOT_COMPONENTS]


def explained_components(components: xr.Dataset, residual: str = RESIDUAL) -> list[str]:
    """The Shapley players present in ``components``: every component except the residual."""
    return [c for c in component_names(components) if c != residual]


def subset_label(members: Sequence[str]) -> str:
    """Name of a coalition of players, e.g. 'compute+time'; the empty coalition is 'none'."""
    return "+".join(members) or "none"


def coalitions(players: Sequence[str]) -> list[tuple[str, ...]]:
    """Every subset of the players, smallest first (2**k of them)."""
    return [c for size in range(len(players) + 1) for c in combinations(players, size)]


def covariance(columns: xr.DataArray, dim: str = "model", weights: xr.DataArray | None = None) -> xr.DataArray:
    """Weighted covariance matrix of the ``var`` columns over ``dim``; dims (..., var, var_).

    Frequency weights make a cluster bootstrap replicate (a cluster drawn twice has weight 2) a
    weighted covariance of the original rows, so all replicates are computed at once.
    """
    x = columns - columns.mean(dim)  # centre first, for numerical accuracy
    w = xr.ones_like(x.isel(var=0, drop=True)) if weights is None else weights
    w = w / w.sum(dim)
    mean = xr.dot(w, x, dim=dim)
    second = xr.dot(w, x, x.rename(var="var_"), dim=dim)
    return second - mean * mean.rename(var="var_")


def _explained_share(cov: np.ndarray, target_cov: np.ndarray, target_var: np.ndarray) -> np.ndarray:
    """R2 = c' S^+ c / var(y) over trailing axes; the pseudo-inverse allows collinear or empty columns."""
    solved = np.einsum("...ij,...j->...i", np.linalg.pinv(cov, rtol=1e-10, hermitian=True), target_cov)
    return np.einsum("...i,...i->...", target_cov, solved) / target_var


def subset_r2(cov: xr.DataArray, target: str, groups: Mapping[str, Sequence[str]]) -> xr.DataArray:
    """R2 of the least-squares regression of ``target`` on each coalition of column groups.

    ``cov`` is a covariance matrix from :func:`covariance`; ``groups`` maps each player to its
    columns (the OLS case: a group's dummies; the per-draw case: one component vector each).
    Returns dims (..., subset) with one value per coalition of :func:`coalitions`.
    """
    players = list(groups)
    values = []
    for members in coalitions(players):
        cols = [c for p in members for c in groups[p]]
        if not cols:
            values.append(xr.zeros_like(cov.sel(var=target, var_=target, drop=True)))
            continue
        values.append(xr.apply_ufunc(
            _explained_share,
            cov.sel(var=cols, var_=cols),
            cov.sel(var=cols, var_=target, drop=True),
            cov.sel(var=target, var_=target, drop=True),
            input_core_dims=[["var", "var_"], ["var"], []],
        ))
    labels = [subset_label(m) for m in coalitions(players)]
    return xr.concat(values, dim="subset", coords="minimal").assign_coords(subset=labels)


def shapley_weights(players: Sequence[str]) -> xr.DataArray:
    """Matrix W with phi = W @ v: the exact Shapley value of each player from coalition values."""
    k = len(players)
    subsets = coalitions(players)
    w = np.zeros((k, len(subsets)))
    for j, player in enumerate(players):
        for s, members in enumerate(subsets):
            size = len(members)
            if player in members:
                w[j, s] = factorial(size - 1) * factorial(k - size) / factorial(k)
            else:
                w[j, s] = -factorial(size) * factorial(k - size - 1) / factorial(k)
    return xr.DataArray(w, dims=("component", "subset"),
                        coords={"component": list(players), "subset": [subset_label(m) for m in subsets]})


def shapley_owen(r2: xr.DataArray, players: Sequence[str], residual: str = RESIDUAL) -> xr.DataArray:
    """Exact Shapley-Owen shares of R2 over the players, plus the residual = 1 - R2(all); they sum to one."""
    weights = shapley_weights(players)
    shares = xr.dot(weights, r2.sel(subset=weights["subset"]), dim="subset")
    rest = (1 - r2.sel(subset=subset_label(players), drop=True)).expand_dims(component=[residual])
    return xr.concat([shares, rest], dim="component")


def component_shapley(components: xr.Dataset, residual: str = RESIDUAL) -> xr.DataArray:
    """Shapley-Owen shares of eta's variance over models, one regressor per component vector.

    The value of a coalition is the R2 of regressing eta (the sum of all components) on those
    component vectors, computed from their covariance matrix per sample; the residual's share = 1 - R2.
    """
    players = explained_components(components, residual)
    columns = components[[*players, residual]].to_dataarray("var")
    eta = columns.sum("var").expand_dims(var=["eta"])
    cov = covariance(xr.concat([eta, columns.sel(var=players)], dim="var"))
    return shapley_owen(subset_r2(cov, "eta", {p: [p] for p in players}), players, residual)


def fixed_columns_covariance(columns: xr.DataArray, target: xr.DataArray, name: str, dim: str = "model") -> xr.DataArray:
    """Covariance matrix of a target with sample dims and columns without, dims (..., var, var_), the target first.

    The columns (dims ``dim``, ``var``: a regression's dummies) are the same in every sample: their block is
    computed once and never copied per sample.
    """
    x = columns - columns.mean(dim)
    t = target - target.mean(dim)
    n = columns.sizes[dim]
    block = (xr.dot(x, x.rename(var="var_"), dim=dim) / n).transpose("var", "var_").values
    cross = (xr.dot(t, x, dim=dim) / n).transpose(..., "var")
    own = (t * t).mean(dim)
    full = np.empty((*own.shape, block.shape[0] + 1, block.shape[0] + 1))
    full[..., 0, 0] = own.values
    full[..., 0, 1:] = full[..., 1:, 0] = cross.values
    full[..., 1:, 1:] = block
    labels = [name, *map(str, columns["var"].values)]
    return xr.DataArray(full, dims=(*own.dims, "var", "var_"),
                        coords={**{d: own[d] for d in own.dims if d in own.coords}, "var": labels, "var_": labels})


def explained_shapley(columns: xr.DataArray, groups: Mapping[str, Sequence[str]], explained: xr.DataArray,
                      eta: xr.DataArray, residual: str = RESIDUAL) -> xr.DataArray:
    """The paper's Shapley-Owen shares of eta's variance over groups of regressor columns, when the explained part
    of eta is known per sample (``explained``, in the span of the columns: e.g. beta * x + cohort and group effects).

    A coalition's value is the variance of the explained part's least-squares projection on the coalition's columns,
    over eta's variance; the residual's share is 1 - var(explained) / var(eta). For a least-squares fit (the residual
    orthogonal to every column) this is the R2 of eta regressed on each coalition's columns: the paper's Figure 1.
    """
    cov = fixed_columns_covariance(columns, explained, "explained")
    scale = cov.sel(var="explained", var_="explained", drop=True) / eta.var("model")
    return shapley_owen(subset_r2(cov, "explained", groups) * scale, list(groups), residual)


def finite_population_sd(components: xr.Dataset) -> xr.DataArray:
    """SD over models of each component vector (Gelman's finite-population ANOVA); dims (..., component)."""
    return components[component_names(components)].to_dataarray("component").std("model", ddof=1)


def multiplier(effect: xr.DataArray | float, beta: xr.DataArray | float) -> xr.DataArray | float:
    """Compute-equivalent multiplier 10**(effect / beta): the compute factor giving the same logit gain."""
    return 10 ** (effect / beta)


def within_firm_spread(efficiency: xr.DataArray, beta: xr.DataArray, lo: float = 0.10, hi: float = 0.90) -> xr.DataArray:
    """Compute-equivalent spread 10**((q_hi(e) - q_lo(e)) / beta) of model efficiencies over ``model``.

    Quantiles are numpy's linear interpolation (the paper's 40.55x; Stata's definition gives 40.85x).
    Select the models (e.g. one firm's, or all majors') before calling. A NaN efficiency (a model that has none in
    that draw: a failed evaluation) is left out of its draw's quantiles.
    """
    skip = bool(efficiency.isnull().any())  # the nan-aware quantile is 10x slower: only where needed
    q = efficiency.quantile([lo, hi], dim="model", method="linear", skipna=skip)
    return multiplier(q.sel(quantile=hi, drop=True) - q.sel(quantile=lo, drop=True), beta)


def change_shares(components: xr.Dataset, start: str, end: str) -> xr.DataArray:
    """Each component's share of the gain in eta from model ``start`` to ``end``; dims (..., component).

    The intercept cancels; the model effect enters as the residual, so the shares sum to one.
    """
    names = component_names(components)
    # drop=True: the same shape whether or not start == end (a frontier whose first model leads for some periods;
    # the scalar 'model' coordinate survived only then, and xr.concat of the frontier's shares refused the mix).
    diff = components[names].sel(model=end, drop=True) - components[names].sel(model=start, drop=True)
    diff = diff.to_dataarray("component")
    return diff / diff.sum("component")


def level_shares(components: xr.Dataset, model: str) -> xr.DataArray:
    """Each component over the sum of the components (intercept dropped) for one model.

    These depend on the arbitrary origin of x (here log FLOPs / 1e18, the paper's units), so they
    are not identified; they are reported only to compare with the paper.
    """
    names = component_names(components)
    level = components[names].sel(model=model).to_dataarray("component")
    return level / level.sum("component")


def prob_largest(values: xr.DataArray, dim: str, sample_dims: Sequence[str]) -> xr.DataArray:
    """Probability that each entry along ``dim`` is the largest: the share of samples in which it is."""
    return (values == values.max(dim)).mean(sample_dims)


def halving_time(progress: xr.DataArray, months: float) -> xr.DataArray:
    """Months for the compute needed at a fixed score to halve, given a multiplier gained over ``months``.

    Constant exponential progress: months * log 2 / log(progress). Where ``progress`` <= 1 nothing
    halves and the result is +inf.
    """
    with np.errstate(divide="ignore"):
        months_per_halving = months * np.log(2) / np.log(progress)
    return months_per_halving.where(progress > 1, np.inf)
