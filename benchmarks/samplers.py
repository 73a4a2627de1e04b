"""Sampler benchmark: the default (family) spec and the previous default (developer_pooling) on the shipped
models with each NUTS implementation, measured side by side in one run.

Usage: .venv/bin/python benchmarks/samplers.py [--repeats 3] [--draws 1000 --tune 1000 --chains 4]
       [--only nutpie,nutpie_dev,pymc,numpyro] [--out benchmarks/results]
Each row: compile and sampling seconds, min bulk/tail ESS over every varying posterior quantity the gate
checks (free variables and stored deterministics, as in ``fit_spec``), ESS per second of compile + sampling
and of sampling alone, divergences, max R-hat; medians over repeats (rows interleaved per repeat), and each
row's ESS/s as a ratio to PyMC's own NUTS on the same spec measured in the same run. numpyro is in the
``bench`` dependency group (``make bench``); without it its row is skipped with a printed reason.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bayes_sauce.data.load import load
from bayes_sauce.fit.diagnostics import diagnose
from bayes_sauce.fit.sampling import run_nuts, sampler_available
from bayes_sauce.model.build import DERIVED, build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.spec.schema import Spec, load_spec

warnings.filterwarnings("ignore")
PREVIOUS_SPEC = MODELS_DIR / "developer_pooling.toml"


def fitter(spec: Spec, sampler: str, cores: int) -> Callable[[], tuple]:
    """A function that builds the spec's model on the shipped rows and samples it with ``sampler``."""
    design, _ = prepare(spec, load(filters=spec.data.filters.to_filters()))
    sampling = spec.with_sampling(sampler=sampler).sampling

    def fit():
        model = build_model(spec, design)
        stored = [d.name for d in model.deterministics if d.name not in DERIVED]
        tree, timings = run_nuts(model, sampling, stored, cores=cores, progress=False)
        return tree, timings
    return fit


def run_once(name: str, fit: Callable[[], tuple]) -> dict:
    """One fit of one row, with the numbers the table needs."""
    tree, t = fit()
    diag = diagnose(tree)
    wall = t.compile_s + t.sample_s
    print(f"  {name}: compile {t.compile_s:.1f} s, sample {t.sample_s:.1f} s, min ESS {diag['min_ess_bulk']:.0f}, "
          f"div {diag['divergences']}, R-hat {diag['max_rhat']:.3f}", flush=True)
    return {"row": name, "compile_s": t.compile_s, "sample_s": t.sample_s, "deterministics_s": t.extras_s,
            "wall_s": wall, "min_ess_bulk": diag["min_ess_bulk"], "min_ess_tail": diag["min_ess_tail"],
            "ess_per_s": diag["min_ess_bulk"] / wall, "ess_per_sample_s": diag["min_ess_bulk"] / t.sample_s,
            "divergences": diag["divergences"], "max_rhat": diag["max_rhat"], "slowest": diag["slowest_parameter"],
            "passed": diag["passed"]}


def summarise(runs: list[dict]) -> pd.DataFrame:
    """Medians per row over repeats; the most frequent slowest parameter; whether every repeat passed."""
    frame = pd.DataFrame(runs)
    table = frame.groupby("row", sort=False).median(numeric_only=True).drop(columns="passed")
    table["slowest"] = frame.groupby("row", sort=False)["slowest"].agg(lambda s: s.mode().iloc[0])
    table["passed_all"] = frame.groupby("row", sort=False)["passed"].all()
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20260207)
    parser.add_argument("--cores", type=int, default=2, help="chains run in parallel (default 2, as `fit`)")
    parser.add_argument("--only", default="nutpie,nutpie_dev,pymc,numpyro")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)

    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": args.seed}
    family = load_spec(DEFAULT_SPEC).with_sampling(**settings)
    previous = load_spec(PREVIOUS_SPEC).with_sampling(**settings)
    candidates = {
        "nutpie (default spec: families)": ("nutpie", family, "nutpie"),
        "nutpie (developer_pooling)": ("nutpie_dev", previous, "nutpie"),
        "pymc NUTS (default spec: families)": ("pymc", family, "pymc"),
        "numpyro CPU (default spec: families)": ("numpyro", family, "numpyro"),
    }
    wanted = set(args.only.split(","))
    rows = {}
    for row, (key, spec, sampler) in candidates.items():
        if key not in wanted:
            continue
        if not sampler_available(sampler):
            print(f"skipping {row}: {sampler} is not installed (`make bench` installs the bench group)")
            continue
        rows[row] = fitter(spec, sampler, args.cores)
    # Repeats are interleaved across rows so that a drift in machine load hits every row alike.
    runs = []
    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}", flush=True)
        runs += [run_once(row, fit) for row, fit in rows.items()]
    table = summarise(runs)
    reference = "pymc NUTS (default spec: families)"
    if reference in table.index:
        table["ess_per_s_vs_pymc"] = table["ess_per_s"] / table.loc[reference, "ess_per_s"]
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "samplers.csv")
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"
    markdown = table.to_markdown(floatfmt=".3g")
    header = (f"Samplers, {args.chains} chains x {args.draws} draws after {args.tune} tuning on {args.cores} cores, "
              f"seed {args.seed}, medians of {args.repeats} repeats (passed_all: every repeat passed the gate); "
              f"machine: {machine}\n\n")
    (args.out / "samplers.md").write_text(header + markdown + "\n")
    print("\n" + header + markdown)
    (args.out / "samplers.json").write_text(json.dumps({"argv": sys.argv, "machine": machine,
                                                         "runs": runs}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
