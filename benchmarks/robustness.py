"""Robustness of sampling: the diagnostics gate of a spec on the shipped data's subsets, another outcome, and data
sets simulated from the spec's own prior, from another spec's prior and from processes outside the model.

Usage: .venv/bin/python benchmarks/robustness.py [--spec models/hierarchical.toml] [--cases all|NAME ...]
       [--draws D --tune T --chains C] [--seeds 3] [--out benchmarks/results/robustness.csv]

Cases (each fitted by ``fit_spec``, the path every fit takes, with the spec's sampling unless overridden):
- ``shipped``, ``majors_only``, ``leaderboard_only``, ``no_size_estimates``, ``total_tokens_only``: the shipped
  data under the paper's robustness filters; ``math_l5``: the paper's MATH Level 5 check (the outcome swapped);
- ``prior_<k>``: scores simulated from the spec's own prior (as ``calibrate`` does), seed k;
- ``pooling_<k>``: scores simulated from ``models/developer_pooling.toml``'s prior (no families);
- ``outside_<kind>_<k>``: scores from a simple process written here, on the shipped covariates, that the model
  does not restate: ``nofamily`` (no family or fine-tuner effects at all, developer effects correlated with
  compute, failed evaluations), ``family`` (normal family effects, fine-tuner effects, damaged fine-tunes and
  failures), ``tdist`` (heavy-tailed model effects, small developer spread).
For simulated cases the table also says whether the 90% interval of ``beta`` holds the true slope.
One row per case is printed as it finishes and the table is written to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.filters import Filters
from bayes_sauce.data.load import load
from bayes_sauce.fit import centring
from bayes_sauce.fit.fit import fit_spec
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import PROJECT_ROOT
from bayes_sauce.scale import scale_of
from bayes_sauce.spec.schema import Spec, load_spec, merge, spec_from_dict

FILTER_CASES = ("shipped", "majors_only", "leaderboard_only", "no_size_estimates", "total_tokens_only")
OUTSIDE_KINDS = ("nofamily", "family", "tdist")


@dataclass(frozen=True)
class Case:
    name: str
    spec: Spec
    dataset: Dataset
    true_beta: float | None = None


def _with_scores(dataset: Dataset, outcome: str, score: np.ndarray) -> Dataset:
    scale = scale_of(outcome)
    models = dataset.models.assign(**{outcome: score, f"{outcome}_norm": scale.normalised(score)})
    return Dataset(models=models, excluded=dataset.excluded, source=f"{dataset.source} (simulated)",
                   sha256=f"simulated-{hash(score.tobytes()) & 0xFFFFFFFF:08x}")


def _observed(scale, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An observed accuracy: binomial answers at the model's expected accuracy."""
    p = scale.accuracy(eta)
    return rng.binomial(scale.n_questions, p) / scale.n_questions


def outside_process(kind: str, rows: pd.DataFrame, outcome: str, seed: int) -> tuple[np.ndarray, float]:
    """Scores from a process outside the model, on the rows' covariates; returns the scores and the true slope."""
    rng = np.random.default_rng([seed, OUTSIDE_KINDS.index(kind)])
    scale = scale_of(outcome)
    x = rows["log10_flops"].to_numpy(float) - rows["log10_flops"].mean()
    beta = rng.uniform(0.4, 1.0)
    period = pd.Categorical(rows["cohort"]).codes
    period_effect = np.cumsum(rng.normal(0.3, 0.2, period.max() + 1))
    developer = pd.Categorical(rows["developer"]).codes
    dev_x = pd.Series(x).groupby(developer).mean().to_numpy()
    dev_sd = 0.15 if kind == "tdist" else 0.5
    dev_effect = 0.3 * (dev_x - dev_x.mean()) + rng.normal(0, dev_sd, len(dev_x))  # correlated with compute
    eta = -0.5 + beta * x + period_effect[period] + dev_effect[developer]
    finetune = ~rows["is_root"].astype(bool).to_numpy()
    if kind == "family":
        family = pd.Categorical(rows["family"]).codes
        eta = eta + rng.normal(0, 0.5, family.max() + 1)[family]
        tuner = pd.Categorical(rows["developer"]).codes
        eta = eta + finetune * rng.normal(0, 0.15, tuner.max() + 1)[tuner]
        damaged = finetune & (rng.uniform(size=len(eta)) < 0.1)
        eta = eta - damaged * rng.gamma(4, 0.25, len(eta))
    if kind == "tdist":
        eta = eta + 0.2 * rng.standard_t(3, len(eta))
    else:
        eta = eta + rng.normal(0, 0.1, len(eta))
    failed = finetune & (rng.uniform(size=len(eta)) < 0.04)
    eta = np.where(failed, rng.normal(-4.5, 0.75, len(eta)), eta)
    return _observed(scale, eta, rng), beta


