"""The analysis commands: data, replicate, fit, check, report and run (all five in a row)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bayes_sauce.cli import options
from bayes_sauce.defaults import NEW_FAMILY_FOLDS
from bayes_sauce.paths import DEFAULT_SPEC, OLS_SPEC, RESULTS_DIR


def cmd_data(args: argparse.Namespace) -> int:
    """Summarise the dataset and its lineage; write the rows, exclusions, a score-vs-compute and a families figure."""
    from bayes_sauce.data.filters import Filters
    from bayes_sauce.data.load import load_with_rows
    from bayes_sauce.data.summary import (
        describe,
        developer_changes,
        developer_changes_text,
        family_summary,
        shipped_developer_groups,
    )
    from bayes_sauce.reporting.data_plots import family_figure, score_vs_compute

    filters = options.filters(args, Filters())
    dataset, rows = load_with_rows(args.data, filters)
    print(f"Rows: {filters.describe()}")
    print(describe(dataset))
    changes = developer_changes(rows, dataset.models, shipped_developer_groups())
    print("\n" + developer_changes_text(changes))
    out = args.out or RESULTS_DIR / "data"
    figure, points = family_figure(dataset.models)

    def write(staging: Path) -> list[str]:
        dataset.models.to_csv(staging / "models.csv", index=False)
        dataset.excluded.to_csv(staging / "excluded.csv", index=False)
        score_vs_compute(dataset.models).savefig(staging / "score_vs_compute.png", dpi=130)
        dataset.models[["model_id", "developer_group", "log10_flops", "mmlu_pro"]].to_csv(
            staging / "score_vs_compute.csv", index=False)
        figure.savefig(staging / "families.png", dpi=130)
        points.to_csv(staging / "families.csv", index=False)
        if len(changes):
            changes.to_csv(staging / "new_developers.csv", index=False)
        return ["models.csv", "excluded.csv", "score_vs_compute.png", "score_vs_compute.csv", "families.png",
                "families.csv", *(["new_developers.csv"] if len(changes) else [])]

    print("\n" + family_summary(dataset.models))
    # written as a set; a new_developers.csv of an earlier run goes when this one has none
    paths = [out / name for name in options.write_set(out, write, drop={"new_developers.csv"})]
    print("\n" + options.wrote(paths))
    return 0


def replicate_to(args: argparse.Namespace, spec_path: Path, out: Path | None, brief: bool = False) -> Path:
    """Run the paper's OLS for one spec, write the contract's files and print the comparison (``brief``: a summary
    of it; the full table is comparison.md); return the folder."""
    from bayes_sauce.data.load import load
    from bayes_sauce.data.paper_numbers import comparable, load_paper_numbers
    from bayes_sauce.replication.ols import replicate
    from bayes_sauce.reporting.replication import comparison_report, replication_summary, write_outputs
    from bayes_sauce.spec.schema import load_spec

    spec = options.with_filter_flags(args, load_spec(spec_path))
    dataset = load(args.data, spec.data.filters.to_filters())
    print(f"Rows: {spec.data.filters.to_filters().describe()}")
    with options.heartbeat("replicating (the cluster bootstrap)", quiet=args.no_progress):
        rep = replicate(spec, dataset, str(spec_path), replicates=args.bootstrap, seed=args.bootstrap_seed,
                        level=args.level, progress=options.progress(args))
    paper = comparable(load_paper_numbers(spec.name), [rep.design.base_period, *rep.design.groups["time"]],
                       spec.data.time)
    out = out or RESULTS_DIR / spec.name
    paths = options.write_set(out, lambda staging: [p.name for p in write_outputs(rep, staging, paper).values()])
    paths = [out / name for name in paths]
    print(replication_summary(rep, paper) if brief else comparison_report(rep, paper))
    print(("" if brief else "\n") + options.wrote(paths))
    return out


def cmd_replicate(args: argparse.Namespace) -> int:
    """The paper's OLS (fixed effects, clustered SEs), Shapley R2 and headline numbers beside the paper's."""
    replicate_to(args, args.spec or OLS_SPEC, args.out)
    return 0


def fit_to(args: argparse.Namespace, spec_path: Path, out: Path | None, reuse: bool = False):
    """Fit a Bayesian spec with the command's filters and sampler options, save it, print the gate; return the fit.

    ``reuse``: keep the fit already in ``out`` where a new one would repeat it (same spec, settings, data, code)."""
    from bayes_sauce.data.load import load
    from bayes_sauce.fit.centring import describe as describe_centring
    from bayes_sauce.fit.diagnostics import gate_table
    from bayes_sauce.fit.fit_store import get_or_fit
    from bayes_sauce.fit.workflow import bayes_spec

    spec = options.with_filter_flags(args, bayes_spec(spec_path, **options.sampler_settings(args)))
    dataset = load(args.data, spec.data.filters.to_filters())
    with options.heartbeat("fitting", quiet=args.no_progress):
        fit = get_or_fit(spec, dataset, out or RESULTS_DIR / spec.name, reuse=reuse, replace=args.replace,
                         echo=print, bar=options.progress(args))
    if fit.reused:
        t = fit.diagnostics.get("timings", {})
        print(f"  (fitted in {t.get('compile_s', 0) + t.get('sample_s', 0):.0f} s of compile and sampling; --refit "
              "fits it again)")
    else:
        t = fit.timings
        print(f"Models fitted: {len(fit.rows)}; excluded: {len(fit.excluded)} (see excluded.csv)")
        print(f"Time: compile {t.compile_s:.1f} s, pilot {t.pilot_s:.1f} s, sampling {t.sample_s:.1f} s, "
              f"deterministics and log densities {t.extras_s:.1f} s")
    print(f"Parameterisation: {describe_centring(fit.design.centring)}")
    print(gate_table(fit.diagnostics))
    if not fit.reused:
        print(options.wrote([fit.path / n for n in ("posterior.nc", "diagnostics.json", "models.csv", "excluded.csv")]))
    if not fit.passed:
        print("WARNING: the fit FAILED the diagnostics gate; its numbers are not reliable.", file=sys.stderr)
    return fit


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit a Bayesian spec with NUTS, check the diagnostics gate and save the posterior."""
    fit = fit_to(args, args.spec, args.out)
    return 0 if fit.passed or args.allow_failed else 3


