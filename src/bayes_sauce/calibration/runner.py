"""The calibration run: simulate N data sets, fit each on Dask (cached per data set), collect the ranks.

Each data set is one Dask task (:func:`calibrate_dataset`) writing ``datasets/NNN/``: ``simulation.nc``
(the true parameters and the simulated scores), ``fit.json`` (the gate and the times) and, last,
``ranks.csv``; a folder holding ranks.csv is done, so an interrupted run resumes with the rest. A task
that raises is recorded in ``datasets/NNN/error.txt`` and the others go on. ``settings.json`` beside
the folders names what they were made with; another spec, data, seed or sampler setting is refused
(pass ``replace`` to start afresh), since ranks from different settings must not be pooled.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bayes_sauce.calibration.fitting import fit_simulation, truth_fit
from bayes_sauce.calibration.ranks import rank_table
from bayes_sauce.calibration.simulate import Simulation, observed_values, simulate_posterior, simulate_prior
from bayes_sauce.data.dataset import Dataset
from bayes_sauce.fit.fit import Fit, FitError
from bayes_sauce.model.design import Design, prepare
from bayes_sauce.sensitivity.dask import Task, announce, run_tasks
from bayes_sauce.spec.schema import Spec, spec_from_dict

MARKER = "ranks.csv"  # written last: a data set's folder holding it is complete
SETTINGS = "settings.json"
_DESIGNS: dict[str, Design] = {}  # per worker process, by key


@dataclass(frozen=True)
class Job:
    """One data set to fit: the simulating and the fitted spec (as dicts), the rows, the simulation, its folder."""

    index: int
    simulator: dict
    fitter: dict
    rows: pd.DataFrame
    simulation: Simulation
    keys: tuple[str, str]  # (simulator, fitter): a worker's built models and designs are kept under these
    folder: str
    seed: int


def model_key(spec: Spec, rows_key: str) -> str:
    """A key naming a spec's model on one set of rows (the sampler settings and names left out)."""
    content = {k: v for k, v in spec.to_dict().items() if k not in ("name", "description", "sampling")}
    return hashlib.sha256(json.dumps([content, rows_key], sort_keys=True).encode()).hexdigest()[:16]


def rows_key(rows: pd.DataFrame) -> str:
    """sha256 (16 digits) of the rows as CSV: the real covariates every data set shares."""
    return hashlib.sha256(rows.to_csv(index=False).encode()).hexdigest()[:16]


def _design(key: str, spec: Spec, rows: pd.DataFrame) -> Design:
    if key not in _DESIGNS:
        _DESIGNS[key] = prepare(spec, Dataset(rows))[0]
    return _DESIGNS[key]


