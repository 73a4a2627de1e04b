"""Prior and model sensitivity: fit a sweep's variants on Dask and collect their headline numbers.

Each variant (:mod:`bayes_sauce.spec.sweep`) is fitted by :func:`fit_variant`, a Dask task that goes
through the same path as ``bayes-sauce fit`` (``get_or_fit``, diagnostics gate included) and writes a
fit folder ``<variant>-<fingerprint>/`` (a complete fit folder plus psense.csv, variant.json and,
last, headline.csv). A folder holding headline.csv is complete, so a re-run, or a sweep resumed
after an interruption, fits only the variants whose spec, data or seed changed. The headline
numbers of all variants form one long table; a robustness table says, per key quantity, how far
each kind of choice (priors, model, subsample, outcome) moves the median.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_sauce.data.load import filtered, load, load_with_rows
from bayes_sauce.data.read import DataValidationError
from bayes_sauce.data.paper_numbers import comparable, load_paper_numbers
from bayes_sauce.defaults import INTERVAL_PROB
from bayes_sauce.fit.fit import fingerprint
from bayes_sauce.fit.fit_store import get_or_fit
from bayes_sauce.quantities import posterior
from bayes_sauce.quantities.headline import KEY_QUANTITIES
from bayes_sauce.sensitivity.dask import Task, announce, run_tasks
from bayes_sauce.sensitivity.psense import psense_table
from bayes_sauce.spec.schema import SpecError, spec_from_dict
from bayes_sauce.spec.sweep import DEFAULT_VARIANT, KINDS, Sweep, Variant

# Every variant is compared with the paper's main analysis: the claims a sweep tests.
PAPER_SPEC = "ols"
CACHE_MARKER = "headline.csv"  # written last: its presence means the folder is complete
ROBUSTNESS_COLUMNS = ["quantity", "kind", "n_variants", "min_median", "max_median", "outside", "default_median",
                      "default_lo", "default_hi", "paper", "unit"]
TABLE_COLUMNS = ["variant", "kind", "quantity", "median", "lo", "hi", "paper", "unit", "gate_passed", "error"]


def fit_variant(variant: Variant, data_path: str, data_sha256: str, paper: pd.DataFrame, folder: str) -> dict[str, Any]:
    """Dask task: fit one variant (``fit_store.get_or_fit``, on one core; a fit an interrupted sweep saved before its
    headline is reused) and write its fit folder.

    Returns a small summary (variant, gate passed, failures, seconds). headline.csv is written last,
    under a temporary name first, so a folder holding it is complete.
    """
    start = time.perf_counter()
    announce(variant.name)
    spec = spec_from_dict(variant.spec, f"variant '{variant.name}'")
    dataset = load(data_path, spec.data.filters.to_filters())
    if dataset.sha256 != data_sha256:
        raise RuntimeError(f"{data_path} changed during the sweep (sha256 {dataset.sha256[:12]}, expected {data_sha256[:12]})")
    fit = get_or_fit(spec, dataset, Path(folder), replace=True, cores=1)
    out = fit.path
    quantities = posterior.quantities(fit)
    psense_table(fit, quantities).to_csv(out / "psense.csv", index=False)
    summary = {"variant": variant.name, "kind": variant.kind, "changes": variant.changes,
               "passed": fit.passed, "failures": fit.diagnostics["failures"],
               "n_models": len(fit.rows), "seconds": time.perf_counter() - start}
    (out / "variant.json").write_text(json.dumps(summary, indent=2) + "\n")
    paper = comparable(paper, fit.design.coords["period"], spec.data.time)
    posterior.summarise(quantities, paper, INTERVAL_PROB).to_csv(out / f"{CACHE_MARKER}.partial", index=False)
    (out / f"{CACHE_MARKER}.partial").rename(out / CACHE_MARKER)
    return summary


def collect(variants: tuple[Variant, ...], folders: dict[str, Path], errors: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(long table of every variant's headline numbers, one row per variant with its status)."""
    tables, rows = [], []
    for v in variants:
        folder = folders[v.name]
        row = {"variant": v.name, "kind": v.kind, "changes": v.changes, "folder": str(folder)}
        if v.name in errors or not (folder / CACHE_MARKER).exists():
            error = errors.get(v.name, "not fitted")
            rows.append({**row, "status": "error", "gate_passed": False, "n_models": np.nan, "seconds": np.nan,
                         "error": error})
            tables.append(pd.DataFrame([{"variant": v.name, "kind": v.kind, "gate_passed": False, "error": error}]))
            continue
        info = json.loads((folder / "variant.json").read_text())
        error = "" if info["passed"] else "diagnostics gate failed: " + "; ".join(info["failures"])
        rows.append({**row, "status": "passed" if info["passed"] else "failed gate", "gate_passed": info["passed"],
                     "n_models": info["n_models"], "seconds": info["seconds"], "error": error})
        headline = pd.read_csv(folder / CACHE_MARKER)
        tables.append(headline.assign(variant=v.name, kind=v.kind, gate_passed=info["passed"], error=error))
    table = pd.concat(tables, ignore_index=True).reindex(columns=TABLE_COLUMNS)
    return table, pd.DataFrame(rows)


