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

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats.loo.wrapper import SamplingWrapper

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.load import load
from bayes_sauce.fit.fit import Fit, fit_spec
from bayes_sauce.fit.fit_store import Echo, get_or_fit, quiet
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.new_rows import PredictionError, dataset_frame
from bayes_sauce.predictive.density import log_density, log_density_student_t_component, log_predictive_density
from bayes_sauce.predictive.predict import NEW_DIM, predict
from bayes_sauce.spec.schema import Spec

OBS_DIM = "model"


def count_scale(log_density_of_logit: xr.DataArray, fit: Fit, scores: np.ndarray) -> xr.DataArray:
    """A density of the logit of the normalised score moved to the count scale: + log(d logit / d accuracy)
    - log n (the Jacobian and the width of one count), as for the logit-normal likelihood."""
    scale = fit.design.scale
    u = scale.inside(scale.normalised(np.asarray(scores, dtype=float)))
    jacobian = -np.log((1 - scale.floor) * u * (1 - u)) - np.log(scale.n_questions)
    return log_density_of_logit + xr.DataArray(jacobian, dims=log_density_of_logit.dims[-1])


def marginal_log_likelihood(fit: Fit) -> xr.DataArray:
    """Per-draw log p(observed count | inputs) for each fitted row (dims chain, draw, model), effects
    integrated out as the module docstring says. The family structure's likelihood integrates them itself:
    its pointwise log-likelihood, on the count scale."""
    spec, models = fit.spec, fit.rows
    if spec.model.structure == "families":
        own = fit.tree["log_likelihood"]["y"].transpose(*SAMPLE_DIMS, OBS_DIM)
        return count_scale(own, fit, models[spec.data.outcome].to_numpy()).assign_coords(
            {OBS_DIM: models["model_id"].to_numpy()})
    outcome, likelihood = spec.data.outcome, spec.model.likelihood
    parts = fit.evaluate(["mu", "model_scale", "developer_level", "developer_centre"])
    post = fit.posterior
    nu_model = post["nu_model"] if spec.model.model_dist == "student_t" else None
    score = models[outcome].to_numpy()
    dens = log_density(score, parts["mu"], parts["model_scale"], likelihood, outcome, nu_model)
    developer = fit.design.developer_idx
    single = np.bincount(developer)[developer] == 1
    heavy = [d for d in (spec.model.developer_dist, spec.model.model_dist) if d == "student_t"]
    # A one-model developer's effect is integrated too, unless both effects are Student-t (no closed form).
    if spec.model.developers != "fixed_groups" and single.any() and len(heavy) < 2:
        one = {OBS_DIM: np.flatnonzero(single)}
        dev = xr.DataArray(np.asarray(fit.design.coords["developer"])[developer[single]], dims=OBS_DIM)
        shift = (parts["developer_centre"] - parts["developer_level"]).sel(developer=dev).drop_vars("developer")
        mean = (parts["mu"].isel(one) + shift).transpose(*SAMPLE_DIMS, OBS_DIM)
        scale = parts["model_scale"].isel(one)
        sigma = post["sigma_developer"].broadcast_like(scale)
        if not heavy:
            own = log_density(score[single], mean, np.sqrt(scale**2 + sigma**2), likelihood, outcome)
        elif spec.model.developer_dist == "student_t":
            own = log_density_student_t_component(score[single], mean, scale, sigma, post["nu_developer"],
                                                  likelihood, outcome)
        else:
            own = log_density_student_t_component(score[single], mean, sigma, scale, nu_model, likelihood, outcome)
        dens[one] = own.transpose(*dens.dims).values
    return dens.assign_coords({OBS_DIM: models["model_id"].to_numpy()})


def held_out_log_density(fit: Fit, models: pd.DataFrame) -> xr.DataArray:
    """Per-draw log p(observed count) of rows the fit did not see (dims chain, draw, new_model): the model
    effect integrated out, an unseen developer's effect drawn per draw from its population."""
    spec = fit.spec
    if spec.model.structure == "families":
        draws = predict(fit, dataset_frame(models, spec.data.time).assign(observed=models[spec.data.outcome].to_numpy()))
        return count_scale(draws["logp"], fit, models[spec.data.outcome].to_numpy())
    draws = predict(fit, dataset_frame(models, spec.data.time))
    nu_model = fit.posterior["nu_model"] if spec.model.model_dist == "student_t" else None
    return log_density(models[spec.data.outcome].to_numpy(), draws["mean"], draws["scale"], spec.model.likelihood,
                       spec.data.outcome, nu_model)


def loo_tree(fit: Fit, log_lik: xr.DataArray) -> xr.DataTree:
    """The posterior with the marginal log-likelihood as its log_likelihood group (what ArviZ reads)."""
    return xr.DataTree.from_dict({"posterior": fit.posterior, "log_likelihood": xr.Dataset({"score": log_lik})})


REFIT_COLUMNS = ["fingerprint", "model_id", "elpd_i", "gate_passed"]


