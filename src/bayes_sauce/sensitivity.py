"""Prior and model sensitivity: fit a sweep's variants on Dask, collect their headline numbers, power-scaling.

Each variant (:mod:`bayes_sauce.sweep`) is fitted by :func:`fit_variant`, a Dask task that goes
through the same path as ``bayes-sauce fit`` (``sampling.fit_spec``, diagnostics gate included)
and writes a fit folder ``<variant>-<hash>/`` (posterior.nc, diagnostics.json, models.csv,
excluded.csv, psense.csv, variant.json and, last, headline.csv). A folder holding headline.csv is
complete, so a re-run, or a sweep resumed after an interruption, fits only the variants whose
spec, data or seed changed. The headline numbers of all variants form one long table; a robustness
table says, per headline quantity, how far each kind of choice (priors, model, subsample, outcome) moves the
median; power-scaling (ArviZ psense) says which posteriors move when the priors or the likelihood
are scaled, without refitting.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats import psense_summary

from bayes_sauce import posterior
from bayes_sauce.data import load
from bayes_sauce.headline import Quantity
from bayes_sauce.paper import format_value, load_paper_numbers
from bayes_sauce.predict import SAMPLE_DIMS
from bayes_sauce.sampling import INTERVAL_PROB, fit_spec, settings_from_spec, write_fit_folder
from bayes_sauce.spec import spec_from_dict
from bayes_sauce.sweep import DEFAULT_VARIANT, KINDS, Sweep, Variant, cache_key

# The headline numbers the figure and the robustness summary show, one panel each.
KEY_QUANTITIES = (
    "compute_slope", "shapley_compute", "shapley_progress", "shapley_developer", "shapley_model",
    "progress_multiplier_last_vs_first", "within_firm_spread_p90_p10", "within_firm_spread_p75_p25",
    "frontier_compute_share__Llama-2-70B__DeepSeek-V3", "frontier_compute_share__Llama-2-70B__GPT-4.5",
    "developer_multiplier__Nvidia", "developer_multiplier__Microsoft", "developer_multiplier__Qwen",
    "developer_multiplier__DeepSeek",
)
# Every variant is compared with the paper's main analysis: the claims a sweep tests.
PAPER_SPEC = "ols"
CACHE_MARKER = "headline.csv"  # written last: its presence means the folder is complete
PROGRESS_TOPIC = "bayes-sauce-sensitivity"
ROBUSTNESS_COLUMNS = ["quantity", "kind", "n_variants", "min_median", "max_median", "outside", "default_median",
                      "default_lo", "default_hi", "paper", "unit"]
TABLE_COLUMNS = ["variant", "kind", "quantity", "median", "lo", "hi", "paper", "unit", "gate_passed", "error"]

# Power-scaling: the usual threshold on the CJS distance's derivative (Kallioinen et al. 2024).
PSENSE_THRESHOLD = 0.05
# The priors power-scaled are the spec's top-level ones; the hierarchical levels (developer levels,
# model effects eta, random-walk steps) are structure, not choices, and scaling them would scale
# the model itself (as the priorsense authors advise for hierarchical models).
TOP_LEVEL_PRIORS = ("alpha", "beta", "group_offset", "pool_offset", "period_offset", "sigma_developer",
                    "nu_developer", "sigma_model", "sigma_closed", "sigma_period_step")
PSENSE_PARAMETERS = ("intercept", "beta", "sigma_developer", "nu_developer", "sigma_model", "sigma_closed",
                     "sigma_period_step", "period_effect", "pool_effect", "group_effect")


def psense_table(tree: xr.DataTree, quantities: list[Quantity], threshold: float = PSENSE_THRESHOLD) -> pd.DataFrame:
    """Prior and likelihood power-scaling sensitivity of the parameters and the per-draw headline quantities.

    ``prior``/``likelihood``: ArviZ's psense values (CJS distance per unit of log power, alpha 0.99..1.01);
    ``prior_sensitive``: prior >= threshold, i.e. the posterior moves when the (top-level) priors are
    power-scaled. Reference levels fixed at 0 are left out.
    """
    post = tree.posterior.ds
    per_draw = {q.id: q.value.reset_coords(drop=True) for q in quantities if set(q.value.dims) == set(SAMPLE_DIMS)}
    params = [v for v in PSENSE_PARAMETERS if v in post]
    priors = [v for v in TOP_LEVEL_PRIORS if v in tree["log_prior"].ds]
    data = xr.DataTree.from_dict({"posterior": post[params].assign({k: v for k, v in per_draw.items() if k not in post}), "log_prior": tree["log_prior"].ds,
                                  "log_likelihood": tree["log_likelihood"].ds})
    log = logging.getLogger("arviz_stats.psense")  # its generic warning; the diagnosis column says it per row
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # constants give 0/0
            table = psense_summary(data, threshold=threshold, prior_var_names=priors, round_to=4)
    finally:
        log.setLevel(level)
    table = table.dropna(subset=["prior", "likelihood"], how="all").rename_axis("variable").reset_index()
    table["kind"] = np.where(table["variable"].str.split("[").str[0].isin(params), "parameter", "quantity")
    table["prior_sensitive"] = table["prior"] >= threshold
    table["diagnosis"] = table["diagnosis"].replace("✓", "ok")
    return table[["variable", "kind", "prior", "likelihood", "prior_sensitive", "diagnosis"]]


def psense_markdown(table: pd.DataFrame, threshold: float = PSENSE_THRESHOLD) -> str:
    """The psense section of a report: what was scaled, what moved, and the table (scalars, key quantities, flags)."""
    flagged = table[table["prior_sensitive"]]
    shown = table[table["prior_sensitive"] | table["variable"].isin(KEY_QUANTITIES)
                  | ((table["kind"] == "parameter") & ~table["variable"].str.contains(r"\[", regex=True))]
    lines = [
        "Power-scaling sensitivity (ArviZ `psense`, Kallioinen et al. 2024): how far each posterior moves when the "
        "priors or the likelihood are raised to a power alpha in [0.99, 1.01], estimated by Pareto-smoothed importance "
        f"sampling without refitting. The priors scaled are the spec's top-level ones ({', '.join(TOP_LEVEL_PRIORS)}, "
        "those present), not the hierarchical levels. A prior value >= "
        f"{threshold:g} means the prior informs that posterior; a likelihood value below {threshold:g} means the data "
        "say little about it.",
        "",
        ("Prior-sensitive: " + ", ".join(f"`{v}` ({p:.3f})" for v, p in zip(flagged["variable"], flagged["prior"])))
        if len(flagged) else f"No parameter or headline quantity has prior sensitivity >= {threshold:g}.",
        "",
        shown[["variable", "kind", "prior", "likelihood", "diagnosis"]].to_markdown(index=False, floatfmt=".3f"),
    ]
    return "\n".join(lines)


def _announce(variant: str) -> None:
    """Tell the client that a variant's fit has started on a worker thread (a Dask event), when on a Dask worker."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # called outside a worker
        return
    worker.log_event(PROGRESS_TOPIC, {"variant": variant, "slot": f"{worker.address}/{threading.get_ident()}"})


