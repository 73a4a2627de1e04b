"""PSIS-LOO for "how well does a model predict a new LLM", on one scale for every likelihood.

The pointwise log-likelihood is not the fit's own (conditional on each model's latent effect, which
PSIS cannot leave out: ~650 of 809 Pareto k > 0.7 for the default model) but the marginal one for a
new model with the same inputs: log p(k_i | mean_i, scale) with the model effect integrated out
(``density``), on the count scale shared by the binomial and logit-normal likelihoods. For a
developer with a single model, that model is also all the data on its developer, so its developer
effect is integrated out too: exact, since given the hyper-parameters that effect enters no other
likelihood term (normal effects add variances; a Student-t one is a scale mixture of normals; when
both the developer and model effects are Student-t it is left conditional). Observations whose
Pareto k stays above ArviZ's threshold are refitted without them (exact LOO through
``arviz.reloo``), the worst first, up to a budget; any left are reported.

Moment matching (``arviz.loo_moment_match``) is not used: its PyMC helper builds the conditional
log-likelihood, not this marginal one, and its affine transform of ~1,100 parameters from a few
thousand draws is poorly estimated.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats.loo.wrapper import SamplingWrapper

from bayes_sauce.data import Dataset, load
from bayes_sauce.density import log_density, log_density_student_t_component, log_predictive_density
from bayes_sauce.fits import fit_or_reuse
from bayes_sauce.forecast import dataset_rows
from bayes_sauce.model import pool_of_group
from bayes_sauce.predict import NEW_DIM, SAMPLE_DIMS, fitted_spec, systematic
from bayes_sauce.sampling import SamplerSettings, fit_spec, settings_from_spec
from bayes_sauce.spec import Spec

OBS_DIM = "model"


def _single_model_developers(tree: xr.DataTree) -> np.ndarray:
    """Per fitted row: whether its developer has no other model in the fit."""
    developer = tree.constant_data["developer_idx"].values
    return np.bincount(developer)[developer] == 1


def _developer_centre(tree: xr.DataTree, models: pd.DataFrame) -> xr.DataArray:
    """Per draw and row, the mean its developer's effect is drawn around (pool mean, or 0 when unpooled)."""
    posterior, spec = tree.posterior, fitted_spec(tree)
    if spec.model.developers == "pooled":
        return xr.zeros_like(posterior["beta"]).expand_dims({NEW_DIM: len(models)}, axis=-1)
    pools = xr.DataArray([pool_of_group(g) for g in models["developer_group"]], dims=NEW_DIM)
    return posterior["pool_effect"].sel(pool=pools, drop=True)


def marginal_log_likelihood(tree: xr.DataTree, models: pd.DataFrame) -> xr.DataArray:
    """Per-draw log p(observed count | inputs) for each fitted row (dims chain, draw, model), effects
    integrated out as the module docstring says. ``models`` are the fitted rows, in fit order."""
    spec = fitted_spec(tree)
    posterior, outcome, likelihood = tree.posterior, spec.data.outcome, spec.model.likelihood
    rows = dataset_rows(models, spec.data.time)
    parts = systematic(tree, rows)
    score = models[outcome].to_numpy()
    nu_model = parts.get("nu_model")
    dens = log_density(score, parts["mean"], parts["scale"], likelihood, outcome, nu_model)
    single = _single_model_developers(tree)
    heavy = [d for d in (spec.model.developer_dist, spec.model.model_dist) if d == "student_t"]
    # A one-model developer's effect is integrated too, unless both effects are Student-t (no closed form).
    if spec.model.developers != "fixed_groups" and single.any() and len(heavy) < 2:
        one = {NEW_DIM: np.flatnonzero(single)}
        developers = xr.DataArray(rows["developer"].to_numpy()[single], dims=NEW_DIM)
        effect = posterior["developer_effect"].sel(developer=developers, drop=True)
        mean = parts["mean"].isel(one) - effect + _developer_centre(tree, models[single])
        scale, sigma = parts["scale"].isel(one), posterior["sigma_developer"].broadcast_like(parts["scale"].isel(one))
        if not heavy:
            own = log_density(score[single], mean, np.sqrt(scale**2 + sigma**2), likelihood, outcome)
        elif spec.model.developer_dist == "student_t":
            own = log_density_student_t_component(score[single], mean, scale, sigma, posterior["nu_developer"],
                                                  likelihood, outcome)
        else:
            own = log_density_student_t_component(score[single], mean, sigma, scale, nu_model, likelihood, outcome)
        dens[one] = own.transpose(*dens.dims).values
    return dens.rename({NEW_DIM: OBS_DIM}).assign_coords({OBS_DIM: models["model_id"].to_numpy()})