@dataclass
class Refits(SamplingWrapper):
    """Exact leave-one-out refits for ``arviz.reloo``: fit the spec without one model, score that model.

    Each refit's elpd is appended to a CSV cache (keyed by the fit's fingerprint) as soon as it is known, so an
    interrupted comparison resumes without refitting; a cached observation is handed to ``reloo`` as a
    one-draw log-likelihood equal to its elpd.
    """

    spec: Spec
    dataset: Dataset  # the fitted rows, in fit order
    fit: str  # fingerprint of the full-data fit
    cache: Path
    echo: Echo = quiet
    gates: list[bool] = field(default_factory=list)
    _pending: str = ""

    def __post_init__(self) -> None:
        super().__init__(model=None)

    def _cached(self) -> pd.DataFrame:
        table = pd.read_csv(self.cache) if self.cache.exists() else pd.DataFrame(columns=REFIT_COLUMNS)
        return table[(table["fingerprint"] == self.fit) & (table["model_id"] == self._pending)]

    def sel_observations(self, idx: int) -> tuple[Dataset, pd.DataFrame]:
        keep = np.ones(len(self.dataset.models), dtype=bool)
        keep[idx] = False
        self._pending = str(self.dataset.models.loc[~keep, "model_id"].iloc[0])
        kept = Dataset(models=self.dataset.models.loc[keep].reset_index(drop=True), source=self.dataset.source,
                       sha256=self.dataset.sha256)
        return kept, self.dataset.models.loc[~keep]

    def sample(self, modified_observed_data: Dataset):
        return None if len(self._cached()) else fit_spec(self.spec, modified_observed_data, progress=False,
                                                         echo=self.echo)

    def get_inference_data(self, fitted_model: Fit | None) -> Fit | None:
        if fitted_model is None:
            self.gates.append(bool(self._cached()["gate_passed"].iloc[0]))
            return None
        self.gates.append(fitted_model.passed)
        return fitted_model

    def log_likelihood__i(self, excluded_obs: pd.DataFrame, idata__i: Fit | None) -> xr.DataArray:
        if idata__i is None:
            elpd = float(self._cached()["elpd_i"].iloc[0])
            return xr.DataArray(np.full((1, 1, 1), elpd), dims=(*SAMPLE_DIMS, OBS_DIM))
        dens = held_out_log_density(idata__i, excluded_obs).rename({NEW_DIM: OBS_DIM})
        elpd = float(log_predictive_density(dens).values[0])
        row = pd.DataFrame([[self.fit, self._pending, elpd, self.gates[-1]]], columns=REFIT_COLUMNS)
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        row.to_csv(self.cache, mode="a", header=not self.cache.exists(), index=False)
        return dens


@dataclass
class LooResult:
    gate_passed: bool  # the fit's diagnostics gate
    elpd: az.ELPDData  # after refits
    n_high_k_psis: int  # Pareto k above the threshold before refits
    n_refits: int
    n_refits_passing_gate: int
    n_high_k_left: int
    threshold: float


def loo_with_refits(fit: Fit, max_refits: int, cache: Path, echo: Echo = quiet) -> LooResult:
    """PSIS-LOO on the marginal log-likelihood; exact refits for the (at most max_refits) worst Pareto k,
    their results cached in ``cache`` (see ``Refits``)."""
    gate = fit.passed
    data = loo_tree(fit, marginal_log_likelihood(fit))
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
    fitted = Dataset(models=fit.rows, source=str(fit.tree.attrs.get("data_source", "")),
                     sha256=str(fit.tree.attrs.get("data_sha256", "")))
    wrapper = Refits(spec=fit.spec, dataset=fitted, fit=fit.fingerprint, cache=cache, echo=echo)
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
        "pareto_k_threshold": {n: r.threshold for n, r in results.items()},
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
            raise PredictionError(f"fits {names[0]!r} and {name!r} are not on the same observations "
                             f"({len(reference)} vs {len(ids)} rows; e.g. {diff}); compare specs with the same "
                             "data filters")


def compare(specs: dict[str, Spec], data: Path | None, reuse_root: Path, out: Path,
            max_refits: int, allow_failed: bool = True, echo: Echo = quiet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit (or reuse) each spec, run LOO with refits, and compare: (comparison table, pointwise elpd and k).

    A saved fit with the same fingerprint is reused from ``reuse_root/<name>`` or ``out/fits/<name>``;
    otherwise the spec is fitted into the latter. Each fit's gate status is said through ``echo``; one that
    failed the gate is refused (FitError) unless ``allow_failed``.
    """
    fitted, results = {}, {}
    for name, spec in specs.items():
        dataset = load(data, spec.data.filters.to_filters())
        fit = get_or_fit(spec, dataset, out / "fits" / name, search=[reuse_root / name], replace=True,
                         allow_failed=allow_failed, echo=lambda line: echo(f"  {line}"))
        fitted[name] = Dataset(fit.rows)
        check_same_observations(fitted)
        results[name] = loo_with_refits(fit, max_refits, out / "loo_refits.csv", echo)
        r = results[name]
        echo(f"  {name}: elpd {r.elpd.elpd:.1f}; Pareto k > {r.threshold:.2f}: {r.n_high_k_psis} before, "
             f"{r.n_refits} refitted, {r.n_high_k_left} left")
    pointwise = pd.concat([pd.DataFrame({"spec": name, "model_id": r.elpd.elpd_i[OBS_DIM].values,
                                         "elpd_i": r.elpd.elpd_i.values, "pareto_k": r.elpd.pareto_k.values})
                           for name, r in results.items()], ignore_index=True)
    return comparison_table(results), pointwise