def calibrate_dataset(job: Job) -> dict[str, Any]:
    """Dask task: fit one simulated data set, rank the truth, write its folder (ranks.csv last)."""
    start = time.perf_counter()
    announce(f"data set {job.index:03d}")
    simulator, fitter = spec_from_dict(job.simulator, "simulator"), spec_from_dict(job.fitter, "fitted spec")
    fitter = fitter.with_sampling(seed=job.seed)
    sim_design, fit_design = _design(job.keys[0], simulator, job.rows), _design(job.keys[1], fitter, job.rows)
    fitted = fit_simulation(job.keys[1], fitter, fit_design, job.simulation,
                            observed_values(fitter, fit_design, job.simulation))
    truth = truth_fit(job.keys[0], simulator, sim_design, job.simulation,
                      observed_values(simulator, sim_design, job.simulation))
    table = rank_table(truth, fitted, job.seed)
    folder = Path(job.folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "error.txt").unlink(missing_ok=True)
    job.simulation.params.assign(score=("model", job.simulation.score)).to_netcdf(folder / "simulation.nc",
                                                                                  engine="h5netcdf")
    summary = {"dataset": job.index, "gate_passed": fitted.passed, "failures": fitted.diagnostics["failures"],
               "divergences": int(fitted.diagnostics.get("divergences", 0)),
               "min_ess_bulk": fitted.diagnostics.get("min_ess_bulk"), "max_rhat": fitted.diagnostics.get("max_rhat"),
               "slowest_parameter": fitted.diagnostics.get("slowest_parameter"),
               **fitted.timings.as_dict(), "seconds": time.perf_counter() - start}
    (folder / "fit.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    table.to_csv(folder / f"{MARKER}.partial", index=False)
    (folder / f"{MARKER}.partial").rename(folder / MARKER)
    return summary


@dataclass(frozen=True)
class CalibrationResult:
    out: Path
    ranks: pd.DataFrame  # long: dataset, quantity, kind, truth, rank, pit, intervals, covered_*, gate_passed
    datasets: pd.DataFrame  # one row per data set: status, gate, seconds, compile and sample time, error
    settings: dict[str, Any]
    fitted: list[int]
    wall_s: float


def _check_settings(out: Path, settings: dict[str, Any], replace: bool) -> None:
    """Refuse to pool with data sets made otherwise (or clear them with ``replace``); record the settings."""
    path = out / SETTINGS
    if path.exists() and not replace:
        old = json.loads(path.read_text())
        changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        if changed:
            raise FitError(f"{out} holds data sets made with other settings ({', '.join(changed)}); pass --replace "
                           "to start afresh, or --out DIR for another folder")
    if replace and (out / "datasets").exists():
        shutil.rmtree(out / "datasets")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")


def _describe(summary: dict[str, Any]) -> str:
    gate = "gate passed" if summary["gate_passed"] else "gate failed"
    return f"{gate}, {summary['seconds']:.0f} s (compile {summary['compile_s']:.1f} s, sampling {summary['sample_s']:.1f} s)"


def run_calibration(fitter: Spec, rows: pd.DataFrame, n: int, seed: int, out: Path, simulator: Spec | None = None,
                    posterior: Fit | None = None, scheduler: str | None = None, workers: int | None = None,
                    replace: bool = False, echo: Callable[[str], None] = print) -> CalibrationResult:
    """Calibrate ``fitter`` on ``n`` data sets simulated on ``rows`` from ``simulator`` (default: the fitted spec
    itself) with parameters from its priors, or from ``posterior``'s draws (then simulated by that fit's spec)."""
    start = time.perf_counter()
    simulator = posterior.spec if posterior is not None else (simulator or fitter)
    out = out.resolve()
    key = rows_key(rows)
    settings = {"fitted_spec": fitter.to_dict(), "simulator_spec": simulator.to_dict(), "rows_sha256": key,
                "seed": seed, "parameters_from": f"posterior {posterior.fingerprint}" if posterior else "prior"}
    _check_settings(out, settings, replace)
    folders = {i: out / "datasets" / f"{i:03d}" for i in range(n)}
    todo = [i for i in range(n) if not (folders[i] / MARKER).exists()]
    echo(f"Calibration of '{fitter.name}' on {len(rows)} models: {n} data sets, {n - len(todo)} cached in "
         f"{out / 'datasets'}, {len(todo)} to fit")
    errors: dict[int, str] = {}
    if todo:
        design = _design(model_key(simulator, key), simulator, rows)
        sims = simulate_posterior(posterior, todo, seed) if posterior else simulate_prior(simulator, design, todo, seed)
        keys = (model_key(simulator, key), model_key(fitter, key))
        tasks = [Task(f"data set {s.index:03d}", calibrate_dataset,
                      (Job(s.index, simulator.to_dict(), fitter.to_dict(), rows, s, keys, str(folders[s.index]),
                           seed + s.index),), folders[s.index]) for s in sims]
        results = run_tasks(tasks, MARKER, scheduler, workers, _describe, echo)
        for name, result in results.items():
            if isinstance(result, BaseException):
                index = int(name.split()[-1])
                errors[index] = f"{type(result).__name__}: {result}"
                folders[index].mkdir(parents=True, exist_ok=True)
                (folders[index] / "error.txt").write_text(errors[index] + "\n")
    ranks, datasets = collect(folders, errors)
    return CalibrationResult(out=out, ranks=ranks, datasets=datasets, settings=settings, fitted=todo,
                             wall_s=time.perf_counter() - start)


def collect(folders: dict[int, Path], errors: dict[int, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(long table of every completed data set's ranks, one row per data set with its status)."""
    tables, rows = [], []
    for index, folder in folders.items():
        if not (folder / MARKER).exists():
            error = errors.get(index) or ((folder / "error.txt").read_text().strip() if (folder / "error.txt").exists()
                                          else "not fitted")
            rows.append({"dataset": index, "status": "error", "error": error})
            continue
        info = json.loads((folder / "fit.json").read_text())
        rows.append({"status": "fitted", **{k: v for k, v in info.items() if k != "failures"},
                     "failures": "; ".join(info["failures"]), "error": ""})
        tables.append(pd.read_csv(folder / MARKER).assign(dataset=index, gate_passed=info["gate_passed"]))
    ranks = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["dataset", "quantity"])
    columns = ["dataset", *[c for c in ranks.columns if c != "dataset"]]
    return ranks[columns], pd.DataFrame(rows)