def loo_tree(tree: xr.DataTree, log_lik: xr.DataArray) -> xr.DataTree:
    """The posterior with the marginal log-likelihood as its log_likelihood group (what ArviZ reads)."""
    return xr.DataTree.from_dict({"posterior": tree.posterior.to_dataset(),
                                  "log_likelihood": xr.Dataset({"score": log_lik})})


def fit_id(tree: xr.DataTree) -> str:
    """A short fingerprint of a posterior, so cached refit results are only reused for the same fit."""
    digest = hashlib.sha256(tree.attrs.get("spec_json", "").encode())
    digest.update(np.ascontiguousarray(tree.posterior["beta"].values).tobytes())
    return digest.hexdigest()[:16]


REFIT_COLUMNS = ["fit_id", "model_id", "elpd_i", "gate_passed"]


@dataclass
class Refits(SamplingWrapper):
    """Exact leave-one-out refits for ``arviz.reloo``: fit the spec without one model, score that model.

    Each refit's elpd is appended to a CSV cache (keyed by ``fit_id``) as soon as it is known, so an
    interrupted comparison resumes without refitting; a cached observation is handed to ``reloo`` as a
    one-draw log-likelihood equal to its elpd.
    """

    spec: Spec
    dataset: Dataset  # the fitted rows, in fit order
    settings: SamplerSettings
    fit: str  # fit_id of the full-data posterior
    cache: Path
    gates: list[bool] = field(default_factory=list)
    _pending: str = ""

    def __post_init__(self) -> None:
        super().__init__(model=None)

    def _cached(self) -> pd.DataFrame:
        table = pd.read_csv(self.cache) if self.cache.exists() else pd.DataFrame(columns=REFIT_COLUMNS)
        return table[(table["fit_id"] == self.fit) & (table["model_id"] == self._pending)]

    def sel_observations(self, idx: int) -> tuple[Dataset, pd.DataFrame]:
        keep = np.ones(len(self.dataset.models), dtype=bool)
        keep[idx] = False
        self._pending = str(self.dataset.models.loc[~keep, "model_id"].iloc[0])
        kept = Dataset(models=self.dataset.models.loc[keep].reset_index(drop=True), source=self.dataset.source,
                       sha256=self.dataset.sha256)
        return kept, self.dataset.models.loc[~keep]

    def sample(self, modified_observed_data: Dataset):
        return None if len(self._cached()) else fit_spec(self.spec, modified_observed_data, self.settings)

    def get_inference_data(self, fitted_model) -> xr.DataTree | None:
        if fitted_model is None:
            self.gates.append(bool(self._cached()["gate_passed"].iloc[0]))
            return None
        self.gates.append(bool(fitted_model.diagnostics["passed"]))
        return fitted_model.tree

    def log_likelihood__i(self, excluded_obs: pd.DataFrame, idata__i: xr.DataTree | None) -> xr.DataArray:
        if idata__i is None:
            elpd = float(self._cached()["elpd_i"].iloc[0])
            return xr.DataArray(np.full((1, 1, 1), elpd), dims=(*SAMPLE_DIMS, OBS_DIM))
        parts = systematic(idata__i, dataset_rows(excluded_obs, self.spec.data.time))
        dens = log_density(excluded_obs[self.spec.data.outcome].to_numpy(), parts["mean"], parts["scale"],
                           self.spec.model.likelihood, self.spec.data.outcome, parts.get("nu_model"))
        elpd = float(log_predictive_density(dens).values[0])
        row = pd.DataFrame([[self.fit, self._pending, elpd, self.gates[-1]]], columns=REFIT_COLUMNS)
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        row.to_csv(self.cache, mode="a", header=not self.cache.exists(), index=False)
        return dens.rename({NEW_DIM: OBS_DIM})


@dataclass
class LooResult:
    gate_passed: bool  # the fit's diagnostics gate
    elpd: az.ELPDData  # after refits
    n_high_k_psis: int  # Pareto k above the threshold before refits
    n_refits: int
    n_refits_passing_gate: int
    n_high_k_left: int
    threshold: float