def fit_variant(variant: Variant, data_path: str, data_sha256: str, paper: pd.DataFrame, folder: str,
                sweep_text: str) -> dict[str, Any]:
    """Dask task: fit one variant through ``sampling.fit_spec`` on one core and write its fit folder.

    Returns a small summary (variant, gate passed, failures, seconds). headline.csv is written last,
    under a temporary name first, so a folder holding it is complete.
    """
    start = time.perf_counter()
    _announce(variant.name)
    spec = spec_from_dict(variant.spec, f"variant '{variant.name}'")
    dataset = load(data_path, spec.data.filters.to_filters())
    if dataset.sha256 != data_sha256:
        raise RuntimeError(f"{data_path} changed during the sweep (sha256 {dataset.sha256[:12]}, expected {data_sha256[:12]})")
    result = fit_spec(spec, dataset, settings_from_spec(spec, cores=1, progress=False), spec_text=sweep_text)
    out = Path(folder)
    write_fit_folder(result, out)
    quantities = posterior.quantities(result.tree, result.model_data.models)
    psense_table(result.tree, quantities).to_csv(out / "psense.csv", index=False)
    summary = {"variant": variant.name, "kind": variant.kind, "changes": variant.changes,
               "passed": bool(result.diagnostics["passed"]), "failures": result.diagnostics["failures"],
               "n_models": len(result.model_data.models), "seconds": time.perf_counter() - start}
    (out / "variant.json").write_text(json.dumps(summary, indent=2) + "\n")
    posterior.summarise(quantities, paper, INTERVAL_PROB).to_csv(out / f"{CACHE_MARKER}.partial", index=False)
    (out / f"{CACHE_MARKER}.partial").rename(out / CACHE_MARKER)
    return summary


def local_cores() -> int:
    """Cores this process may use (the container's share, not the host's)."""
    return len(os.sched_getaffinity(0))


@contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A client of an existing scheduler (``tcp://host:port``), or of a local cluster of one-thread worker processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def fit_on_dask(client: Any, variants: list[Variant], folders: dict[str, Path], data_path: str, data_sha256: str,
                paper: pd.DataFrame, sweep_text: str, echo: Callable[[str], None]) -> dict[str, str]:
    """Submit one task per variant, report progress as they start and finish; return the errors by variant.

    A variant whose task raised, or whose folder is not visible here afterwards (a remote worker
    without a shared filesystem), is an error; the others go on.
    """
    from distributed import as_completed

    slots: dict[str, str] = {}  # worker thread -> the variant it runs: a new start there means the last one ended
    done: list[str] = []

    def running() -> str:
        return ", ".join(sorted(v for v in slots.values() if v not in done)) or "-"

    def started(event: tuple[float, dict[str, str]]) -> None:
        slots[event[1]["slot"]] = event[1]["variant"]
        echo(f"  started {event[1]['variant']}; running: {running()}")

    client.subscribe_topic(PROGRESS_TOPIC, started)
    futures = {client.submit(fit_variant, v, data_path, data_sha256, paper, str(folders[v.name]), sweep_text,
                             key=f"fit-{v.name}-{folders[v.name].name}", pure=False): v.name for v in variants}
    errors: dict[str, str] = {}
    for future in as_completed(futures):
        name = futures[future]
        done.append(name)
        if future.status == "error":
            exc = future.exception()
            errors[name] = f"{type(exc).__name__}: {exc}"
            status = f"ERROR {errors[name]}"
        elif not (folders[name] / CACHE_MARKER).exists():
            errors[name] = (f"the worker wrote {folders[name]} where this machine cannot see it; with --scheduler, "
                            "the output folder and the data file must be on a filesystem shared with the workers")
            status = "ERROR output not visible here"
        else:
            summary = future.result()
            gate = "gate passed" if summary["passed"] else "gate FAILED: " + "; ".join(summary["failures"])
            status = f"{gate}, {summary['seconds']:.0f} s"
        echo(f"[{len(done)}/{len(variants)} done] {name}: {status}; running: {running()}")
    client.unsubscribe_topic(PROGRESS_TOPIC)
    return errors


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


def run_sweep(sweep: Sweep, data: Path | None, out: Path, scheduler: str | None = None, workers: int | None = None,
              echo: Callable[[str], None] = print) -> SweepResult:
    """Fit every variant not yet cached (in parallel on Dask) and collect all of them into tables."""
    start = time.perf_counter()
    dataset = load(data)  # validates the file before anything is fitted
    data_path = str(Path(dataset.source).resolve())
    out = out.resolve()
    folders = {v.name: out / f"{v.name}-{cache_key(v.spec, dataset.sha256)}" for v in sweep.variants}
    todo = [v for v in sweep.variants if not (folders[v.name] / CACHE_MARKER).exists()]
    echo(f"Sweep '{sweep.name}': {len(sweep.variants)} variants, {len(sweep.variants) - len(todo)} cached in {out}, "
         f"{len(todo)} to fit")
    errors: dict[str, str] = {}
    if todo:
        n = workers or min(local_cores(), len(todo))
        with dask_client(scheduler, n) as client:
            echo(f"Dask: {scheduler or f'local cluster of {n} one-thread worker processes'}")
            errors = fit_on_dask(client, todo, folders, data_path, dataset.sha256, load_paper_numbers(PAPER_SPEC),
                                 sweep.path.read_text(), echo)
    table, variants = collect(sweep.variants, folders, errors)
    fitted = variants.loc[variants["status"] != "error", "variant"]
    psense = pd.concat([pd.read_csv(folders[v] / "psense.csv").assign(variant=v) for v in fitted]
                       or [pd.DataFrame(columns=["variant", "variable", "prior_sensitive"])], ignore_index=True)
    return SweepResult(sweep=sweep, out=out, table=table, variants=variants, robustness=robustness(table),
                       psense=psense, fitted=[v.name for v in todo], wall_s=time.perf_counter() - start)


def _cell(rows: pd.DataFrame, kind: str) -> str:
    """One robustness cell: the medians' range and the variants outside the default's interval."""
    sub = rows[rows["kind"] == kind]
    if sub.empty:
        return ""
    r = sub.iloc[0]
    span = f"{format_value(r['min_median'], r['unit'])} to {format_value(r['max_median'], r['unit'])}"
    return f"{span}; outside: {r['outside']}" if r["outside"] else f"{span}; all inside"


