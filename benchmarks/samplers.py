"""Sampler benchmark: the default (family) spec and the previous default (developer_pooling) on the shipped
models with each NUTS implementation, measured side by side in one run.

Usage: .venv/bin/python benchmarks/samplers.py [--repeats 3] [--draws 1000 --tune 1000 --chains 4]
       [--only nutpie,nutpie_dev,pymc,numpyro,stan,fit] [--out benchmarks/results] [--stan-first-compile]
Each row: compile and sampling seconds, min bulk/tail ESS over every varying posterior quantity the gate
checks (free variables and stored deterministics, as in ``fit_spec``), ESS per second of compile + sampling
and of sampling alone, divergences, max R-hat; medians over repeats (rows interleaved per repeat), and each
row's ESS/s as a ratio to PyMC's own NUTS on the same spec measured in the same run. numpyro and pystan are in
the ``bench`` dependency group (``make bench``); without one its row is skipped with a printed reason.

The ``stan`` row samples ``benchmarks/stan/hierarchical.stan``, the default spec as a Stan program (same rows,
parameterisation and priors, partially centred with the weights of a nutpie pilot run once before the repeats; see
``benchmarks/stan/stan_data.py``), with pystan: compile_s is a build that reuses
httpstan's cached compiled model, ``--stan-first-compile`` also times one build from an empty cache
(stan_first_compile_s). The stored deterministics are computed from Stan's draws by the PyMC model, so min ESS is
over the same quantities as the other rows. The ``fit`` row is the whole ``bayes-sauce fit`` in a fresh process
(wall seconds: imports, data, compile, sampling, deterministics, gate, save) with the same sampler settings.
With both nutpie and stan the run also prints the two posteriors side by side, the log densities of the two
programs at random points, and the ratios of the Stan target: fit ESS/s vs Stan's sampling ESS/s (>= 3) and
nutpie's sampling ESS/s vs Stan's (>= 6).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_sauce.data.load import load
from bayes_sauce.fit.diagnostics import diagnose
from bayes_sauce.fit.sampling import Timings, compile_nutpie, run_nuts, sampler_available
from bayes_sauce.fit.sampling import pilot_weights
from bayes_sauce.model.build import DERIVED, build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.spec.schema import Spec, load_spec

warnings.filterwarnings("ignore")
PREVIOUS_SPEC = MODELS_DIR / "developer_pooling.toml"
sys.path.insert(0, str(Path(__file__).resolve().parent / "stan"))  # stan_data (not a package: pystan is `stan`)
# The default spec's main scalars, compared between the nutpie and the Stan posteriors.
SCALARS = ("alpha", "beta", "beta_within", "mundlak", "sigma_developer", "sigma_family", "family_skew",
           "sigma_finetuner", "accuracy_noise", "damaged_share", "damaged_shift", "sigma_damaged", "failure_rate",
           "protocol_offset", "nu_developer", "intercept")


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


def stan_fitter(spec: Spec, first_compile: bool, cores: int) -> tuple[Callable[[], tuple], dict]:
    """A function that builds (from httpstan's cache) and samples hierarchical.stan on the spec's rows with pystan,
    partially centred with the weights a fit's nutpie pilot chooses (one pilot here, before any repeat: pilot_s); its
    posterior carries the PyMC free variables and the stored deterministics computed from them. With
    ``first_compile`` one build from an empty cache is timed first. Returns the function and setup facts."""
    import httpstan.cache
    import httpstan.models
    import stan
    from stan_data import PROGRAM, stan_data, to_tree

    design, _ = prepare(spec, load(filters=spec.data.filters.to_filters()))
    start = time.perf_counter()
    model = build_model(spec, design)
    design = replace(design, centring=pilot_weights(model, compile_nutpie(model), spec.sampling, cores))
    facts = {"stan_workers": os.cpu_count(),  # httpstan runs chains on a process pool of os.cpu_count() workers
             "pilot_s": time.perf_counter() - start}
    data, code, s = stan_data(spec, design), PROGRAM.read_text(), spec.sampling
    if first_compile:
        httpstan.cache.delete_model_directory(httpstan.models.calculate_model_name(code))
        start = time.perf_counter()
        stan.build(code, data=data, random_seed=s.seed)
        facts["stan_first_compile_s"] = time.perf_counter() - start
        print(f"  stan: first compile (empty cache) {facts['stan_first_compile_s']:.1f} s", flush=True)

    def fit():
        timings = Timings()
        start = time.perf_counter()
        posterior = stan.build(code, data=data, random_seed=s.seed)
        timings.compile_s = time.perf_counter() - start
        # httpstan also caches fits (same model, data, seed and settings: the stored draws come back in seconds);
        # drop them so that every repeat samples.
        for cached in httpstan.cache.model_directory(posterior.model_name).rglob("*.jsonlines.gz"):
            cached.unlink()
        start = time.perf_counter()
        result = posterior.sample(num_chains=s.chains, num_samples=s.draws, num_warmup=s.tune,
                                  delta=s.target_accept)
        timings.sample_s = time.perf_counter() - start
        start = time.perf_counter()
        model = build_model(spec, design)
        stored = [d.name for d in model.deterministics if d.name not in DERIVED]
        tree = to_tree(result, model)
        import pymc as pm
        pm.compute_deterministics(tree["posterior"], model=model, var_names=stored, extend_dataset=True,
                                  progressbar=False)
        timings.extras_s = time.perf_counter() - start
        fit.posterior, fit.model = posterior, model  # for the log-density check
        return tree, timings
    return fit, facts


def cli_fitter(spec: Spec, args: argparse.Namespace) -> Callable[[], tuple]:
    """The whole ``bayes-sauce fit`` of the default spec in a fresh process, with the benchmark's sampler settings;
    its wall time is the compile_s + sample_s of the row (sample_s alone: the fit's own sampling seconds)."""
    exe = Path(sys.executable).with_name("bayes-sauce")

    def fit():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "fit"
            command = [str(exe), "fit", str(DEFAULT_SPEC), "--out", str(out), "--draws", str(args.draws),
                       "--tune", str(args.tune), "--chains", str(args.chains), "--seed", str(args.seed),
                       "--no-progress", "--allow-failed"]
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, text=True)
            wall = time.perf_counter() - start
            diag = json.loads((out / "diagnostics.json").read_text())
        t = diag["timings"]
        return diag, Timings(compile_s=wall - t["sample_s"], sample_s=t["sample_s"], extras_s=t["extras_s"])
    return fit


def run_once(name: str, fit: Callable[[], tuple]) -> dict:
    """One fit of one row, with the numbers the table needs."""
    tree, t = fit()
    diag = tree if isinstance(tree, dict) else diagnose(tree)  # the fit row brings its own gate
    wall = t.compile_s + t.sample_s
    print(f"  {name}: compile {t.compile_s:.1f} s, sample {t.sample_s:.1f} s, min ESS {diag['min_ess_bulk']:.0f}, "
          f"div {diag['divergences']}, R-hat {diag['max_rhat']:.3f}", flush=True)
    return {"row": name, "compile_s": t.compile_s, "sample_s": t.sample_s, "deterministics_s": t.extras_s,
            "wall_s": wall, "min_ess_bulk": diag["min_ess_bulk"], "min_ess_tail": diag["min_ess_tail"],
            "ess_per_s": diag["min_ess_bulk"] / wall, "ess_per_sample_s": diag["min_ess_bulk"] / t.sample_s,
            "divergences": diag["divergences"], "max_rhat": diag["max_rhat"], "slowest": diag["slowest_parameter"],
            "passed": diag["passed"], "tree": None if isinstance(tree, dict) else tree}


def summarise(runs: list[dict]) -> pd.DataFrame:
    """Medians per row over repeats; the most frequent slowest parameter; whether every repeat passed."""
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "tree"} for r in runs])
    table = frame.groupby("row", sort=False).median(numeric_only=True).drop(columns="passed")
    table["slowest"] = frame.groupby("row", sort=False)["slowest"].agg(lambda s: s.mode().iloc[0])
    table["passed_all"] = frame.groupby("row", sort=False)["passed"].all()
    return table