def loo_with_refits(tree: xr.DataTree, spec: Spec, fitted: Dataset, settings: SamplerSettings,
                    max_refits: int, cache: Path) -> LooResult:
    """PSIS-LOO on the marginal log-likelihood; exact refits for the (at most max_refits) worst Pareto k,
    their results cached in ``cache`` (see ``Refits``)."""
    gate = bool(tree.attrs.get("diagnostics_passed", 0))
    data = loo_tree(tree, marginal_log_likelihood(tree, fitted.models))
    with warnings.catch_warnings():  # the Pareto-k warning: counted and acted on below
        warnings.simplefilter("ignore", UserWarning)
        psis = az.loo(data, pointwise=True)
    k = np.sort(psis.pareto_k.values.ravel())[::-1]
    threshold = float(psis.good_k)
    high = int((k > threshold).sum())
    if high == 0 or max_refits <= 0:
        return LooResult(gate, psis, high, 0, 0, high, threshold)
    # reloo refits every k above its threshold: raise it to the (max_refits+1)-th largest k to bound the cost.
    cutoff = max(threshold, float(k[max_refits])) if high > max_refits else threshold
    wrapper = Refits(spec=spec, dataset=fitted, settings=settings, fit=fit_id(tree), cache=cache)
    wrapper.idata_orig = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        refitted = az.reloo(wrapper, loo_orig=psis, k_threshold=cutoff, pointwise=True)
    left = int((refitted.pareto_k.values > threshold).sum())
    return LooResult(gate, refitted, high, len(wrapper.gates), sum(wrapper.gates), left, threshold)


def comparison_table(results: dict[str, LooResult]) -> pd.DataFrame:
    """ArviZ's comparison (elpd, differences and their SE, stacking weights) plus the Pareto-k record."""
    table = az.compare({name: r.elpd for name, r in results.items()}, round_to="none")
    extra = pd.DataFrame({
        "gate_passed": {n: r.gate_passed for n, r in results.items()},
        "pareto_k_high_psis": {n: r.n_high_k_psis for n, r in results.items()},
        "exact_refits": {n: r.n_refits for n, r in results.items()},
        "refits_passing_gate": {n: r.n_refits_passing_gate for n, r in results.items()},
        "pareto_k_high_left": {n: r.n_high_k_left for n, r in results.items()},
    })
    return table.join(extra)


def check_same_observations(fits: dict[str, Dataset]) -> None:
    """LOO comparisons need the same rows in every fit; fail naming the first mismatch."""
    names = list(fits)
    reference = fits[names[0]].models["model_id"].tolist()
    for name in names[1:]:
        ids = fits[name].models["model_id"].tolist()
        if ids != reference:
            diff = sorted(set(ids) ^ set(reference))[:5]
            raise ValueError(f"fits {names[0]!r} and {name!r} are not on the same observations "
                             f"({len(reference)} vs {len(ids)} rows; e.g. {diff}); compare specs with the same "
                             "data filters")


def compare(specs: dict[str, tuple[Spec, str]], data: Path | None, reuse_root: Path, out: Path,
            max_refits: int, **overrides: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit (or reuse) each spec, run LOO with refits, and compare: (comparison table, pointwise elpd and k).

    ``specs`` maps a name to (spec, spec text). A saved fit of the same spec, settings and rows is reused
    from ``reuse_root/<name>`` or ``out/fits/<name>``; otherwise the spec is fitted into the latter.
    ``overrides`` are sampler settings (draws, tune, chains, seed; None keeps the spec's).
    """
    fitted, results = {}, {}
    for name, (spec, text) in specs.items():
        settings = settings_from_spec(spec, **overrides)
        settings.progress = False
        dataset = load(data, spec.data.filters.to_filters())
        tree, rows, _ = fit_or_reuse(spec, dataset, [reuse_root / name, out / "fits" / name], settings, text)
        fitted[name] = rows
        check_same_observations(fitted)
        results[name] = loo_with_refits(tree, spec, rows, settings, max_refits, out / "loo_refits.csv")
        r = results[name]
        print(f"  {name}: elpd {r.elpd.elpd:.1f}; Pareto k > {r.threshold:.2f}: {r.n_high_k_psis} before, "
              f"{r.n_refits} refitted, {r.n_high_k_left} left", flush=True)
    pointwise = pd.concat([pd.DataFrame({"spec": name, "model_id": r.elpd.elpd_i[OBS_DIM].values,
                                         "elpd_i": r.elpd.elpd_i.values, "pareto_k": r.elpd.pareto_k.values})
                           for name, r in results.items()], ignore_index=True)
    return comparison_table(results), pointwise