def robustness_markdown(rob: pd.DataFrame, prob: float) -> str:
    """Robustness as a table: the default fit and, per kind of choice, the range of medians and who falls outside."""
    kinds = [k for k in KINDS if k in set(rob["kind"])]
    rows = []
    for quantity, sub in rob.groupby("quantity", sort=False):
        r = sub.iloc[0]
        default = (f"{format_value(r['default_median'], r['unit'])} [{format_value(r['default_lo'], r['unit'])}, "
                   f"{format_value(r['default_hi'], r['unit'])}]")
        rows.append({"quantity": quantity, "default": default, "paper": format_value(r["paper"], r["unit"]),
                     **{f"{k} variants": _cell(sub, k) for k in kinds}})
    header = (f"Default fit: median [{prob:.0%} interval]. Per kind of choice: the range of the variants' medians and the "
              "variants whose median falls outside the default's interval (only variants that passed the gate).")
    return header + "\n\n" + pd.DataFrame(rows).to_markdown(index=False)


def sweep_markdown(result: SweepResult) -> str:
    """sensitivity.md: variants and their status, robustness of the headline numbers, psense of the default fit."""
    v = result.variants
    failed = v[v["status"] != "passed"]
    lines = [
        f"# Sensitivity sweep: {result.sweep.name}", "",
        f"{result.sweep.description} Sweep file `{result.sweep.path}`; {len(v)} variants "
        f"({len(result.fitted)} fitted in this run, the rest from the cache); wall time of this run "
        f"{result.wall_s:.0f} s. Every variant is compared with the paper's main analysis.", "",
    ]
    if len(failed):
        lines += [f"> **{len(failed)} variant(s) did not give reliable numbers**: " + "; ".join(
            f"{r.variant} ({r.error})" for r in failed.itertuples()), ""]
    lines += [
        "## Variants", "",
        v[["variant", "kind", "changes", "status", "n_models", "seconds"]].to_markdown(index=False, floatfmt=".0f"), "",
        "## Robustness of the headline numbers", "",
        robustness_markdown(result.robustness, INTERVAL_PROB) if len(result.robustness) else
        "No robustness table: the default variant did not pass the gate.", "",
        "## Power-scaling sensitivity of the default fit", "",
    ]
    default = result.psense[result.psense["variant"] == DEFAULT_VARIANT]
    lines += [psense_markdown(default.drop(columns="variant")) if len(default) else "The default variant was not fitted.",
              "", "## Files", "",
              "`sensitivity.csv` (every headline number of every variant, long; the figure's data), `sensitivity.png`, "
              "`robustness.csv`, `variants.csv`, `psense.csv` (every variant), and one fit folder per variant "
              "(`<variant>-<hash>/`, a complete `bayes-sauce fit` folder that `bayes-sauce report` can read)."]
    return "\n".join(lines) + "\n"


def write_outputs(result: SweepResult) -> list[Path]:
    """Write the tables, the figure and sensitivity.md into the sweep's folder."""
    from bayes_sauce import plots

    out = result.out
    out.mkdir(parents=True, exist_ok=True)
    files = {"sensitivity.csv": result.table, "variants.csv": result.variants, "robustness.csv": result.robustness,
             "psense.csv": result.psense}
    for name, table in files.items():
        table.to_csv(out / name, index=False)
    paths = [out / n for n in files]
    if result.table["quantity"].isin(KEY_QUANTITIES).any():
        fig = plots.sensitivity_forest(result.table, KEY_QUANTITIES, DEFAULT_VARIANT, INTERVAL_PROB)
        fig.savefig(out / "sensitivity.png", dpi=110)
        plots.plt.close(fig)
        paths.append(out / "sensitivity.png")
    (out / "sensitivity.md").write_text(sweep_markdown(result))
    return [*paths, out / "sensitivity.md"]


def terminal_summary(result: SweepResult) -> str:
    """Which headline numbers move under which kind of choice, in a few lines."""
    lines = [f"Sweep '{result.sweep.name}': {len(result.variants)} variants, wall time {result.wall_s:.0f} s; "
             f"status: {result.variants['status'].value_counts().to_dict()}"]
    for quantity, sub in result.robustness.groupby("quantity", sort=False):
        r = sub.iloc[0]
        moved = [f"{k}: {o}" for k, o in zip(sub["kind"], sub["outside"]) if o]
        lines.append(f"  {quantity:<50} default {format_value(r['default_median'], r['unit'])}; "
                     + ("outside the default's interval: " + " | ".join(moved) if moved else "robust to every variant"))
    flagged = result.psense[(result.psense["variant"] == DEFAULT_VARIANT) & result.psense["prior_sensitive"]]
    lines.append("psense (default fit), prior-sensitive: " + (", ".join(flagged["variable"]) or "none"))
    return "\n".join(lines)