def _interval(values: np.ndarray) -> tuple[float, float, float, float]:
    return float(values.mean()), float(values.std()), *np.quantile(values, [0.05, 0.95])


def compare_posteriors(a, b, names: tuple[str, ...] = SCALARS) -> tuple[pd.DataFrame, dict]:
    """Posterior mean, SD and 90% interval of the main scalars from two fits side by side; ``diff_sd`` is the
    difference of the means in units of the first's posterior SD. Also the largest such difference over every
    varying quantity both posteriors hold (free variables and stored deterministics)."""
    rows = {}
    for name in names:
        if name not in a.posterior or name not in b.posterior:
            continue
        (ma, sa, la, ha), (mb, sb, lb, hb) = (_interval(t.posterior[name].values.ravel()) for t in (a, b))
        rows[name] = {"nutpie mean": ma, "nutpie 90%": f"{la:.3g} .. {ha:.3g}", "stan mean": mb,
                      "stan 90%": f"{lb:.3g} .. {hb:.3g}", "nutpie sd": sa, "stan sd": sb, "diff_sd": (mb - ma) / sa}
    worst = {"quantity": None, "diff_sd": 0.0, "n": 0}
    for name in a.posterior.data_vars:
        if name not in b.posterior:
            continue
        xa, xb = (t.posterior[name].values for t in (a, b))
        xa, xb = xa.reshape(xa.shape[0] * xa.shape[1], -1), xb.reshape(xb.shape[0] * xb.shape[1], -1)
        sd = xa.std(axis=0)
        ok = sd > 0
        z = np.abs(xb.mean(axis=0)[ok] - xa.mean(axis=0)[ok]) / sd[ok]
        worst["n"] += int(ok.sum())
        if len(z) and z.max() > worst["diff_sd"]:
            worst.update(quantity=f"{name}[{int(np.flatnonzero(ok)[z.argmax()])}]", diff_sd=float(z.max()))
    return pd.DataFrame(rows).T, worst


