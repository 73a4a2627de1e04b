"""Mass-matrix adaptation benchmark: nutpie's diagonal adaptation (what `fit` uses) against its low-rank modified
one (``adaptation="low_rank"``), and the draws the gate needs, on the default spec and the shipped rows, measured
side by side in one run.

Usage: .venv/bin/python benchmarks/mass_matrix.py [--repeats 3] [--rows diag:1500 low_rank:1500 diag:1000:500]
       [--chains 4] [--spec models/hierarchical.toml] [--out benchmarks/results/mass_matrix.md]
One compile and one pilot (the centring weights) before the repeats, so every row samples the same model; rows
are interleaved per repeat, and repeat r samples with the spec's seed + r (so the repeats are also a check of the
gate over sampling seeds). Each row: sampling seconds, leapfrog steps per draw (tuning excluded), min bulk/tail ESS
over every quantity the gate checks, ESS per second of sampling, divergences, max R-hat, the gate's verdict;
medians over repeats, and each row's sampling time and bulk ESS/s as ratios to the first row's; the table is printed
and written to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm

from bayes_sauce.data.load import load
from bayes_sauce.fit import centring
from bayes_sauce.fit.diagnostics import diagnose
from bayes_sauce.fit.sampling import compile_nutpie, nutpie_draws, pilot_weights
from bayes_sauce.model.build import DERIVED, build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC, PROJECT_ROOT
from bayes_sauce.spec.schema import load_spec

warnings.filterwarnings("ignore")


def row(text: str) -> tuple[str, int, int | None]:
    """ADAPTATION:DRAWS[:TUNE] as (adaptation, draws, tuning steps or None)."""
    adaptation, *numbers = text.split(":")
    if adaptation not in ("diag", "low_rank", "draw_diag") or len(numbers) not in (1, 2) or not all(
            n.isdigit() and int(n) > 0 for n in numbers):
        raise argparse.ArgumentTypeError(f"{text!r}: expected ADAPTATION:DRAWS[:TUNE], adaptation diag, low_rank or "
                                         "draw_diag, positive whole numbers")
    return adaptation, int(numbers[0]), int(numbers[1]) if len(numbers) == 2 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(DEFAULT_SPEC))
    parser.add_argument("--rows", nargs="+", type=row,
                        default=[row(text) for text in ("diag:1500", "low_rank:1500", "diag:1000:500")],
                        help="ADAPTATION:DRAWS[:TUNE] per row (adaptation: nutpie's diag | low_rank | draw_diag; "
                             "tuning steps: the spec's unless given)")
    parser.add_argument("--chains", type=int, default=None, help="chains (default: the spec's)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "mass_matrix.md")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    sampling = spec.sampling if args.chains is None else spec.sampling.model_copy(update={"chains": args.chains})
    design, _ = prepare(spec, load(filters=spec.data.filters.to_filters()))
    model = build_model(spec, design)
    stored = [d.name for d in model.deterministics if d.name not in DERIVED]
    start = time.perf_counter()
    compiled = compile_nutpie(model)
    weights = pilot_weights(model, compiled, sampling, args.cores)
    compiled = compiled.with_data(**centring.set_weights(model, weights))
    print(f"{spec.name}: {len(design.models)} models, {compiled.n_dim} parameters; compile and pilot "
          f"{time.perf_counter() - start:.1f} s; {sampling.chains} chains, {args.cores} cores, seed {sampling.seed}",
          flush=True)
    records = []
    for repeat in range(args.repeats):
        for adaptation, draws, tune in args.rows:
            label = f"{adaptation}:{draws}" + (f":{tune}" if tune else "")
            start = time.perf_counter()
            tree = nutpie_draws(compiled, draws, tune=tune or sampling.tune,
                                chains=sampling.chains, cores=args.cores, seed=sampling.seed + repeat,
                                progress_bar=False, save_warmup=False, target_accept=sampling.target_accept,
                                adaptation=adaptation)
            seconds = time.perf_counter() - start
            pm.compute_deterministics(tree["posterior"], model=model, var_names=stored, extend_dataset=True,
                                      progressbar=False)
            gate = diagnose(tree)
            steps = float(tree["sample_stats"]["n_steps"].mean())
            records.append({"row": label, "repeat": repeat, "sample_s": seconds, "steps_per_draw": steps,
                            "min_ess_bulk": gate["min_ess_bulk"], "min_ess_tail": gate["min_ess_tail"],
                            "ess_bulk_per_s": gate["min_ess_bulk"] / seconds, "divergences": gate["divergences"],
                            "max_rhat": gate["max_rhat"], "passed": gate["passed"]})
            print(f"  repeat {repeat + 1} {label}: {seconds:.1f} s, {steps:.0f} steps per draw, ESS "
                  f"{gate['min_ess_bulk']:.0f}/{gate['min_ess_tail']:.0f}, R-hat {gate['max_rhat']:.3f}, "
                  f"{gate['divergences']} divergences, gate {'passed' if gate['passed'] else 'FAILED'}", flush=True)
    frame = pd.DataFrame(records)
    table = frame.groupby("row", sort=False).agg(
        sample_s=("sample_s", "median"), steps_per_draw=("steps_per_draw", "median"),
        min_ess_bulk=("min_ess_bulk", "median"), min_ess_tail=("min_ess_tail", "median"),
        ess_bulk_per_s=("ess_bulk_per_s", "median"), divergences=("divergences", "max"),
        max_rhat=("max_rhat", "max"), passed=("passed", "sum"))
    first = table.iloc[0]
    table["time_vs_first"] = table["sample_s"] / first["sample_s"]
    table["ess_per_s_vs_first"] = table["ess_bulk_per_s"] / first["ess_bulk_per_s"]
    table["passed"] = table["passed"].astype(int).astype(str) + f" of {args.repeats}"
    text = (f"Medians over {args.repeats} repeats (divergences and R-hat: the worst), {spec.name}, seed "
            f"{sampling.seed} + repeat:\n\n{table.to_markdown(floatfmt='.3g')}\n")
    print("\n" + text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"Written to {args.out}")
    return 0 if np.isfinite(table["sample_s"]).all() else 1


if __name__ == "__main__":
    sys.exit(main())
