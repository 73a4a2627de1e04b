"""`bayes-sauce calibrate`: simulation-based calibration and interval coverage of a spec, on Dask."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from bayes_sauce.cli import options
from bayes_sauce.paths import DEFAULT_SPEC, RESULTS_DIR

DEFAULT_DATASETS = 100


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Simulate data sets from a spec's own model on the real covariates (parameters from the prior, or from a
    fit's posterior), fit each, and check that the truth's ranks among the posterior draws are uniform and the
    50% and 90% intervals cover it as often as they claim."""
    from bayes_sauce.calibration.runner import run_calibration
    from bayes_sauce.data.load import load
    from bayes_sauce.fit.fit import Fit
    from bayes_sauce.fit.workflow import bayes_spec
    from bayes_sauce.model.design import prepare
    from bayes_sauce.reporting.calibration import write_outputs

    sampling = options.sampler_settings(args)
    posterior = Fit.load(args.from_posterior) if args.from_posterior else None
    if posterior is not None:
        spec = posterior.spec.with_sampling(**sampling) if args.spec is None else bayes_spec(args.spec, None,
                                                                                            "calibrate", **sampling)
        rows = posterior.rows
        print(f"Parameters from the posterior of {posterior.path} ({posterior.gate_status().split(': ', 1)[1]})")
    else:
        spec = options.with_filter_flags(args, bayes_spec(args.spec or DEFAULT_SPEC, None, "calibrate", **sampling))
        rows = prepare(spec, load(args.data, spec.data.filters.to_filters()))[0].models
    simulator = bayes_spec(args.simulate_with, None, "calibrate") if args.simulate_with else None
    s = spec.sampling
    print(f"Calibrating spec '{spec.name}' with {s.sampler}: {s.chains} chains x {s.draws} draws after {s.tune} "
          f"tuning steps per data set" + (f"; data simulated by '{simulator.name}'" if simulator else ""))
    out = args.out or RESULTS_DIR / "calibrate" / spec.name
    result = run_calibration(spec, rows, args.datasets, s.seed, out, simulator=simulator, posterior=posterior,
                             scheduler=args.scheduler, workers=args.workers, replace=args.replace)
    names = options.write_set(result.out, lambda staging: [p.name for p in write_outputs(replace(result, out=staging),
                                                                                        spec.name)],
                              drop={"coverage.csv", "calibration.png"})  # an earlier run's go when this one has none
    paths = [result.out / name for name in names]
    print(f"\nWall time {result.wall_s:.0f} s for {len(result.fitted)} data sets fitted in this run")
    print(options.wrote(paths))
    errors = result.datasets[result.datasets["status"] == "error"]
    if len(errors):
        print(f"WARNING: {len(errors)} data set(s) failed to fit: {', '.join(map(str, errors['dataset']))}; "
              f"see {result.out}/datasets.csv", file=sys.stderr)
    if (result.out / "coverage.csv").exists():
        import pandas as pd

        coverage = pd.read_csv(result.out / "coverage.csv")
        bad = coverage[~coverage["calibrated"].astype(bool)]
        if len(bad):
            print(f"WARNING: NOT CALIBRATED ({len(bad)} of {len(coverage)}): {', '.join(bad['quantity'])}; see "
                  f"{result.out}/calibration.md", file=sys.stderr)
        else:
            print(f"All {len(coverage)} quantities calibrated (see {result.out}/calibration.md)")
    return 0 if len(errors) < len(result.datasets) else 3


def register(sub: argparse._SubParsersAction) -> None:
    """The calibrate command's parser."""
    p = sub.add_parser("calibrate", help="simulation-based calibration and interval coverage of a spec, on Dask",
                       description=cmd_calibrate.__doc__)
    p.add_argument("spec", nargs="?", type=Path, default=None,
                   help=f"model spec TOML (default: {DEFAULT_SPEC}, or the spec of --from-posterior's fit)")
    p.add_argument("--datasets", type=options.count, default=DEFAULT_DATASETS, metavar="N",
                   help="number of simulated data sets (default: %(default)s)")
    p.add_argument("--from-posterior", type=Path, default=None, metavar="FIT",
                   help="draw the parameters from this fit folder's posterior (on its rows) instead of the prior")
    p.add_argument("--simulate-with", type=Path, default=None, metavar="SPEC",
                   help="simulate with another spec's model (a deliberate misfit; default: the fitted spec itself)")
    options.add_data(p)
    options.add_filters(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/calibrate/<spec name>)")
    p.add_argument("--replace", action="store_true", help="discard cached data sets made with other settings")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler, e.g. tcp://host:8786 (default: a local cluster); its workers need "
                        "this package installed and the output folder on a shared filesystem")
    p.add_argument("--workers", type=options.count, default=None, metavar="N",
                   help="local cluster size (default: one worker per core, at most one per data set to fit)")
    options.add_sampler(p, allow_failed=False)
    p.set_defaults(func=cmd_calibrate)