def logp_points(model, n: int, seed: int) -> list[dict]:
    """Random points (constrained values of every free variable) for the log-density check."""
    rng = np.random.default_rng(seed)
    start, points = model.initial_point(), []
    for _ in range(n):
        values = {}
        for rv in model.free_RVs:
            x = rng.normal(0, 0.7, start[model.rvs_to_values[rv].name].shape)
            kind = type(model.rvs_to_transforms.get(rv)).__name__
            values[rv.name] = (np.exp(np.log(0.01) + 0.5 * x) if rv.name == "accuracy_noise" else np.exp(x)
                               if kind == "LogTransform" else 1 / (1 + np.exp(2 - x)) if kind == "LogOddsTransform"
                               else x)
        points.append(values)
    return points


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20260207)
    parser.add_argument("--cores", type=int, default=2, help="chains run in parallel (default 2, as `fit`)")
    parser.add_argument("--only", default="nutpie,nutpie_dev,pymc,numpyro,stan,fit")
    parser.add_argument("--stan-first-compile", action="store_true",
                        help="also time one Stan build from an empty httpstan cache (minutes)")
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
        "stan (pystan, default spec: families)": ("stan", family, "stan"),
        "bayes-sauce fit (whole command, nutpie)": ("fit", family, "nutpie"),
    }
    wanted = set(args.only.split(","))
    rows, facts = {}, {}
    for row, (key, spec, sampler) in candidates.items():
        if key not in wanted:
            continue
        if not (sampler_available("httpstan") if sampler == "stan" else sampler_available(sampler)):
            print(f"skipping {row}: {'pystan' if sampler == 'stan' else sampler} is not installed "
                  f"(`make bench` installs the bench group)")
            continue
        if key == "stan":
            rows[row], facts = stan_fitter(spec, args.stan_first_compile, args.cores)
        elif key == "fit":
            rows[row] = cli_fitter(spec, args)
        else:
            rows[row] = fitter(spec, sampler, args.cores)
    if not rows:
        print("no row to run")
        return 0
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
    stan_row, nutpie_row, fit_row = (next((r for r in table.index if r.startswith(p)), None)
                                     for p in ("stan", "nutpie (default", "bayes-sauce fit"))
    extra = ""
    if stan_row:
        stan_rate = table.loc[stan_row, "ess_per_sample_s"]
        table["ess_per_s_vs_stan_sampling"] = table["ess_per_s"] / stan_rate  # whole row (compile + sampling)
        table["ess_per_sample_s_vs_stan_sampling"] = table["ess_per_sample_s"] / stan_rate
        lines = [f"Stan: {facts.get('stan_workers')} chains at a time (httpstan's process pool); first compile "
                 f"(empty cache) {facts['stan_first_compile_s']:.1f} s" if "stan_first_compile_s" in facts else
                 f"Stan: {facts.get('stan_workers')} chains at a time (httpstan's process pool); first compile not "
                 f"timed in this run (--stan-first-compile)"]
        if fit_row:
            r = table.loc[fit_row, "ess_per_s"] / stan_rate
            lines.append(f"target 1: whole `bayes-sauce fit` ESS/s vs Stan sampling ESS/s = {r:.2f}x (>= 3: "
                         f"{'met' if r >= 3 else 'missed'})")
        if nutpie_row:
            r = table.loc[nutpie_row, "ess_per_sample_s"] / stan_rate
            lines.append(f"target 2: nutpie sampling ESS/s vs Stan sampling ESS/s = {r:.2f}x (>= 6: "
                         f"{'met' if r >= 6 else 'missed'})")
        last = {r["row"]: r["tree"] for r in runs}
        if nutpie_row:
            comparison, worst = compare_posteriors(last[nutpie_row], last[stan_row])
            comparison.to_csv(args.out / "stan_vs_nutpie.csv")
            lines.append("\nPosteriors, nutpie vs Stan (last repeat; diff_sd = (Stan mean - nutpie mean) / nutpie SD):"
                         "\n\n" + comparison.to_markdown(floatfmt=".3g") +
                         f"\n\nLargest |diff_sd| over all {worst['n']} varying quantities: {worst['diff_sd']:.2f} "
                         f"({worst['quantity']})")
        fit = rows[stan_row]
        if getattr(fit, "posterior", None) is not None:
            from stan_data import logp_check
            diffs = logp_check(fit.posterior, fit.model, logp_points(fit.model, 6, args.seed))
            lines.append("Log density (no Jacobians) at 6 random points minus the first point's, PyMC vs Stan: "
                         + "; ".join(f"{p:.6g} / {q:.6g}" for p, q in diffs[1:])
                         + f" (max abs difference {np.abs(diffs[:, 0] - diffs[:, 1]).max():.2g})")
        extra = "\n\n" + "\n".join(lines)
    table.to_csv(args.out / "samplers.csv")
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"
    markdown = table.to_markdown(floatfmt=".3g")
    header = (f"Samplers, {args.chains} chains x {args.draws} draws after {args.tune} tuning on {args.cores} cores, "
              f"seed {args.seed}, medians of {args.repeats} repeats (passed_all: every repeat passed the gate); "
              f"machine: {machine}\n\n")
    (args.out / "samplers.md").write_text(header + markdown + extra + "\n")
    print("\n" + header + markdown + extra)
    (args.out / "samplers.json").write_text(json.dumps({"argv": sys.argv, "machine": machine, "facts": facts,
                                                         "runs": [{k: v for k, v in r.items() if k != "tree"}
                                                                  for r in runs]}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