def _prior_case(name: str, simulator: Spec, fitter: Spec, dataset: Dataset, seed: int) -> Case:
    from bayes_sauce.calibration.simulate import simulate_prior

    design, kept = prepare(simulator, dataset)
    sim = simulate_prior(simulator, design, [seed], seed=20260207)[0]
    truth = float(sim.params["beta"].values.ravel()[0]) if "beta" in sim.params else None
    return Case(name, fitter, _with_scores(kept, simulator.data.outcome, sim.score), truth)


def cases(spec: Spec, names: list[str], seeds: int) -> list[Case]:
    """The cases asked for, built lazily in order (each is a spec and a dataset)."""
    pooling = load_spec(PROJECT_ROOT / "models" / "developer_pooling.toml")
    shipped = load(None, spec.data.filters.to_filters())
    makers: dict[str, Callable[[], Case]] = {}
    for name in FILTER_CASES:
        filters = spec.data.filters.model_copy(update={name: True}) if name != "shipped" else spec.data.filters
        fitter = spec_from_dict(merge(spec.to_dict(), {"data": {"filters": filters.model_dump()}}))
        makers[name] = lambda f=fitter, n=name: Case(n, f, load(None, f.data.filters.to_filters()))
    math = spec_from_dict(merge(spec.to_dict(), {"data": {"outcome": "math_l5"}}))
    makers["math_l5"] = lambda: Case("math_l5", math, load(None, math.data.filters.to_filters()))
    for k in range(seeds):
        makers[f"prior_{k}"] = lambda k=k: _prior_case(f"prior_{k}", spec, spec, shipped, k)
        makers[f"pooling_{k}"] = lambda k=k: _prior_case(f"pooling_{k}", pooling.with_sampling(**spec.sampling.model_dump()),
                                                         spec, shipped, k)
        for kind in OUTSIDE_KINDS:
            def outside(kind=kind, k=k) -> Case:
                score, beta = outside_process(kind, shipped.models, spec.data.outcome, k)
                return Case(f"outside_{kind}_{k}", spec, _with_scores(shipped, spec.data.outcome, score), beta)
            makers[f"outside_{kind}_{k}"] = outside
    wanted = list(makers) if names == ["all"] else names
    unknown = [n for n in wanted if n not in makers]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; choose from {list(makers)}")
    return [makers[n] for n in wanted], wanted


def run_case(case: Case) -> dict:
    start = time.perf_counter()
    fit = fit_spec(case.spec, case.dataset, progress=False, extras=False)
    d = fit.diagnostics
    row = {"case": case.name, "models": len(fit.rows), "passed": d["passed"], "max_rhat": d["max_rhat"],
           "min_ess_bulk": d["min_ess_bulk"], "min_ess_tail": d["min_ess_tail"], "divergences": d["divergences"],
           "min_bfmi": d["min_bfmi"], "slowest": d["slowest_parameter"],
           "compile_s": fit.timings.compile_s, "sample_s": fit.timings.sample_s,
           "wall_s": time.perf_counter() - start, "fallback": d.get("fallback", ""),
           "parameterisation": centring.describe(fit.design.centring)}
    if case.true_beta is not None:
        lo, hi = np.quantile(fit.posterior["beta"].values, [0.05, 0.95])
        row.update(true_beta=case.true_beta, beta_lo=lo, beta_hi=hi, beta_covered=bool(lo <= case.true_beta <= hi))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(PROJECT_ROOT / "models" / "hierarchical.toml"))
    parser.add_argument("--cases", nargs="+", default=["all"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--draws", type=int)
    parser.add_argument("--tune", type=int)
    parser.add_argument("--chains", type=int)
    parser.add_argument("--out", default=str(PROJECT_ROOT / "benchmarks" / "results" / "robustness.csv"))
    args = parser.parse_args(argv)
    spec = load_spec(args.spec).with_sampling(draws=args.draws, tune=args.tune, chains=args.chains)
    makers, names = cases(spec, args.cases, args.seeds)
    rows = []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name, make in zip(names, makers):
        row = run_case(make())
        row["case"] = name
        rows.append(row)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        pd.DataFrame(rows).to_csv(out, index=False)
    table = pd.DataFrame(rows)
    print(table.drop(columns=["parameterisation", "fallback"]).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"passed {int(table['passed'].sum())} of {len(table)}; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
