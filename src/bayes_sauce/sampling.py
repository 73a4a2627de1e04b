"""Run NUTS on a built model, add the groups later steps need, gate on diagnostics, save and load.

The saved ``posterior.nc`` is a DataTree with posterior, posterior_predictive, log_likelihood,
log_prior, observed_data, constant_data and sample_stats; its root attrs hold the spec text, the
data's sha256, the seed, the sampler, package versions and the git commit, so a fit can be traced.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr

from bayes_sauce.data import PROJECT_ROOT, Dataset
from bayes_sauce.model import ModelData, build_model, prepare
from bayes_sauce.spec import SAMPLERS, Spec

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3
INTERVAL_PROB = 0.90
VERSIONED_PACKAGES = ("bayes-sauce", "pymc", "pytensor", "nutpie", "arviz", "numpy", "pandas", "xarray")


@dataclass
class Timings:
    compile_s: float = 0.0
    sample_s: float = 0.0
    extras_s: float = 0.0  # log-likelihood, log-prior, posterior predictive

    @property
    def total_s(self) -> float:
        return self.compile_s + self.sample_s + self.extras_s


@dataclass
class SamplerSettings:
    sampler: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    target_accept: float = 0.8
    cores: int | None = None
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def sampler_available(name: str) -> bool:
    """Whether a sampler's package is installed (numpyro is optional)."""
    import importlib.util

    module = {"nutpie": "nutpie", "pymc": "pymc", "numpyro": "numpyro"}[name]
    return importlib.util.find_spec(module) is not None


def run_nuts(model: pm.Model, settings: SamplerSettings) -> tuple[xr.DataTree, Timings]:
    """Sample with the chosen NUTS implementation; nutpie is compiled separately so compile time is known."""
    if settings.sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {settings.sampler!r}; choose one of {SAMPLERS}")
    if not sampler_available(settings.sampler):
        raise ValueError(f"sampler {settings.sampler!r} is not installed")
    timings = Timings()
    cores = settings.cores or min(settings.chains, 2)
    if settings.sampler == "nutpie":
        import nutpie
        from pymc.backends.arviz import patch_nutpie_idata

        start = time.perf_counter()
        # Only the free variables are stored by the sampler: compiling nutpie's numba function for
        # every deterministic costs ~2 s more than recomputing them afterwards with PyMC.
        compiled = nutpie.compile_pymc_model(model, var_names=[v.name for v in model.free_RVs])
        timings.compile_s = time.perf_counter() - start
        start = time.perf_counter()
        tree = nutpie.sample(
            compiled, draws=settings.draws, tune=settings.tune, chains=settings.chains, cores=cores,
            seed=settings.seed, progress_bar=settings.progress, save_warmup=False,
            target_accept=settings.target_accept, **settings.extra,
        )
        timings.sample_s = time.perf_counter() - start
        patch_nutpie_idata(tree, model, timings.sample_s)
        start = time.perf_counter()
        pm.compute_deterministics(tree["posterior"], model=model, extend_dataset=True, progressbar=False)
        timings.sample_s += time.perf_counter() - start
        return tree, timings

    start = time.perf_counter()
    with model:
        tree = pm.sample(
            draws=settings.draws, tune=settings.tune, chains=settings.chains, cores=cores,
            random_seed=settings.seed, nuts_sampler=settings.sampler, progressbar=settings.progress,
            target_accept=settings.target_accept, compute_convergence_checks=False, **settings.extra,
        )
    # PyMC compiles inside pm.sample; its reported sampling_time separates the two where it can.
    total = time.perf_counter() - start
    sampling = float(tree.posterior.attrs.get("sampling_time", total))
    timings.compile_s, timings.sample_s = max(total - sampling, 0.0), sampling
    return tree, timings


