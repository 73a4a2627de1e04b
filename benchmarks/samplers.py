"""Sampler benchmark: the default spec on the 809 models with each NUTS implementation, the bambi
peer and a deliberately naive parameterisation, measured side by side in one run.

Usage: .venv/bin/python benchmarks/samplers.py [--repeats 3] [--draws 1000 --tune 1000 --chains 4]
       [--only nutpie,pymc,...] [--out benchmarks/results]
Each row: compile and sampling seconds, min bulk/tail ESS over every varying posterior quantity,
ESS per second of wall time (compile + sampling), divergences, max R-hat; medians over repeats, and
each row's ESS/s as a ratio to PyMC's own NUTS on the default spec measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayes_sauce.data import CHANCE_FLOOR, load
from bayes_sauce.model import ModelData, build_model, prepare
from bayes_sauce.sampling import SamplerSettings, diagnose, run_nuts
from bayes_sauce.spec import DEFAULT_SPEC, load_spec

warnings.filterwarnings("ignore")


def naive_model(data: ModelData) -> pm.Model:
    """Our model as first written: a free intercept plus free means for all 13 groups (a ridge only
    the priors resolve), every effect non-centred, model effects coupled to every hyper-parameter."""
    with pm.Model(coords=data.coords) as model:
        alpha = pm.Normal("alpha", 0.0, 1.5)
        beta = pm.Normal("beta", 0.5, 0.5)
        group_mean = pm.Normal("group_mean", 0.0, 1.0, dims="group")
        sigma_dev = pm.HalfNormal("sigma_developer", 1.0)
        z_dev = pm.Normal("developer_z", 0.0, 1.0, dims="developer")
        developer = group_mean[data.group_of_developer] + sigma_dev * z_dev
        offsets = pm.Normal("period_offset", 0.0, 1.0, shape=len(data.coords["period"]) - 1)
        period = pt.concatenate([pt.zeros(1), offsets])
        sigma_model = pm.HalfNormal("sigma_model", 1.0)
        z_model = pm.Normal("model_z", 0.0, 1.0, dims="model")
        eta = alpha + beta * data.x_c + period[data.period_idx] + developer[data.developer_idx] + sigma_model * z_model
        floor = CHANCE_FLOOR[data.outcome]
        pm.Binomial("k", n=data.n_trials, p=floor + (1 - floor) * pm.math.invlogit(eta), observed=data.successes,
                    dims="model")
    return model


def bambi_fit(data: ModelData, settings: SamplerSettings):
    """The closest bambi model a user would write: logit-normal outcome, cohort fixed effects,
    group and developer random intercepts, sampled with bambi's default (PyMC's NUTS)."""
    import bambi as bmb

    frame = pd.DataFrame({
        "y": data.logit_score, "x_c": data.x_c,
        "period": np.asarray(data.coords["period"])[data.period_idx],
        "developer": np.asarray(data.coords["developer"])[data.developer_idx],
        "group": np.asarray(data.coords["group"])[data.group_of_developer[data.developer_idx]],
    })
    model = bmb.Model("y ~ x_c + period + (1|group) + (1|developer)", frame)
    start = time.perf_counter()
    tree = model.fit(draws=settings.draws, tune=settings.tune, chains=settings.chains, cores=2,
                     random_seed=settings.seed, progressbar=False)
    return tree, time.perf_counter() - start


def run_once(name: str, fit: Callable[[], tuple]) -> dict:
    """One fit of one row, with the numbers the table needs."""
    tree, compile_s, sample_s = fit()
    diag = diagnose(tree)
    wall = compile_s + sample_s
    print(f"  {name}: wall {wall:.1f} s, min ESS {diag['min_ess_bulk']:.0f}, div {diag['divergences']}, "
          f"R-hat {diag['max_rhat']:.3f}", flush=True)
    return {"row": name, "compile_s": compile_s, "sample_s": sample_s, "wall_s": wall,
            "min_ess_bulk": diag["min_ess_bulk"], "min_ess_tail": diag["min_ess_tail"],
            "ess_per_s": diag["min_ess_bulk"] / wall, "divergences": diag["divergences"],
            "max_rhat": diag["max_rhat"], "slowest": diag["slowest_parameter"], "passed": diag["passed"]}


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
    parser.add_argument("--only", default="nutpie,pymc,numpyro,bambi,naive")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)

    spec = load_spec(DEFAULT_SPEC)
    data, _ = prepare(spec, load(filters=spec.data.filters.to_filters()))
    settings = SamplerSettings(draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed, progress=False)

    def ours(sampler: str, build: Callable[[ModelData], pm.Model] = lambda d: build_model(spec, d)):
        def fit():
            tree, timings = run_nuts(build(data), SamplerSettings(**{**settings.__dict__, "sampler": sampler}))
            return tree, timings.compile_s, timings.sample_s
        return fit

    def bambi():
        tree, total = bambi_fit(data, settings)
        sampling = float(tree.posterior.attrs.get("sampling_time", total))
        return tree, total - sampling, sampling

    candidates = {
        "nutpie (default spec)": ("nutpie", ours("nutpie")),
        "pymc NUTS (default spec)": ("pymc", ours("pymc")),
        "numpyro CPU (default spec)": ("numpyro", ours("numpyro")),
        "bambi, logit-normal (pymc NUTS)": ("bambi", bambi),
        "naive parameterisation (nutpie)": ("naive", ours("nutpie", naive_model)),
    }
    wanted = set(args.only.split(","))
    rows = {}
    for row, (key, fit) in candidates.items():
        if key not in wanted:
            continue
        if key in ("numpyro", "bambi") and not _installed(key):
            print(f"skipping {row}: {key} is not installed (`make bench` installs the bench group)")
            continue
        rows[row] = fit
    # Repeats are interleaved across rows so that a drift in machine load hits every row alike.
    runs = []
    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}", flush=True)
        runs += [run_once(row, fit) for row, fit in rows.items()]
    table = summarise(runs)
    reference = "pymc NUTS (default spec)"
    if reference in table.index:
        table["ess_per_s_vs_pymc"] = table["ess_per_s"] / table.loc[reference, "ess_per_s"]
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "samplers.csv")
    machine = f"{platform.processor() or platform.machine()}, {_cores()} cores, Python {platform.python_version()}"
    markdown = table.drop(columns=["passed_all"]).to_markdown(floatfmt=".3g")
    header = (f"Samplers, {args.chains} chains x {args.draws} draws after {args.tune} tuning, seed {args.seed}, "
              f"medians of {args.repeats} repeats; machine: {machine}\n\n")
    (args.out / "samplers.md").write_text(header + markdown + "\n")
    print("\n" + header + markdown)
    (args.out / "samplers.json").write_text(json.dumps({"argv": sys.argv, "machine": machine}, indent=2))
    return 0


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
