"""Scaling benchmark: the default spec's fit time, min ESS and peak memory at 1x, 4x and 10x the shipped models.

Usage: .venv/bin/python benchmarks/scaling.py FIT [--factors 1 4 10] [--seed 20260207] [--out benchmarks/results]
FIT is a saved fit of the default spec (e.g. results/hierarchical). Data at factor k: the fit's rows k times,
copy j > 0 with its model, developer and family ids suffixed ``#j`` (a family's organisation part too, so a
copied family without its root in the rows is based by the copied developer): developers, families and
fine-tuners grow with the data, developer groups and periods are kept. Scores are drawn from the spec's own
model built on those rows: its population-level parameters (those whose size does not grow with the copies)
at one posterior draw of the fit, every developer, family and fine-tuner effect and every score drawn afresh
through the model's graph, so the data are exactly of the kind the model describes. Each size is fitted by
``fit_spec`` with the spec's own sampling in a fresh process (its peak resident memory is that process's),
sizes in increasing order. One repeat per size: the 10x fit alone takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

SUFFIXED = ("model_id", "developer", "developer_raw")


def scaled_rows(rows: pd.DataFrame, factor: int) -> pd.DataFrame:
    """The rows ``factor`` times; copy j > 0 with its ids suffixed, so it is a new model of a new developer."""
    copies = [rows]
    for j in range(1, factor):
        copy = rows.copy()
        for column in SUFFIXED:
            copy[column] = copy[column].astype(str) + f"#{j}"
        # A family id is "organisation__name": suffixed on the organisation, which names its base developer when the
        # root is absent from the rows.
        copy["family"] = rows["family"].astype(str).str.replace("__", f"#{j}__", n=1, regex=False)
        copies.append(copy)
    return pd.concat(copies, ignore_index=True)


def _sizes(model) -> dict[str, tuple]:
    return {v.name: tuple(v.type.shape) for v in model.free_RVs}


def _growing(fit) -> set[str]:
    """Free variables whose size grows with the copies (developer, family, fine-tuner effects): the fitted model's
    against the same spec's model on the rows twice."""
    from bayes_sauce.data.dataset import Dataset
    from bayes_sauce.model.build import build_model
    from bayes_sauce.model.design import prepare

    once = _sizes(fit.fitted_model)
    twice = _sizes(build_model(fit.spec, prepare(fit.spec, Dataset(models=scaled_rows(fit.rows, 2)))[0]))
    return {name for name, shape in twice.items() if once.get(name) != shape}


def simulated_scores(fit, rows: pd.DataFrame, seed: int) -> np.ndarray:
    """Scores of ``rows`` from the spec's model built on them, population-level parameters at one posterior draw."""
    import pymc as pm

    from bayes_sauce.data.dataset import Dataset
    from bayes_sauce.model.build import build_model
    from bayes_sauce.model.design import prepare
    from bayes_sauce.model.evaluate import EVALUATION_MODE

    rng = np.random.default_rng(seed)
    design, _ = prepare(fit.spec, Dataset(models=rows))
    model = build_model(fit.spec, design)
    growing = _growing(fit)
    posterior = fit.posterior[[v.name for v in model.free_RVs if v.name not in growing]]
    draw = posterior.isel(chain=[0], draw=[int(rng.integers(posterior.sizes["draw"]))])
    drawn = pm.sample_posterior_predictive(draw, model=model, var_names=["y"], progressbar=False, random_seed=rng,
                                           compile_kwargs={"mode": EVALUATION_MODE})
    return design.scale.accuracy(drawn.posterior_predictive["y"].values.ravel())


def fit_one(fit_dir: Path, factor: int, seed: int) -> dict:
    """In this process: simulate the data at ``factor`` and fit it; the numbers for one table row."""
    from bayes_sauce.data.dataset import Dataset
    from bayes_sauce.fit.fit import Fit, fit_spec

    fit = Fit.load(fit_dir)
    rows = scaled_rows(fit.rows, factor)
    scores = simulated_scores(fit, rows, seed)
    scale = fit.design.scale
    rows[scale.outcome] = scores
    rows[f"{scale.outcome}_norm"] = scale.normalised(scores)
    dataset = Dataset(models=rows, excluded=fit.excluded.iloc[:0], source=f"{fit_dir} x{factor}, simulated",
                      sha256=f"scaled-{factor}-{seed}")
    start = time.perf_counter()
    scaled = fit_spec(fit.spec, dataset, progress=False)
    wall = time.perf_counter() - start
    d, t = scaled.diagnostics, scaled.timings
    return {"factor": factor, "models": len(rows), "developers": rows["developer"].nunique(),
            "families": rows["family"].nunique(), "fit_s": wall, "compile_s": t.compile_s, "sample_s": t.sample_s,
            "min_ess_bulk": d["min_ess_bulk"], "min_ess_tail": d["min_ess_tail"], "max_rhat": d["max_rhat"],
            "divergences": d["divergences"], "passed": d["passed"], "slowest": d["slowest_parameter"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fit", type=Path)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument("--seed", type=int, default=20260207)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # child mode: one factor
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(fit_one(args.fit, args.one, args.seed)))
        return 0
    rows = []
    for factor in sorted(args.factors):
        done = subprocess.run([sys.executable, __file__, str(args.fit), "--one", str(factor), "--seed", str(args.seed)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"factor {factor}: {done.stderr[-3000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        # Peak of the largest child so far: sizes run in increasing order, so it is this one's.
        row["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        rows.append(row)
        print(f"x{factor}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()),
              flush=True)
    table = pd.DataFrame(rows).set_index("factor")
    first = table.iloc[0]
    table["fit_s_per_model_vs_first"] = (table["fit_s"] / table["models"]) / (first["fit_s"] / first["models"])
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"
    text = (f"Scaling benchmark ({args.fit}, seed {args.seed}); machine: {machine}\n\n"
            f"{table.to_markdown(floatfmt='.3g')}\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scaling.md").write_text(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
