"""The sensitivity commands: sensitivity (a sweep of variants on Dask) and psense (power-scaling of one fit)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from bayes_sauce.cli import options
from bayes_sauce.paths import RESULTS_DIR


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Fit every variant of a sweep (cached, in parallel on Dask), then tabulate and plot their headline numbers."""
    from bayes_sauce.reporting.sweep import terminal_summary, write_outputs
    from bayes_sauce.sensitivity.sweep import run_sweep
    from bayes_sauce.spec.sweep import read_sweep

    overrides = {"draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": args.seed}
    filters = options.filter_overrides(args)
    sweep = read_sweep(args.sweep, {k: v for k, v in overrides.items() if v is not None}, filters or None)
    if filters:
        print(f"Filters from the command line, over the base spec's and before each variant's own: "
              f"{', '.join(f'{k}={v}' for k, v in filters.items())}")
    result = run_sweep(sweep, args.data, args.out or RESULTS_DIR / "sensitivity" / sweep.name, args.scheduler,
                       args.workers)
    names = options.write_set(result.out, lambda staging: [p.name for p in write_outputs(replace(result, out=staging))],
                              drop={"sensitivity.png"})  # one of an earlier run goes when this one draws none
    paths = [result.out / name for name in names]
    print()
    print(terminal_summary(result))
    print("\n" + options.wrote(paths))
    bad = result.variants[result.variants["status"] != "passed"]
    if len(bad):
        print(f"WARNING: {len(bad)} variant(s) failed: {', '.join(bad['variant'])}; see {result.out}/sensitivity.md",
              file=sys.stderr)
        return 0 if args.allow_failed else 3
    return 0


def cmd_psense(args: argparse.Namespace) -> int:
    """Power-scaling sensitivity of a fit: which parameters and headline quantities move when priors or likelihood are scaled."""
    from bayes_sauce.fit.fit import Fit
    from bayes_sauce.quantities import posterior
    from bayes_sauce.reporting.psense import psense_markdown
    from bayes_sauce.sensitivity.psense import PSENSE_THRESHOLD, psense_table

    fit = Fit.load(args.dir)
    print(fit.gate_status())
    fit.require_passed(args.allow_failed)
    threshold = PSENSE_THRESHOLD if args.threshold is None else args.threshold
    table = psense_table(fit, posterior.quantities(fit), threshold)
    options.write_set(fit.path, lambda staging: table.to_csv(staging / "psense.csv", index=False) or ["psense.csv"])
    print(psense_markdown(table, threshold))
    print("\n" + options.wrote([fit.path / "psense.csv"]))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The sensitivity commands' parsers."""
    p = sub.add_parser("sensitivity", help="prior and model sensitivity: fit a sweep's variants on Dask; one table, one figure",
                       description=cmd_sensitivity.__doc__)
    p.add_argument("sweep", type=Path, help="sweep file, e.g. models/sensitivity/default.toml (format: see that file)")
    options.add_data(p)
    options.add_filters(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/sensitivity/<sweep name>)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler, e.g. tcp://host:8786 (default: a local cluster); its workers need "
                        "this package installed and the data file and output folder on a shared filesystem")
    p.add_argument("--workers", type=options.count, default=None, metavar="N",
                   help="local cluster size (default: one worker per core, at most one per variant to fit)")
    options.add_sampler(p)
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("psense", help="power-scaling prior/likelihood sensitivity of a fit (ArviZ psense)",
                       description=cmd_psense.__doc__)
    p.add_argument("dir", nargs="?", type=Path, default=RESULTS_DIR / "hierarchical",
                   help="fit folder written by `bayes-sauce fit` (default: %(default)s)")
    p.add_argument("--threshold", type=options.positive, default=None,
                   help="flag prior sensitivity at or above this value, a positive number (default: 0.05)")
    options.add_allow_failed(p)
    p.set_defaults(func=cmd_psense)