def add_model_groups(tree: xr.DataTree, model: pm.Model, seed: int, progress: bool = False) -> float:
    """Add log_likelihood, log_prior and posterior_predictive in place; return the seconds spent."""
    start = time.perf_counter()
    pm.compute_log_likelihood(tree, model=model, progressbar=progress)
    pm.stats.compute_log_prior(tree, model=model, progressbar=progress)
    predictive = pm.sample_posterior_predictive(tree, model=model, random_seed=seed, progressbar=progress)
    tree["posterior_predictive"] = predictive["posterior_predictive"]
    return time.perf_counter() - start


def diagnose(tree: xr.DataTree) -> dict[str, Any]:
    """The gate: R-hat, bulk and tail ESS over every varying posterior quantity, divergences, E-BFMI."""
    with np.errstate(divide="ignore", invalid="ignore"):  # constants give 0/0 in R-hat; dropped below
        table = az.summary(tree, kind="diagnostics", fmt="wide", round_to="none")
    table = table[table["mcse_sd"].notna() & (table["mcse_sd"] > 0)]  # constants (a base period fixed at 0)
    divergences = int(tree.sample_stats["diverging"].sum())
    bfmi = az.bfmi(tree)["energy"].values
    slowest = table["ess_bulk"].idxmin()
    result = {
        "passed": False,
        "max_rhat": float(table["r_hat"].max()),
        "min_ess_bulk": float(table["ess_bulk"].min()),
        "min_ess_tail": float(table["ess_tail"].min()),
        "slowest_parameter": str(slowest),
        "divergences": divergences,
        "min_bfmi": float(np.min(bfmi)),
        "n_quantities": int(len(table)),
        "thresholds": {"max_rhat": RHAT_MAX, "min_ess": ESS_MIN, "min_bfmi": BFMI_MIN, "divergences": 0},
    }
    result["failures"] = [
        msg for ok, msg in (
            (result["max_rhat"] <= RHAT_MAX, f"max R-hat {result['max_rhat']:.3f} > {RHAT_MAX}"),
            (result["min_ess_bulk"] >= ESS_MIN, f"min bulk ESS {result['min_ess_bulk']:.0f} < {ESS_MIN}"),
            (result["min_ess_tail"] >= ESS_MIN, f"min tail ESS {result['min_ess_tail']:.0f} < {ESS_MIN}"),
            (divergences == 0, f"{divergences} divergent transitions"),
            (result["min_bfmi"] >= BFMI_MIN, f"min E-BFMI {result['min_bfmi']:.2f} < {BFMI_MIN}"),
        ) if not ok
    ]
    result["passed"] = not result["failures"]
    return result


def loo_summary(tree: xr.DataTree) -> dict[str, Any]:
    """PSIS-LOO with the Pareto-k summary (needs the log_likelihood group); a failure is recorded, not raised."""
    try:
        loo = az.loo(tree, pointwise=True)
    except ValueError as err:  # e.g. PSIS cannot smooth a degenerate tail on tiny fits
        return {"error": f"PSIS-LOO failed: {err}"}
    k = np.asarray(loo.pareto_k).ravel()
    threshold = float(getattr(loo, "good_k", 0.7))
    return {
        "elpd_loo": float(loo.elpd),
        "se": float(loo.se),
        "p_loo": float(loo.p),
        "pareto_k_good_threshold": threshold,
        "n_pareto_k_above_threshold": int((k > threshold).sum()),
        "n_pareto_k_above_1": int((k > 1).sum()),
        "max_pareto_k": float(k.max()),
    }