def check_to(fit_dir: Path, folds: int = NEW_FAMILY_FOLDS, progress: bool = True, fit=None):
    """Compute a fit folder's predictive checks (or read them where saved with this fit and code), print their
    verdicts; return the fit."""
    from bayes_sauce.fit.fit import Fit
    from bayes_sauce.predictive.check_step import run_checks

    fit = fit if fit is not None else Fit.load(fit_dir)
    print(fit.gate_status())
    with options.heartbeat("computing the predictive checks", quiet=not progress):
        checks, reused = run_checks(fit, folds, options.echo if progress else lambda line: None)
    print(f"Predictive checks of {fit_dir}" + (" (saved with this fit and code: reused)" if reused else "") + ":")
    for name, c in checks.items():
        verdict = "passed" if c["passed"] else "not computed" if not c["n"] else "FAILED"
        detail = (f"n = {c['n']}, largest ECDF deviation {c['max_abs_ecdf_deviation']:.3f}" if c["n"] else c["note"])
        gates = "" if c.get("fold_gates_passed", True) else "; some fold fits failed the diagnostics gate"
        print(f"  {name}: {verdict} ({detail}{gates})")
    if not reused:
        print(options.wrote([fit_dir / "checks.json"]))
    return fit


def cmd_check(args: argparse.Namespace) -> int:
    """The predictive checks of a fit folder (checks.json; the new-family check's fold fits under FIT/checks/), kept
    with the fit and reused while the fit and the code are the same; `report` reads them."""
    fit = check_to(args.dir, args.folds, not args.no_progress)
    if not fit.passed:
        print("WARNING: the fit FAILED the diagnostics gate; its checks are of a posterior that is not reliable.",
              file=sys.stderr)
        return 0 if args.allow_failed else 3
    return 0


