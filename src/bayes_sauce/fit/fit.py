"""The Fit object: a spec, the rows it was fitted to, the posterior and the diagnostics, in one folder.

A fit folder holds ``posterior.nc`` (a DataTree whose root attrs carry the format version, the
fingerprint, the spec, the data's identity, the sampler settings and the software versions),
``diagnostics.json``, ``models.csv`` (the fitted rows, in model order) and ``excluded.csv``. posterior.nc holds
what later steps read and no more (``STORED_FLOAT32``, ``REPLICATED_DATASETS``, the log priors psense reads); its
float draws are stored as float32 and read back as float64, and a new fit is rounded so in memory, so that the fit a
command has just made is the fit every later command reads. It is written whole or not at all, by one process at a time (:mod:`bayes_sauce.store`); a folder holding a
different fit is replaced only when asked to, and one holding anything else never. diagnostics.json
and posterior.nc carry the same digest of the draws, checked on every read, so the gate read is the
gate of these draws. The PyMC model is rebuilt from the spec and the rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.schema import TEXT_COLUMNS
from bayes_sauce.defaults import INTERVAL_PROB
from bayes_sauce.fit import centring
from bayes_sauce.fit.attempts import sample_gated
from bayes_sauce.fit.sampling import Timings, compile_nutpie
from bayes_sauce.model.build import build_model, stored_deterministics
from bayes_sauce.model.design import Design, prepare
from bayes_sauce.model.evaluate import evaluate
from bayes_sauce.model.new_rows import NewRows, dataset_frame, new_rows
from bayes_sauce.paths import PROJECT_ROOT
from bayes_sauce.spec.priors import prior_variables
from bayes_sauce.spec.schema import Spec, SpecError, spec_from_dict
from bayes_sauce.store import is_store_entry, locked, write_bytes, write_folder

# 3: the model spec gained structure (families | developers); 4: posterior_digest; 5: effects partially centred
FORMAT_VERSION = 5
FILES = ("posterior.nc", "diagnostics.json", "models.csv", "excluded.csv")
VERSIONED_PACKAGES = ("bayes-sauce", "pymc", "pytensor", "nutpie", "numba", "llvmlite", "arviz", "numpy", "scipy",
                      "pandas", "xarray")


class FitError(ValueError):
    """A fit folder is missing, incomplete, unreadable, or would be overwritten; the message says which."""


def fingerprint(spec: Spec, data_sha256: str) -> str:
    """16 hex digits identifying a fit: the validated spec (sampler settings and filters included; its
    name and description left out), the data file's sha256 and the fit format. Rows follow from these."""
    content = {k: v for k, v in spec.to_dict().items() if k not in ("name", "description")}
    payload = json.dumps({"spec": content, "data_sha256": data_sha256, "format": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def code_digest() -> str:
    """16 hex digits identifying this package's source (every module): a saved fit is reused only by the code
    that wrote it, since the model and its derived quantities are defined there, not in the spec."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def environment_digest() -> str:
    """16 hex digits of what decides the draws besides the spec, the data and this package's code: the versions of
    the libraries that compile and sample, and the CPU that numba compiles for (its name, features and core count).
    The same seed gives the same draws only where these are the same (README, "Reproducibility")."""
    import llvmlite.binding as llvm

    host = [platform.machine(), llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten(), os.cpu_count()]
    payload = json.dumps({"versions": package_versions(), "host": host}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


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


def read_rows(path: Path) -> pd.DataFrame:
    """A models.csv written by a fit (or ``bayes-sauce data``), with its text columns kept as text."""
    return pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False, na_values=[""])


@dataclass(frozen=True)
class Fit:
    """A fitted spec: its rows (in model order), what was excluded, the posterior tree and the gate."""

    spec: Spec
    rows: pd.DataFrame
    excluded: pd.DataFrame
    tree: xr.DataTree
    diagnostics: dict[str, Any]
    path: Path | None = None
    timings: Timings = field(default_factory=Timings)
    reused: bool = False  # read from a folder where a new fit would have repeated it (``fit_store.get_or_fit``)
    compiled: Any = field(default=None, repr=False, compare=False)  # nutpie's compiled model, where this process made it
    _evaluated: dict[str, xr.DataArray] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def posterior(self) -> xr.Dataset:
        return self.tree.posterior.to_dataset()

    @property
    def passed(self) -> bool:
        return bool(self.diagnostics["passed"])

    @property
    def fingerprint(self) -> str:
        return str(self.tree.attrs["fingerprint"])

    @property
    def prob(self) -> float:
        return float(self.tree.attrs.get("interval_prob", INTERVAL_PROB))

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def design(self) -> Design:
        """The design the model was built on, rebuilt from the fitted rows, with the centring it was sampled with."""
        design, kept = prepare(self.spec, Dataset(self.rows))
        if len(kept.models) != len(self.rows):
            raise FitError(f"{self.path}: the fitted rows no longer pass the spec's exclusions; refit")
        return replace(design, centring=centring.from_json(self.tree.attrs.get("centring", "{}")))

    @cached_property
    def fitted_model(self) -> pm.Model:
        """The PyMC model the posterior was sampled from, rebuilt once."""
        return build_model(self.spec, self.design)

    def model(self, new: NewRows | None = None) -> pm.Model:
        """The PyMC model the posterior was sampled from (with ``new`` rows' predictive variables)."""
        return self.fitted_model if new is None else build_model(self.spec, self.design, new)

    def has(self, name: str) -> bool:
        """Whether the fit's model defines a variable of this name (components differ by structure)."""
        return name in self.fitted_model.named_vars

    def evaluate(self, names: list[str], new: NewRows | None = None, seed: int | None = None) -> xr.Dataset:
        """Model expressions (derived deterministics, new rows' predictive variables) over every draw. The fitted
        model's deterministics (no new rows, no seed) are computed once per fit and kept: the report asks again."""
        if new is not None or seed is not None:
            return evaluate(self.model(new), self.posterior, names, seed)
        missing = [name for name in names if name not in self._evaluated]
        if missing:
            self._evaluated.update(evaluate(self.fitted_model, self.posterior, missing).data_vars)
        return xr.Dataset({name: self._evaluated[name] for name in names})

    def at(self, folder: Path, reused: bool = False) -> Fit:
        """The same fit, saved in ``folder``."""
        return replace(self, path=Path(folder), reused=reused)

    def thinned(self, draws: int) -> Fit:
        """The same fit with about ``draws`` of its posterior draws, spread evenly over each chain (predictive
        checks that need no more than that many)."""
        return replace(self, tree=with_groups(self.tree, {"posterior": thinned(self.posterior, draws)}))

    def gate_status(self) -> str:
        """One line for commands that read a fit."""
        if self.passed:
            return f"fit '{self.name}' ({self.path}): diagnostics gate passed"
        return f"fit '{self.name}' ({self.path}): diagnostics gate FAILED ({'; '.join(self.diagnostics['failures'])})"

    def require_passed(self, allow_failed: bool) -> None:
        """Refuse a fit that failed the gate unless the caller allows it."""
        if not self.passed and not allow_failed:
            raise FitError(f"{self.gate_status()}; its numbers are not reliable. Refit with more draws or tuning, "
                           "or pass --allow-failed to use it anyway")

    def save(self, folder: Path, replace: bool = False) -> Path:
        """Write the fit folder whole (:func:`bayes_sauce.store.write_folder`), holding its lock.

        An existing folder holding a different fit (another fingerprint) is replaced only with ``replace``; its
        report files go with it. A folder holding anything bayes-sauce did not write is never replaced.
        ``diagnostics.json`` and ``posterior.nc`` carry the same digest of the draws, which every reader checks.
        """
        folder = Path(folder)
        digest = posterior_digest(self.tree)
        self.tree.attrs["posterior_digest"] = digest
        self.diagnostics["posterior_digest"] = digest

        def write(staging: Path) -> None:
            # Serialised in memory, then written as plain bytes: HDF5 writing into a full disk segfaulted later. The
            # synchronous scheduler: in a Dask worker (a sweep) xarray would otherwise take a distributed lock named
            # after the in-memory file, which the scheduler does not know.
            with dask.config.set(scheduler="synchronous"):
                data = self.tree.to_netcdf(engine="h5netcdf", encoding=_encoding(self.tree))
            write_bytes(staging / "posterior.nc", data)
            (staging / "diagnostics.json").write_text(json.dumps(self.diagnostics, indent=2) + "\n")
            self.rows.to_csv(staging / "models.csv", index=False)
            self.excluded.to_csv(staging / "excluded.csv", index=False)

        with locked(folder):
            check_target(folder, self.fingerprint, replace)
            write_folder(folder, write)
        return folder

    @classmethod
    def load(cls, folder: Path | str, lazy: bool = False) -> Fit:
        """Read a fit folder (or its posterior.nc), checking that it is complete and consistent.

        ``lazy``: the posterior's arrays are read when first used, not all at once (a prediction reads the free
        variables only: a few MB of a posterior.nc of ~190 MB); the file stays open while the fit is used."""
        folder = Path(folder)
        if folder.name == "posterior.nc":
            folder = folder.parent
        if not folder.is_dir():
            raise FitError(f"{folder}: no fit folder there; fit one with `bayes-sauce fit --out {folder}`")
        missing = [name for name in FILES if not (folder / name).exists()]
        if missing:
            raise FitError(f"{folder}: not a complete fit folder, missing {missing}; refit with "
                           f"`bayes-sauce fit --out {folder}`")
        try:
            if lazy:
                tree = _open_lazily(folder / "posterior.nc")
            else:
                with xr.open_datatree(folder / "posterior.nc", engine="h5netcdf") as tree:
                    tree = _as_float64(tree.load())
        except (OSError, ValueError) as err:
            raise FitError(f"{folder / 'posterior.nc'}: unreadable ({err}); refit") from None
        lacking = [a for a in ("fingerprint", "spec_json") if a not in tree.attrs] + \
            [g for g in ("posterior", "sample_stats") if g not in tree.children]
        if lacking:
            raise FitError(f"{folder / 'posterior.nc'}: not a posterior written by bayes-sauce (no {lacking}); refit")
        version = int(tree.attrs.get("format_version", 1))
        if version != FORMAT_VERSION:
            raise FitError(f"{folder}: fit format {version}, this version of bayes-sauce reads {FORMAT_VERSION}; refit")
        diagnostics = _read_diagnostics(folder / "diagnostics.json")
        _check_bound(folder, tree, diagnostics)
        rows = _read_table(folder / "models.csv", read_rows)
        if "model_id" not in rows or rows["model_id"].tolist() != [str(m) for m in tree.posterior["model"].values]:
            raise FitError(f"{folder / 'models.csv'}: rows do not match the posterior's models; refit")
        try:
            spec = spec_from_dict(json.loads(tree.attrs["spec_json"]), f"{folder / 'posterior.nc'} attrs")
        except SpecError as err:
            raise FitError(f"{folder}: its spec is no longer valid ({err}); refit") from None
        excluded = _read_table(folder / "excluded.csv", lambda path: pd.read_csv(path, dtype=str))
        return cls(spec=spec, rows=rows, excluded=excluded,
                   tree=tree, diagnostics=diagnostics, path=folder)


LAZY_GROUPS = ("posterior", "sample_stats")  # what a lazily loaded fit opens: enough to predict and check it


def _open_lazily(path: Path) -> xr.DataTree:
    """The root's attributes and the ``LAZY_GROUPS``, their arrays read from the file when first used (opening
    every group of a posterior.nc reads each one's metadata: about half a second)."""
    import h5netcdf

    with h5netcdf.File(path, "r") as file:
        present = set(file.groups)
    groups = {name: xr.open_dataset(path, group=name, engine="h5netcdf") for name in LAZY_GROUPS if name in present}
    return _as_float64(xr.DataTree.from_dict({"/": xr.open_dataset(path, engine="h5netcdf"), **groups}))


# Groups whose float draws posterior.nc stores as float32 (7 significant digits: every reported number has 3 or 4,
# and a test checks that the round trip keeps them); the sampler's statistics and the data stay as they are, and so
# do the replicated scores (200 x models, small): censored at the data's edges, they must compare equal to them.
STORED_FLOAT32 = ("posterior", "log_likelihood", "log_prior")
# Replicated datasets stored in posterior_predictive: the score ECDF's band (predictive.checks.ppc_table) reads 200,
# and its 90% band over 200 datasets moves by about 0.01 from one set of 200 to another.
REPLICATED_DATASETS = 200


def _float_vars(data: xr.Dataset) -> list[str]:
    return [name for name, v in data.data_vars.items() if v.dtype.kind == "f"]


def rounded_as_stored(tree: xr.DataTree) -> xr.DataTree:
    """The tree with the float draws of ``STORED_FLOAT32`` rounded to float32 (kept as float64): what Fit.load
    reads back from posterior.nc."""
    groups = {}
    for group in STORED_FLOAT32:
        if group in tree.children:
            data = tree[group].to_dataset()
            groups[group] = data.assign({name: data[name].astype(np.float32).astype(np.float64)
                                         for name in _float_vars(data)})
    return with_groups(tree, groups)


def _encoding(tree: xr.DataTree) -> dict[str, dict[str, dict[str, str]]]:
    """posterior.nc's encoding: float32 for the float draws of ``STORED_FLOAT32``."""
    return {f"/{group}": {name: {"dtype": "float32"} for name in _float_vars(tree[group].to_dataset())}
            for group in STORED_FLOAT32 if group in tree.children}


def _as_float64(tree: xr.DataTree) -> xr.DataTree:
    """The float32 variables of a posterior.nc as float64; lazily for arrays not read yet (a prediction reads the
    free variables only), each cast once when first read."""
    from xarray.coding.common import lazy_elemwise_func
    from xarray.core.indexing import MemoryCachedArray

    def cast(v: xr.Variable) -> xr.Variable:
        if isinstance(v._data, np.ndarray):
            return v.astype(np.float64)
        lazy = lazy_elemwise_func(v._data, lambda x: np.asarray(x, dtype=np.float64), np.float64)
        return xr.Variable(v.dims, MemoryCachedArray(lazy), v.attrs, v.encoding)

    groups = {}
    for group in STORED_FLOAT32:
        if group in tree.children:
            data = tree[group].to_dataset()
            groups[group] = data.assign({name: cast(v.variable) for name, v in data.data_vars.items()
                                         if v.dtype == np.float32})
    return with_groups(tree, groups)


def with_groups(tree: xr.DataTree, groups: dict[str, xr.Dataset]) -> xr.DataTree:
    """A copy of the tree with these groups in place of its own (the root's attributes kept)."""
    return tree.assign({name: xr.DataTree(data) for name, data in groups.items()})


def thinned(data: xr.Dataset, draws: int) -> xr.Dataset:
    """About ``draws`` draws of a (chain, draw, ...) dataset, the same number from each chain, evenly spaced (all of
    them where there are no more)."""
    per_chain = min(data.sizes["draw"], -(-draws // data.sizes["chain"]))
    return data.isel(draw=np.unique(np.linspace(0, data.sizes["draw"] - 1, per_chain).round().astype(int)))


def _read_diagnostics(path: Path) -> dict[str, Any]:
    """diagnostics.json, which must say whether the gate passed."""
    try:
        diagnostics = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FitError(f"{path}: unreadable ({err}); refit") from None
    if not isinstance(diagnostics, dict) or not isinstance(diagnostics.get("passed"), bool):
        raise FitError(f"{path}: does not say whether the diagnostics gate passed (no true/false key 'passed'); refit")
    return diagnostics


def _read_table(path: Path, reader: Any) -> pd.DataFrame:
    """A CSV of a fit folder read by ``reader``; a file that is not a readable CSV is a FitError naming it."""
    try:
        return reader(path)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise FitError(f"{path}: unreadable ({str(err).strip()}); refit") from None


def check_target(folder: Path, key: str, replace: bool) -> list[str]:
    """Refuse to write a fit with fingerprint ``key`` into a folder holding anything bayes-sauce did not write, or
    a different fit unless ``replace``; return the entries the new fit would replace (none for a new folder)."""
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise FitError(f"{folder} is a file, not a fit folder; choose another --out")
    entries = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in folder.iterdir())
    if not entries:
        return []
    foreign = foreign_entries(folder)
    if not any((folder / name).exists() for name in ("posterior.nc", "diagnostics.json")):
        raise FitError(f"{folder} holds files that are not a bayes-sauce fit ({_listed(entries)}); bayes-sauce never "
                       "writes over other files: choose another --out")
    if foreign:
        raise FitError(f"{folder} holds a fit and files bayes-sauce did not write ({_listed(foreign)}); bayes-sauce "
                       "never writes over other files: move them out of the folder, or choose another --out")
    if existing_fingerprint(folder) != key and not replace:
        raise FitError(f"{folder} holds a different fit (other spec, settings or data); pass --replace to replace it "
                       "(the fit and what was made from it), or --out DIR to write a new folder")
    return entries


def foreign_entries(folder: Path) -> list[str]:
    """Entries of a fit folder that no bayes-sauce command writes there (``name/`` for a folder)."""
    ours = {*FILES, *FIT_OUTPUTS, *report_files(folder)}
    foreign = []
    for entry in sorted(folder.iterdir()):
        if is_store_entry(entry.name) or entry.is_file() and not entry.is_symlink() and entry.name in ours:
            continue
        if entry.is_dir() and not entry.is_symlink() and entry.name in FIT_SUBFOLDERS and \
                not FIT_SUBFOLDERS[entry.name](entry):
            continue
        foreign.append(entry.name + ("/" if entry.is_dir() else ""))
    return foreign


def _foreign_in_checks(folder: Path) -> list[str]:
    """checks/ holds fold fits (fit folders) and their locks and staging folders."""
    return [f"{entry.name}/{name}" for entry in folder.iterdir()
            if not (entry.name.startswith(".") and (entry.name.endswith(".lock") or ".staging-" in entry.name))
            for name in ([""] if not entry.is_dir() or entry.is_symlink() else foreign_entries(entry))]


def _foreign_in_explain(folder: Path) -> list[str]:
    """explain/ holds each explained model's figure and tables."""
    return [e.name for e in folder.iterdir() if e.is_symlink() or not e.is_file() or e.suffix not in (".png", ".csv")]


# What bayes-sauce commands write into a fit folder besides FILES and the report's own files (report.json lists
# them): the check step, predict, psense, a sensitivity variant's summary; and the folders of the fold fits and of
# explain.
FIT_OUTPUTS = ("checks.json", "report.json", "predictions.csv", "compute_needed.csv", "psense.csv", "variant.json",
               "headline.csv", "headline.csv.partial")
FIT_SUBFOLDERS = {"checks": _foreign_in_checks, "explain": _foreign_in_explain}


def report_files(folder: Path) -> list[str]:
    """The files the last report wrote into a fit folder, as its report.json lists them (none when unreadable; the
    fixed set of the reports written before report.json listed them)."""
    try:
        report = json.loads((folder / "report.json").read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(report, dict):
        return []
    listed = report.get("files", LEGACY_REPORT_FILES if "fingerprint" in report else [])
    return [name for name in listed if isinstance(name, str) and "/" not in name]


# What a report wrote before its report.json listed its files (format 3 and earlier).
LEGACY_REPORT_FILES = ("checks.json", "developers.csv", "headline.csv", "model_effects.csv", "psense.csv",
                       "report.html", "report.md", *(f"{name}.{ext}" for ext in ("csv", "png") for name in (
                           "developer_multipliers", "frontier_pairs", "frontier_running", "ppc", "scaling_curve",
                           "shapley", "threshold_fall", "within_firm_spread")))


def _listed(names: list[str], most: int = 6) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def existing_fingerprint(folder: Path) -> str | None:
    """The fingerprint of the fit in a folder, None if it holds no readable fit."""
    try:
        with xr.open_datatree(folder / "posterior.nc", engine="h5netcdf") as tree:
            return str(tree.attrs.get("fingerprint", "")) or None
    except (OSError, ValueError):
        return None


def posterior_digest(tree: xr.DataTree) -> str:
    """16 hex digits of the posterior draws (names, dimensions, values): binds diagnostics.json to posterior.nc."""
    posterior = tree.posterior.to_dataset()
    digest = hashlib.sha256()
    for name in sorted(posterior.data_vars):
        values = posterior[name]
        digest.update(f"{name}{values.dims}{values.dtype}".encode())
        digest.update(np.ascontiguousarray(values.values).tobytes())
    return digest.hexdigest()[:16]


def _check_bound(folder: Path, tree: xr.DataTree, diagnostics: dict[str, Any]) -> None:
    """diagnostics.json must be the one written with this posterior.nc (the same digest of the draws in both)."""
    checked, held = diagnostics.get("posterior_digest"), tree.attrs.get("posterior_digest")
    if checked is None or held is None or checked != held:
        raise FitError(f"{folder / 'diagnostics.json'}: it was not written with this posterior.nc (it checked draws "
                       f"{checked or 'not recorded'}, posterior.nc holds {held or 'no digest'}), so the diagnostics "
                       f"gate is unknown; refit with `bayes-sauce fit --out {folder} --replace`")


# The largest fit measured (benchmarks/README.md, "Scaling", 2026-12-03): 8,090 models at the default spec's sampling
# (4 chains x 1500 draws after 1000 tuning steps, 2 cores): 723 s, peak memory 8.93 GiB, gate passed; sampling time
# grew as about N^1.26 and memory about linearly.
MEASURED_MODELS, MEASURED_S, MEASURED_GIB, TIME_EXPONENT = 8090, 723.0, 8.93, 1.26
MEASURED_CHAINS, MEASURED_DRAWS, MEASURED_TUNE = 4, 1500, 1000


def size_note(n_models: int, sampling: Any) -> str | None:
    """For data far larger than any fit measured, what to expect (time, memory) before sampling starts."""
    if n_models <= MEASURED_MODELS:
        return None
    ratio = n_models / MEASURED_MODELS
    steps = sampling.chains * (sampling.draws + sampling.tune) / (MEASURED_CHAINS * (MEASURED_DRAWS + MEASURED_TUNE))
    stored = sampling.chains * sampling.draws / (MEASURED_CHAINS * MEASURED_DRAWS)
    minutes = MEASURED_S * ratio**TIME_EXPONENT * steps / 60
    return (f"{n_models:,} models is more than the largest fit measured ({MEASURED_MODELS:,} models: "
            f"{MEASURED_S / 60:.0f} min and {MEASURED_GIB:.0f} GiB of memory on 2 cores, benchmarks/README.md). "
            f"Time grew as about N^{TIME_EXPONENT} there: at these settings expect roughly "
            f"{f'{minutes:.0f} min' if minutes < 90 else f'{minutes / 60:.1f} h'} and {MEASURED_GIB * ratio * max(stored, 0.1):.0f} GiB of memory (more on a slower "
            "machine, and the gate may fail); fewer --draws or --chains, or a filter, make it smaller")


def fit_spec(spec: Spec, dataset: Dataset, cores: int | None = None, progress: bool = True,
             extras: bool = True, fallback: bool = True, echo: Callable[[str], None] = print) -> Fit:
    """Build, sample and diagnose: the one path every fit goes through (the spec's [sampling] settings, and one
    automatic fallback where they fail the gate: ``fit.attempts``). ``progress``: the sampler's progress bar;
    ``echo``: where notes go (an expected time for data far larger than any measured, a fallback).

    ``extras=False`` leaves out the log densities and the replicated datasets, which only the report of a fit
    reads. The fit keeps nutpie's compiled model (``Fit.compiled``) for the fold fits of its checks."""
    design, dataset = prepare(spec, dataset)
    if note := size_note(len(design.models), spec.sampling):
        echo(note)
    model = build_model(spec, design)
    start = time.perf_counter()
    compiled = compile_nutpie(model) if spec.sampling.sampler == "nutpie" else None
    compile_s = time.perf_counter() - start
    tree, timings, diagnostics = sample_gated(model, spec.sampling, stored_deterministics(model), cores=cores,
                                              progress=progress, compiled=compiled, fallback=fallback, echo=echo)
    timings.compile_s += compile_s
    design = replace(design, centring=centring.from_json(tree.attrs["centring"]))
    if extras:
        add_log_densities(tree, model, spec, timings)
        add_replicates(tree, spec, design)
    tree = rounded_as_stored(tree)
    diagnostics["timings"] = timings.as_dict()
    diagnostics["min_ess_bulk_per_s"] = diagnostics["min_ess_bulk"] / max(timings.compile_s + timings.sample_s, 1e-9)
    s = spec.sampling
    tree.attrs.update({
        "format_version": FORMAT_VERSION,
        "fingerprint": fingerprint(spec, dataset.sha256),
        "spec_name": spec.name,
        "spec_json": json.dumps(spec.to_dict()),
        "filters": spec.data.filters.to_filters().describe(),
        "data_source": dataset.source,
        "data_sha256": dataset.sha256,
        "n_models": len(design.models),
        "c0_log10_flops": design.c0,
        "seed": s.seed, "sampler": s.sampler, "draws": s.draws, "tune": s.tune, "chains": s.chains,
        "target_accept": s.target_accept,
        "package_versions": json.dumps(package_versions()),
        "git_commit": git_commit(),
        "code_digest": code_digest(),
        "environment_digest": environment_digest(),
        "diagnostics_passed": int(diagnostics["passed"]),
        "interval_prob": INTERVAL_PROB,
    })
    return Fit(spec=spec, rows=design.models, excluded=dataset.excluded, tree=tree, diagnostics=diagnostics,
               timings=timings, compiled=compiled)


def add_replicates(tree: xr.DataTree, spec: Spec, design: Design) -> None:
    """posterior_predictive: ``REPLICATED_DATASETS`` replicated datasets, one per posterior draw of an evenly thinned
    set, drawn through the model. Binomial: each model's own effect, new answers; logit-normal: a fresh residual;
    the family structure: the observed variable drawn afresh (a new model of the same family by the same developer:
    fresh fine-tune, noise, failure)."""
    posterior = thinned(tree.posterior.to_dataset(), REPLICATED_DATASETS)
    binomial = spec.model.likelihood == "binomial"
    rows = new_rows(dataset_frame(design.models, design.time), design, spec.model.developers, own=binomial)
    draws = evaluate(build_model(spec, design, rows), posterior, ["new_score" if binomial else "new_eta"],
                     seed=spec.sampling.seed)
    name, values = ("k", (draws["new_score"] * design.scale.n_questions).round().astype("int64")) if binomial else \
        ("y", draws["new_eta"])
    tree["posterior_predictive"] = xr.Dataset({name: values.rename(new_model="model")})


def add_log_densities(tree: xr.DataTree, model: pm.Model, spec: Spec, timings: Timings) -> None:
    """log_likelihood, and log_prior of the variables that carry the spec's priors: what power-scaling sensitivity
    (psense) reads; not the hierarchical levels drawn around them, which it leaves alone."""
    start = time.perf_counter()
    pm.compute_log_likelihood(tree, model=model, progressbar=False)
    priors = [name for name in prior_variables(spec.priors) if name in {v.name for v in model.free_RVs}]
    pm.stats.compute_log_prior(tree, var_names=priors, model=model, progressbar=False)
    timings.extras_s += time.perf_counter() - start