def robustness(table: pd.DataFrame) -> pd.DataFrame:
    """Per key quantity and kind of choice: the range of the variants' medians, and the variants whose median
    falls outside the default fit's interval. Only variants that passed the diagnostics gate count."""
    passed = table[table["gate_passed"].astype(bool) & table["quantity"].isin(KEY_QUANTITIES)]
    default = passed[passed["variant"] == DEFAULT_VARIANT].set_index("quantity")
    rows = []
    for quantity in (q for q in KEY_QUANTITIES if q in default.index):
        ref = default.loc[quantity]
        for kind in KINDS:
            sub = passed[(passed["quantity"] == quantity) & (passed["kind"] == kind)]
            if sub.empty:
                continue
            outside = sub[(sub["median"] < ref["lo"]) | (sub["median"] > ref["hi"])]
            rows.append({"quantity": quantity, "kind": kind, "n_variants": len(sub),
                         "min_median": sub["median"].min(), "max_median": sub["median"].max(),
                         "outside": ", ".join(outside["variant"]), "default_median": ref["median"],
                         "default_lo": ref["lo"], "default_hi": ref["hi"], "paper": ref["paper"], "unit": ref["unit"]})
    return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)


@dataclass(frozen=True)
class SweepResult:
    sweep: Sweep
    out: Path
    table: pd.DataFrame  # long: variant, kind, quantity, median, lo, hi, paper, unit, gate_passed, error
    variants: pd.DataFrame  # one row per variant: status, gate, models, seconds, folder, error
    robustness: pd.DataFrame
    psense: pd.DataFrame  # long over variants
    fitted: list[str]
    wall_s: float


def _describe(summary: dict[str, Any]) -> str:
    gate = "gate passed" if summary["passed"] else "gate FAILED: " + "; ".join(summary["failures"])
    return f"{gate}, {summary['seconds']:.0f} s"


def check_rows_left(sweep: Sweep, rows: pd.DataFrame, source: str) -> None:
    """Refuse, before anything is fitted, a variant whose filters leave no rows of the data."""
    for v in sweep.variants:
        try:
            filtered(rows, spec_from_dict(v.spec).data.filters.to_filters(), source)
        except DataValidationError as err:
            raise SpecError(f"{sweep.path}: variant '{v.name}': key 'data.filters': {err}") from None


def run_sweep(sweep: Sweep, data: Path | None, out: Path, scheduler: str | None = None, workers: int | None = None,
              echo: Callable[[str], None] = print) -> SweepResult:
    """Fit every variant not yet cached (in parallel on Dask) and collect all of them into tables."""
    start = time.perf_counter()
    dataset, rows = load_with_rows(data)  # validates the file before anything is fitted
    check_rows_left(sweep, rows, dataset.source)
    data_path = str(Path(dataset.source).resolve())
    out = out.resolve()
    folders = {v.name: out / f"{v.name}-{fingerprint(spec_from_dict(v.spec), dataset.sha256)}" for v in sweep.variants}
    todo = [v for v in sweep.variants if not (folders[v.name] / CACHE_MARKER).exists()]
    echo(f"Sweep '{sweep.name}': {len(sweep.variants)} variants, {len(sweep.variants) - len(todo)} cached in {out}, "
         f"{len(todo)} to fit")
    errors: dict[str, str] = {}
    if todo:
        paper = load_paper_numbers(PAPER_SPEC)
        tasks = [Task(v.name, fit_variant, (v, data_path, dataset.sha256, paper, str(folders[v.name])),
                      folders[v.name]) for v in todo]
        results = run_tasks(tasks, CACHE_MARKER, scheduler, workers, _describe, echo)
        errors = {name: f"{type(r).__name__}: {r}" for name, r in results.items() if isinstance(r, BaseException)}
    table, variants = collect(sweep.variants, folders, errors)
    fitted = variants.loc[variants["status"] != "error", "variant"]
    psense = pd.concat([pd.read_csv(folders[v] / "psense.csv").assign(variant=v) for v in fitted]
                       or [pd.DataFrame(columns=["variant", "variable", "prior_sensitive"])], ignore_index=True)
    return SweepResult(sweep=sweep, out=out, table=table, variants=variants, robustness=robustness(table),
                       psense=psense, fitted=[v.name for v in todo], wall_s=time.perf_counter() - start)