def report_to(fit_dir: Path, allow_failed: bool, evaluations: list[Path], progress: bool = True,
              fit=None) -> tuple[int, Path]:
    """Write a fit folder's report (tables, figures, report.md, report.html), print what it wrote and then the
    claims and key numbers; return the exit status and the page's path."""
    from bayes_sauce.fit.fit import Fit
    from bayes_sauce.predictive.check_step import saved_checks
    from bayes_sauce.reporting.report import build_report, terminal_summary, write_report
    from bayes_sauce.store import locked

    fit = fit if fit is not None else Fit.load(fit_dir)
    print(fit.gate_status())
    with locked(fit_dir):  # one writer: a second report, or a fit into this folder, is refused until it is done
        if saved_checks(fit) is None:
            print(f"No predictive checks saved with this fit: the report has the known-family check only; "
                  f"`bayes-sauce check {fit_dir}` computes them all (the new-family check fits a model per fold)")
        print(f"Computing the decompositions of {fit_dir} per draw ...")
        with options.heartbeat("making the report", quiet=not progress):
            report = build_report(fit, evaluations)
        paths = write_report(report)
    print(options.wrote(paths))
    print()
    print(terminal_summary(report))
    page = fit_dir / "report.html"
    if not fit.passed:
        print("WARNING: the fit FAILED the diagnostics gate; the report says so at the top.", file=sys.stderr)
        return (0 if allow_failed else 3), page
    return 0, page


def evaluation_folders(args: argparse.Namespace) -> list[Path]:
    """The compare and backtest result folders a report includes: those given, else the ones beside the fit
    folder (``results/compare``, ``results/backtest/*`` for ``results/hierarchical``), where they exist."""
    root = Path(args.dir).resolve().parent
    folders = [args.compare or root / "compare"]
    folders += args.backtest or sorted((root / "backtest").glob("*/"))
    return [f for f in folders if f.exists()]


def cmd_report(args: argparse.Namespace) -> int:
    """Report on a fit folder: headline.csv (median, 90% interval, paper), report.md, report.html (one page to
    open in a browser) and figures with their CSVs."""
    status, page = report_to(args.dir, args.allow_failed, evaluation_folders(args), not args.no_progress)
    print(f"Open the report in a browser: {page}")
    return status


def cmd_run(args: argparse.Namespace) -> int:
    """The main job on one dataset: data summary, the paper's replication, the default fit, its predictive checks and
    its report."""
    start = time.perf_counter()
    root = args.out or RESULTS_DIR
    print("== [1/5] dataset ==")
    args.out = root / "data"
    cmd_data(args)
    print("\n== [2/5] replication of the paper's OLS ==")
    replicate_to(args, OLS_SPEC, root / "ols", brief=True)
    print(f"\n== [3/5] Bayesian fit ({DEFAULT_SPEC.name}) ==")
    args.sampler = args.target_accept = None
    fit = fit_to(args, DEFAULT_SPEC, root / DEFAULT_SPEC.stem, reuse=not args.refit)
    print("\n== [4/5] predictive checks ==")
    check_to(fit.path, args.folds, not args.no_progress, fit)
    print("\n== [5/5] report ==")
    status, page = report_to(fit.path, args.allow_failed, [f for f in (root / "compare",) if f.exists()],
                             not args.no_progress, fit)
    print(f"\nDone in {time.perf_counter() - start:.0f} s. Results in {root}/: data/, ols/, {fit.path.name}/.")
    print(f"Open the report in a browser: {page}")
    return status


