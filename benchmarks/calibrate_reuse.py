"""Does reusing one compiled nutpie model across simulated data sets of one shape save time?

Usage: .venv/bin/python benchmarks/calibrate_reuse.py [--datasets 3] [--draws 300 --tune 300 --chains 2]
Simulates data sets from the default spec's prior on the shipped rows and fits each twice on one core:
compiled afresh for every data set, and compiled once then given each data set with ``with_data``
(what ``bayes-sauce calibrate`` does). Prints, per data set and mode, compile, sampling and ranking seconds.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

from bayes_sauce.calibration import fitting, ranks, simulate
from bayes_sauce.data.load import load
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.spec.schema import load_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=int, default=3)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--tune", type=int, default=300)
    parser.add_argument("--chains", type=int, default=2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    spec = load_spec(DEFAULT_SPEC).with_sampling(draws=args.draws, tune=args.tune, chains=args.chains)
    design, _ = prepare(spec, load(filters=spec.data.filters.to_filters()))
    start = time.perf_counter()
    sims = simulate.simulate_prior(spec, design, list(range(args.datasets)), spec.sampling.seed)
    print(f"simulating {args.datasets} data sets: {time.perf_counter() - start:.1f} s")
    rows = []
    for mode in ("compile each", "compile once"):
        for sim in sims:
            if mode == "compile each":
                fitting._COMPILED.clear()
            values = simulate.observed_values(spec, design, sim)
            start = time.perf_counter()
            fitted = fitting.fit_simulation(mode, spec, design, sim, values)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            ranks.rank_table(fitting.truth_fit(mode, spec, design, sim, values), fitted, 0)
            rows.append({"mode": mode, "dataset": sim.index, "compile_s": fitted.timings.compile_s,
                         "sample_s": fitted.timings.sample_s, "extras_s": fitted.timings.extras_s, "fit_s": fit_s,
                         "ranks_s": time.perf_counter() - start, "gate": fitted.passed,
                         "min_ess_bulk": fitted.diagnostics["min_ess_bulk"]})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, floatfmt=".2f"))
    print(table.groupby("mode")[["compile_s", "sample_s", "fit_s", "ranks_s"]].sum().to_markdown(floatfmt=".1f"))


if __name__ == "__main__":
    main()
