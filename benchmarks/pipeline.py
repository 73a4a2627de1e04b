"""Pipeline benchmark: where the time of `bayes-sauce run` goes, stage by stage, and the wall time of the
commands a user waits on (``--help``, an argument error, ``predict`` of one model from a saved fit).
Medians over repeats; every number measured in this run.

Usage: .venv/bin/python benchmarks/pipeline.py [--repeats 3] [--folds 5] [--out benchmarks/results]
The stages are the ``run`` command's own functions (``bayes_sauce.cli.analysis``), called in one process
in the order ``run`` calls them, each repeat into a fresh folder (nothing reused); imports are timed in a
fresh interpreter. The fit is split by its own timings (compile, sampling, deterministics and log
densities) and the gate is timed again on the fitted posterior; the report is split into its predictive
checks (with the ``--folds`` fits without a fold of families) and the rest. The first repeat pays the
process's first numba/PyTensor compile; the medians say which repeats dominate. Then, as a user waits on them,
in fresh processes: ``predict`` of one model, ``fit`` of the default spec, and ``run`` again on the same folder
(which reuses the fit and the fold fits).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

import bayes_sauce.reporting.report as report_module
from bayes_sauce.cli import analysis
from bayes_sauce.cli.main import build_parser
from bayes_sauce.fit.diagnostics import diagnose
from bayes_sauce.paths import DEFAULT_SPEC, OLS_SPEC

warnings.filterwarnings("ignore")
CLI = [str(Path(sys.executable).with_name("bayes-sauce"))]
# What `bayes-sauce run` imports on its way (the command's lazy imports included).
RUN_IMPORTS = ("bayes_sauce.cli.main, bayes_sauce.data.load, bayes_sauce.data.summary, bayes_sauce.reporting.data_plots, "
               "bayes_sauce.replication.ols, bayes_sauce.reporting.replication, bayes_sauce.fit.workflow, "
               "bayes_sauce.fit.diagnostics, bayes_sauce.reporting.report, nutpie")
PREDICT = ["--params", "70", "--tokens", "15000", "--developer", "Meta", "--date", "2025-02", "--allow-failed"]


def wall(command: list[str], expect: int | None = 0) -> float:
    """Seconds a fresh process takes to run ``command`` (its exit status checked when ``expect`` is given)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if expect is not None and done.returncode != expect:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds


class Timed:
    """Wraps a function and records the seconds of its last call."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds = time.perf_counter() - start


def stage_times(root: Path, folds: int) -> dict[str, float]:
    """One `bayes-sauce run` into ``root``, stage by stage (the steps of ``cmd_run``), then ``predict`` on its fit."""
    t = {"imports (fresh interpreter)": wall([sys.executable, "-c", f"import {RUN_IMPORTS}"])}
    args = build_parser().parse_args(["run", "--out", str(root), "--folds", str(folds), "--no-progress"])
    checks = Timed(report_module.predictive_checks)
    report_module.predictive_checks = checks  # build_report calls it through the module: timed, not changed
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            args.out = root / "data"
            start = time.perf_counter()
            analysis.cmd_data(args)
            t["data (summary, figures)"] = time.perf_counter() - start
            start = time.perf_counter()
            analysis.replicate_to(args, OLS_SPEC, root / "ols", brief=True)
            t["replicate (OLS, bootstrap)"] = time.perf_counter() - start
            args.sampler = args.target_accept = None
            start = time.perf_counter()
            fit = analysis.fit_to(args, DEFAULT_SPEC, root / DEFAULT_SPEC.stem)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            analysis.report_to(fit.path, True, [], folds, False)
            report_s = time.perf_counter() - start
    finally:
        report_module.predictive_checks = checks.fn
    timings = fit.timings
    t["fit: compile"], t["fit: sample"] = timings.compile_s, timings.sample_s
    t["fit: deterministics, log densities"] = timings.extras_s
    t["fit: build, replicates, gate, save"] = fit_s - timings.compile_s - timings.sample_s - timings.extras_s
    start = time.perf_counter()
    gate = diagnose(fit.tree)
    t["(in fit) diagnostics gate alone"] = time.perf_counter() - start
    t[f"report: predictive checks ({folds} fold fits)"] = checks.seconds
    t["report: the rest"] = report_s - checks.seconds
    t["run total (stages above, without the gate's re-timing)"] = sum(
        v for k, v in t.items() if not k.startswith("(in fit)"))
    t["predict one model (fresh process)"] = wall([*CLI, "predict", str(fit.path), *PREDICT])
    t["fit (fresh process)"] = wall([*CLI, "fit", "--out", str(root / "fit_again"), "--no-progress"], expect=None)
    t["run again (fresh process: fit and fold fits reused)"] = wall(
        [*CLI, "run", "--out", str(root), "--folds", str(folds), "--no-progress"], expect=None)
    t["gate passed"] = float(fit.passed)
    t["gate quantities"] = float(gate["n_quantities"])
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5, help="folds of the report's new-family check (run's default 5)")
    parser.add_argument("--startup-repeats", type=int, default=5, help="repeats of --help and of an argument error")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    stages = []
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            stages.append(stage_times(Path(tmp), args.folds))
        print(f"stages repeat {r + 1}/{args.repeats}: " + ", ".join(f"{k} {v:.1f}" for k, v in stages[-1].items()),
              flush=True)
    stage = pd.DataFrame(stages).T
    stage.columns = [f"repeat {i + 1}" for i in range(args.repeats)]
    stage.insert(0, "median_s", stage.median(axis=1))

    startup = {
        "bayes-sauce --help": [wall([*CLI, "--help"]) for _ in range(args.startup_repeats)],
        "bayes-sauce fit --draws abc (argument error, exit 2)":
            [wall([*CLI, "fit", "--draws", "abc"], expect=2) for _ in range(args.startup_repeats)],
    }
    commands = pd.DataFrame({k: {"median_s": statistics.median(v), "max_s": max(v)} for k, v in startup.items()}).T

    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"
    text = (f"Pipeline benchmark, medians of {args.repeats} repeats (report with --folds {args.folds}); "
            f"machine: {machine}; load average at the end {os.getloadavg()[0]:.2f}\n"
            f"\n### `bayes-sauce run` by stage (seconds)\n\n{stage.to_markdown(floatfmt='.3g')}\n"
            f"\n### Start-up (fresh process, {args.startup_repeats} repeats)\n\n{commands.to_markdown(floatfmt='.3g')}\n")
    (args.out / "pipeline.md").write_text(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