def diagnostics_table(diag: dict[str, Any]) -> str:
    """A short human-readable gate table."""
    mark = "PASSED" if diag["passed"] else "FAILED"
    rows = [
        ("max R-hat", f"{diag['max_rhat']:.4f}", f"<= {RHAT_MAX}"),
        ("min bulk ESS", f"{diag['min_ess_bulk']:.0f} ({diag['slowest_parameter']})", f">= {ESS_MIN}"),
        ("min tail ESS", f"{diag['min_ess_tail']:.0f}", f">= {ESS_MIN}"),
        ("divergences", str(diag["divergences"]), "0"),
        ("min E-BFMI", f"{diag['min_bfmi']:.2f}", f">= {BFMI_MIN}"),
    ]
    lines = [f"Diagnostics gate: {mark} ({diag['n_quantities']} posterior quantities checked)"]
    lines += [f"  {name:<14} {value:<40} target {target}" for name, value, target in rows]
    if "loo" in diag and "error" in diag["loo"]:
        lines.append(f"  {diag['loo']['error']}")
    elif "loo" in diag:
        loo = diag["loo"]
        lines.append(
            f"  PSIS-LOO elpd {loo['elpd_loo']:.1f} (se {loo['se']:.1f}), p_loo {loo['p_loo']:.1f}; "
            f"Pareto k > {loo['pareto_k_good_threshold']:.2f}: {loo['n_pareto_k_above_threshold']} obs, > 1: {loo['n_pareto_k_above_1']}"
        )
    for failure in diag["failures"]:
        lines.append(f"  !! {failure}")
    return "\n".join(lines)


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def save_fit(tree: xr.DataTree, out_dir: Path, diagnostics: dict[str, Any]) -> Path:
    """Write posterior.nc (provenance in root attrs) and diagnostics.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "posterior.nc"
    tree.to_netcdf(path, engine="h5netcdf")
    (out_dir / "diagnostics.json").write_text(json.dumps(diagnostics, indent=2) + "\n")
    return path


def load_fit(path: Path | str) -> xr.DataTree:
    """Read a saved fit fully into memory (the file is closed afterwards)."""
    path = Path(path)
    if path.is_dir():
        path = path / "posterior.nc"
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        return tree.load()


@dataclass
class FitResult:
    tree: xr.DataTree
    diagnostics: dict[str, Any]
    timings: Timings
    model_data: ModelData
    dataset: Dataset


def settings_from_spec(spec: Spec, **overrides: Any) -> SamplerSettings:
    """Sampler settings from the spec's [sampling] table, with command-line overrides (None = keep)."""
    base = spec.sampling.model_dump()
    base.update({k: v for k, v in overrides.items() if v is not None})
    return SamplerSettings(**base)


def fit_spec(spec: Spec, dataset: Dataset, settings: SamplerSettings, spec_text: str = "") -> FitResult:
    """Build, sample, add groups, diagnose: the one path every fit goes through."""
    model_data, dataset = prepare(spec, dataset)
    model = build_model(spec, model_data)
    tree, timings = run_nuts(model, settings)
    timings.extras_s = add_model_groups(tree, model, settings.seed)
    diagnostics = diagnose(tree)
    diagnostics["loo"] = loo_summary(tree)
    diagnostics["timings"] = {"compile_s": timings.compile_s, "sample_s": timings.sample_s,
                              "extras_s": timings.extras_s}
    diagnostics["min_ess_bulk_per_s"] = diagnostics["min_ess_bulk"] / max(timings.compile_s + timings.sample_s, 1e-9)
    tree.attrs.update({
        "spec_name": spec.name,
        "spec_toml": spec_text,
        "spec_json": json.dumps(spec.to_dict()),
        "data_source": dataset.source,
        "data_sha256": dataset.sha256,
        "n_models": len(model_data.models),
        "c0_log10_flops": model_data.c0,
        "seed": settings.seed,
        "sampler": settings.sampler,
        "draws": settings.draws,
        "tune": settings.tune,
        "chains": settings.chains,
        "target_accept": settings.target_accept,
        "package_versions": json.dumps(package_versions()),
        "git_commit": git_commit(),
        "diagnostics_passed": int(diagnostics["passed"]),
        "interval_prob": INTERVAL_PROB,
    })
    return FitResult(tree=tree, diagnostics=diagnostics, timings=timings, model_data=model_data, dataset=dataset)


def write_fit_folder(result: FitResult, out_dir: Path) -> Path:
    """A complete fit folder: posterior.nc, diagnostics.json, the fitted rows (models.csv) and excluded.csv."""
    path = save_fit(result.tree, out_dir, result.diagnostics)
    result.model_data.models.to_csv(out_dir / "models.csv", index=False)
    result.dataset.excluded.to_csv(out_dir / "excluded.csv", index=False)
    return path