def register(sub: argparse._SubParsersAction) -> None:
    """The analysis commands' parsers."""
    p = sub.add_parser("data", help="summary of the dataset: counts, ranges, exclusions, and a figure",
                       description=cmd_data.__doc__)
    options.add_data(p)
    options.add_filters(p, spec_default=False)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/data)")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("replicate", help="the paper's OLS, Shapley R2 and headline numbers, compared with the paper",
                       description=cmd_replicate.__doc__)
    options.add_data(p)
    options.add_filters(p)
    p.add_argument("--spec", type=Path, default=None,
                   help="OLS spec file (default: models/ols.toml); its [data] section sets outcome, time and filters")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/<spec name>)")
    _add_bootstrap(p, seed_flag=True)
    options.add_level(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_replicate)

    p = sub.add_parser("fit", help="fit a Bayesian model spec with NUTS; diagnostics gate; saves posterior.nc",
                       description=cmd_fit.__doc__)
    p.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC, help="model spec TOML (default: %(default)s)")
    options.add_data(p)
    options.add_filters(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/<spec name>)")
    options.add_sampler(p)
    p.add_argument("--sampler", choices=options.SAMPLERS, default=None,
                   help="NUTS implementation (default: the spec's, nutpie)")
    p.add_argument("--target-accept", type=options.probability, default=None,
                   help="NUTS target acceptance rate, between 0 and 1")
    _add_replace(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("check", help="predictive checks of a fit folder (checks.json; the new-family check's fold fits)",
                       description=cmd_check.__doc__)
    p.add_argument("dir", type=Path, help="fit folder written by `bayes-sauce fit` (e.g. results/hierarchical)")
    options.add_allow_failed(p)
    _add_folds(p)
    p.add_argument("--no-progress", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("report", help="report on a fit folder: headline.csv, report.md, report.html, figures with CSVs",
                       description=cmd_report.__doc__)
    p.add_argument("dir", type=Path, help="fit folder written by `bayes-sauce fit` (e.g. results/hierarchical)")
    options.add_allow_failed(p)
    p.add_argument("--compare", type=Path, default=None,
                   help="a `bayes-sauce compare` folder to include (default: compare/ beside the fit folder, if there)")
    p.add_argument("--backtest", type=Path, nargs="*", default=None,
                   help="`bayes-sauce backtest` folders to include (default: backtest/*/ beside the fit folder, if there)")
    p.add_argument("--no-progress", action="store_true", help="no progress lines or bars")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("run", help="the whole analysis on one dataset: data summary, replication, fit, checks, report",
                       description=cmd_run.__doc__)
    options.add_data(p)
    options.add_filters(p)
    p.add_argument("--out", type=Path, default=None, help="output root (default: results)")
    _add_bootstrap(p, seed_flag=False)
    options.add_level(p)
    options.add_sampler(p)
    _add_replace(p)
    p.add_argument("--refit", action="store_true",
                   help="fit again even where the output folder holds the same fit (same spec, settings, data and "
                        "code: reused by default, with its checks' fold fits)")
    _add_folds(p)
    p.set_defaults(func=cmd_run)


def _add_bootstrap(p: argparse.ArgumentParser, seed_flag: bool) -> None:
    """--bootstrap N, and (replicate only) --seed for the bootstrap; run uses the default seed for it."""
    from bayes_sauce.defaults import BOOTSTRAP_REPLICATES, SEED

    p.add_argument("--bootstrap", type=options.bootstrap_count, default=BOOTSTRAP_REPLICATES, metavar="N",
                   help=f"cluster-bootstrap replicates for the Shapley intervals: 0 for none, else at least "
                        f"{options.MIN_BOOTSTRAP} (default: %(default)s)")
    if seed_flag:
        p.add_argument("--seed", dest="bootstrap_seed", type=options.seed, default=SEED,
                       help="bootstrap seed (default: %(default)s)")
    else:
        p.set_defaults(bootstrap_seed=SEED)


def _add_folds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folds", type=options.fold_count, default=NEW_FAMILY_FOLDS, metavar="K",
                   help="folds of base-model families for the new-family predictive check, a fit without each "
                        "(family structure only; saved under FIT/checks/ and reused; default %(default)s)")


def _add_replace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replace", action="store_true",
                   help="overwrite an output folder that holds a different fit (other spec, settings or data)")
    p.add_argument("--no-progress", action="store_true", help="no sampler progress bar")
