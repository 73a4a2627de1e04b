"""Command-line entry point: `bayes-sauce <command>`; see `bayes-sauce --help`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bayes_sauce.data import PAPER_WINDOW, DataValidationError, Filters
from bayes_sauce.spec import DEFAULT_SPEC, SAMPLERS, SpecError

RESULTS = Path("results")
DEFAULT_BOOTSTRAP = 1000
DEFAULT_SEED = 20260207
DEFAULT_LEVEL = 0.90
# Specs that `compare` and `backtest` use when none are named (files in models/).
COMPARE_SPECS = ("hierarchical", "paper_fixed_effects", "hierarchical_logit_normal", "fixed_groups", "pooled",
                 "student_t", "quarter_rw")
BACKTEST_SPECS = ("hierarchical", "paper_fixed_effects")


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="CSV in the authors' schema (dataset_for_github.csv) or the curated schema; "
                             "default: the shipped data/models.csv")


def _add_filter_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window", nargs=2, metavar=("START", "END"), default=list(PAPER_WINDOW),
                        help="release-month window YYYY-MM YYYY-MM, inclusive (default: the paper's %(default)s)")
    parser.add_argument("--all-dates", action="store_true", help="no release window")
    for name in ("majors_only", "leaderboard_only", "no_size_estimates", "total_tokens_only"):
        parser.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=f"filter: {name.replace('_', ' ')}")


def _add_sampler_args(parser: argparse.ArgumentParser) -> None:
    """Sampling options shared by `fit` and `run` (None keeps the spec's value)."""
    parser.add_argument("--draws", type=int, default=None, help="draws per chain after tuning (default: the spec's)")
    parser.add_argument("--tune", type=int, default=None, help="tuning steps per chain (default: the spec's)")
    parser.add_argument("--chains", type=int, default=None, help="number of chains (default: the spec's)")
    parser.add_argument("--seed", type=int, default=None, help="sampler seed; the same seed gives identical draws")
    parser.add_argument("--allow-failed", action="store_true", help="exit 0 even when the fit fails the diagnostics gate")
    parser.add_argument("--no-progress", action="store_true", help="no sampler progress bar")


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(
        window=None if args.all_dates else tuple(args.window),
        majors_only=args.majors_only,
        leaderboard_only=args.leaderboard_only,
        no_size_estimates=args.no_size_estimates,
        total_tokens_only=args.total_tokens_only,
    )


def cmd_data(args: argparse.Namespace) -> int:
    """Summarise the dataset, write the curated rows, exclusions and a score-vs-compute figure."""
    from bayes_sauce.data import load
    from bayes_sauce.plots import score_vs_compute
    from bayes_sauce.summary import describe

    dataset = load(args.data, _filters(args))
    print(describe(dataset))
    out = args.out or RESULTS / "data"
    out.mkdir(parents=True, exist_ok=True)
    dataset.models.to_csv(out / "models.csv", index=False)
    dataset.excluded.to_csv(out / "excluded.csv", index=False)
    fig = score_vs_compute(dataset.models)
    fig.savefig(out / "score_vs_compute.png", dpi=130)
    dataset.models[["model_id", "developer_group", "log10_flops", "mmlu_pro"]].to_csv(out / "score_vs_compute.csv", index=False)
    print(f"\nWrote {out}/models.csv, excluded.csv, score_vs_compute.png (+ .csv)")
    return 0


def replicate_to(data: Path | None, spec_path: Path, out: Path | None, replicates: int, seed: int,
                 level: float) -> int:
    """Run the paper's OLS for one spec, write the contract's files and print the comparison."""
    from bayes_sauce.data import load
    from bayes_sauce.paper import load_paper_numbers
    from bayes_sauce.replication import comparison_report, replicate, write_outputs
    from bayes_sauce.spec import load_spec

    spec = load_spec(spec_path)
    dataset = load(data, spec.data.filters.to_filters())
    rep = replicate(spec, dataset, str(spec_path), replicates=replicates, seed=seed, level=level)
    paper = load_paper_numbers(spec.name)
    out = out or RESULTS / spec.name
    paths = write_outputs(rep, out, paper)
    print(comparison_report(rep, paper))
    print(f"\nWrote {', '.join(str(p) for p in paths.values())}")
    return 0


def cmd_replicate(args: argparse.Namespace) -> int:
    """The paper's OLS (fixed effects, clustered SEs), Shapley R2 and headline numbers beside the paper's."""
    from bayes_sauce.spec import OLS_SPEC

    return replicate_to(args.data, args.spec or OLS_SPEC, args.out, args.bootstrap, args.seed, args.level)


def fit_to(spec_path: Path, data: Path | None, out: Path | None, progress: bool = True,
           **overrides: int | float | str | None) -> tuple[Path, bool]:
    """Fit a Bayesian spec, save the posterior with the fitted rows and exclusions, print the gate.

    ``overrides`` are sampler settings (draws, tune, chains, seed, sampler, target_accept; None keeps
    the spec's). Returns the fit folder and whether the diagnostics gate passed.
    """
    from bayes_sauce.data import load
    from bayes_sauce.sampling import diagnostics_table, fit_spec, settings_from_spec, write_fit_folder
    from bayes_sauce.spec import load_spec

    spec = load_spec(spec_path)
    if spec.kind != "bayes":
        raise SpecError(f"{spec_path}: key 'kind': 'fit' needs a Bayesian spec (kind = 'bayes'); use 'replicate' for OLS")
    dataset = load(data, spec.data.filters.to_filters())
    settings = settings_from_spec(spec, **overrides)
    settings.progress = progress
    print(f"Fitting spec '{spec.name}' ({spec_path}) on {len(dataset.models)} models with {settings.sampler}: "
          f"{settings.chains} chains x {settings.draws} draws after {settings.tune} tuning steps, seed {settings.seed}")
    result = fit_spec(spec, dataset, settings, spec_text=Path(spec_path).read_text())
    out = out or RESULTS / spec.name
    write_fit_folder(result, out)
    t = result.timings
    print(f"Models fitted: {len(result.model_data.models)}; excluded: {len(result.dataset.excluded)} (see excluded.csv)")
    print(f"Time: compile {t.compile_s:.1f} s, sampling {t.sample_s:.1f} s, log-lik/prior/predictive {t.extras_s:.1f} s")
    print(diagnostics_table(result.diagnostics))
    print(f"Wrote {out}/posterior.nc, diagnostics.json, models.csv (rows fitted, in model order), excluded.csv")
    passed = bool(result.diagnostics["passed"])
    if not passed:
        print("WARNING: the fit FAILED the diagnostics gate; its numbers are not reliable.", file=sys.stderr)
    return out, passed


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit a Bayesian spec with NUTS, check the diagnostics gate and save the posterior."""
    _, passed = fit_to(args.spec, args.data, args.out, not args.no_progress, draws=args.draws, tune=args.tune,
                       chains=args.chains, seed=args.seed, sampler=args.sampler, target_accept=args.target_accept)
    return 0 if passed or args.allow_failed else 3


def report_to(fit_dir: Path, allow_failed: bool) -> int:
    """Write a fit folder's report (tables, figures, report.md) and print the headline summary."""
    from bayes_sauce.report import ReportError, build_report, terminal_summary, write_report

    print(f"Computing the decompositions of {fit_dir} per draw ...")
    try:
        report = build_report(fit_dir)
    except ReportError as err:
        print(f"bayes-sauce: cannot report: {err}", file=sys.stderr)
        return 2
    paths = write_report(report)
    print(f"Wrote {fit_dir}/report.md, {len(paths) - 1} tables and figures ({', '.join(p.name for p in paths[:-1])})")
    print()
    print(terminal_summary(report))
    if not report.fit.diagnostics["passed"]:
        print("WARNING: the fit FAILED the diagnostics gate; the report says so at the top.", file=sys.stderr)
        return 0 if allow_failed else 3
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Report on a fit folder: headline.csv (median, 90% interval, paper), report.md and figures with their CSVs."""
    return report_to(args.dir, args.allow_failed)


def cmd_run(args: argparse.Namespace) -> int:
    """The main job on one dataset: data summary, the paper's replication, the default fit, and its report."""
    from bayes_sauce.spec import DEFAULT_SPEC, OLS_SPEC, load_spec

    start = time.perf_counter()
    root = args.out or RESULTS
    print("== [1/4] dataset ==")
    args.out = root / "data"
    status = cmd_data(args)
    if status:
        return status
    print("\n== [2/4] replication of the paper's OLS ==")
    status = replicate_to(args.data, OLS_SPEC, root / "ols", args.bootstrap, DEFAULT_SEED, DEFAULT_LEVEL)
    if status:
        return status
    print(f"\n== [3/4] Bayesian fit ({DEFAULT_SPEC.name}) ==")
    fit_dir, _ = fit_to(DEFAULT_SPEC, args.data, root / load_spec(DEFAULT_SPEC).name, not args.no_progress,
                        draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed)
    print("\n== [4/4] report ==")
    status = report_to(fit_dir, args.allow_failed)
    print(f"\nDone in {time.perf_counter() - start:.0f} s. Results in {root}/: data/, ols/, {fit_dir.name}/ "
          f"(report: {fit_dir / 'report.md'})")
    return status


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Fit every variant of a sweep (cached, in parallel on Dask), then tabulate and plot their headline numbers."""
    from bayes_sauce.sensitivity import run_sweep, terminal_summary, write_outputs
    from bayes_sauce.sweep import read_sweep

    overrides = {"draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": args.seed}
    sweep = read_sweep(args.sweep, {k: v for k, v in overrides.items() if v is not None})
    result = run_sweep(sweep, args.data, args.out or RESULTS / "sensitivity" / sweep.name, args.scheduler, args.workers)
    paths = write_outputs(result)
    print(f"\nWrote {', '.join(p.name for p in paths)} in {result.out}\n")
    print(terminal_summary(result))
    bad = result.variants[result.variants["status"] != "passed"]
    if len(bad):
        print(f"WARNING: {len(bad)} variant(s) failed: {', '.join(bad['variant'])}; see {result.out}/sensitivity.md",
              file=sys.stderr)
        return 0 if args.allow_failed else 3
    return 0


def cmd_psense(args: argparse.Namespace) -> int:
    """Power-scaling sensitivity of a fit: which parameters and headline quantities move when priors or likelihood are scaled."""
    from bayes_sauce import posterior
    from bayes_sauce.report import ReportError, read_fit
    from bayes_sauce.sensitivity import PSENSE_THRESHOLD, psense_markdown, psense_table

    try:
        fit = read_fit(args.dir)
    except ReportError as err:
        print(f"bayes-sauce: cannot compute psense: {err}", file=sys.stderr)
        return 2
    threshold = PSENSE_THRESHOLD if args.threshold is None else args.threshold
    table = psense_table(fit.tree, posterior.quantities(fit.tree, fit.models), threshold)
    table.to_csv(args.dir / "psense.csv", index=False)
    print(psense_markdown(table, threshold))
    print(f"\nWrote {args.dir / 'psense.csv'}")
    return 0


def _print_table(table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nWrote {path}")


def cmd_predict(args: argparse.Namespace) -> int:
    """MMLU-Pro of new models (median and interval) from a fit, or the compute a developer needs to reach a score."""
    import pandas as pd

    from bayes_sauce.forecast import compute_table, new_model_rows, prediction_table
    from bayes_sauce.predict import PredictionError, compute_needed, predict
    from bayes_sauce.sampling import load_fit

    if args.csv is None and (args.developer is None or args.date is None):
        print("bayes-sauce: predict needs --developer and --date (or --csv FILE)", file=sys.stderr)
        return 2
    tree = load_fit(args.fit)
    frame = (pd.read_csv(args.csv, dtype=str, keep_default_na=False, na_values=[""]) if args.csv else
             pd.DataFrame([{"model": args.name, "params_b": args.params, "tokens_b": args.tokens, "flops": args.flops,
                            "developer": args.developer, "developer_group": args.group, "release_month": args.date,
                            "is_closed": args.closed}]))
    try:
        rows = new_model_rows(frame, tree, args.extend_last_cohort, with_compute=args.target is None)
        if args.target is None:
            table = prediction_table(rows, predict(tree, rows, args.seed), args.level)
        else:
            table = compute_table(rows, compute_needed(tree, rows, args.target, args.seed), args.level, args.target)
    except PredictionError as err:
        print(f"bayes-sauce: cannot predict: {err}", file=sys.stderr)
        return 2
    what = "score" if args.target is None else f"log10 training FLOPs to reach {args.target}"
    print(f"{what}: median and {args.level:.0%} equal-tailed interval over the posterior of {args.fit}")
    folder = args.fit if args.fit.is_dir() else args.fit.parent
    _print_table(table, args.out or folder / ("predictions.csv" if args.target is None else "compute_needed.csv"))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """PSIS-LOO of the hierarchical model, the paper's model as a Bayesian regression and variants, on one scale."""
    from bayes_sauce.loo import compare
    from bayes_sauce.spec import MODELS_DIR, load_spec
    from bayes_sauce.validation import loo_markdown

    paths = args.specs or [MODELS_DIR / f"{name}.toml" for name in COMPARE_SPECS]
    specs = {}
    for path in paths:
        spec = load_spec(path)
        if spec.kind != "bayes":
            raise SpecError(f"{path}: key 'kind': compare needs Bayesian specs (kind = 'bayes')")
        specs[spec.name] = (spec, Path(path).read_text())
    out = args.out or RESULTS / "compare"
    print(f"Comparing {', '.join(specs)} (fits reused from {RESULTS}/<spec> or {out}/fits/<spec>, else fitted there)")
    table, pointwise = compare(specs, args.data, RESULTS, out, args.max_refits, draws=args.draws, tune=args.tune,
                               chains=args.chains, seed=args.seed)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "loo.csv")
    pointwise.to_csv(out / "loo_pointwise.csv", index=False)
    text = loo_markdown(table, pointwise)
    (out / "loo.md").write_text(text + "\n")
    print(text)
    print(f"\nWrote {out}/loo.csv, loo_pointwise.csv, loo.md")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """Fit on the models released up to a cutoff, predict the later ones; score Bayesian specs and the paper's OLS."""
    import pandas as pd

    from bayes_sauce import backtest
    from bayes_sauce.data import load
    from bayes_sauce.sampling import settings_from_spec
    from bayes_sauce.spec import MODELS_DIR, OLS_SPEC, load_spec
    from bayes_sauce.validation import backtest_markdown

    specs = {}
    for path in args.specs or [MODELS_DIR / f"{name}.toml" for name in BACKTEST_SPECS]:
        spec = load_spec(path)
        if spec.kind != "bayes":
            raise SpecError(f"{path}: key 'kind': backtest takes Bayesian specs; the paper's OLS is always included")
        specs[spec.name] = spec
    ols_spec = load_spec(args.ols_spec or OLS_SPEC)
    dataset = load(args.data, ols_spec.data.filters.to_filters())
    settings = {name: settings_from_spec(spec, draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed)
                for name, spec in specs.items()}
    for s in settings.values():
        s.progress = False
    out = args.out or RESULTS / "backtest" / args.cutoff
    try:
        result = backtest.run(specs, ols_spec, dataset, args.cutoff, out / "fits", settings, args.level, args.seed or 0)
    except ValueError as err:
        print(f"bayes-sauce: cannot backtest: {err}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    result.scores.to_csv(out / "scores.csv", index=False)
    result.summary.to_csv(out / "summary.csv", index=False)
    pd.DataFrame([{"cutoff": args.cutoff, "n_train": result.n_train, "n_test": result.n_test,
                   **{f"gate_passed__{k}": v for k, v in result.gates.items()}}]).to_csv(out / "meta.csv", index=False)
    backtest.figure(result.scores, args.cutoff, args.level).savefig(out / "backtest.png", dpi=130)
    text = backtest_markdown(result.summary, args.cutoff, result.n_train, result.n_test)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    failed = [k for k, v in result.gates.items() if not v]
    if failed:
        print(f"WARNING: the pre-cutoff fit(s) {failed} FAILED the diagnostics gate", file=sys.stderr)
    print(f"\nWrote {out}/scores.csv (also the figure's data), summary.csv, summary.md, meta.csv, backtest.png")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-sauce",
        description="Bayesian replication of 'Is there Secret Sauce in LLM Development?' (Mertens et al. 2026). "
                    "Every command reads --data (default: the shipped 809-model dataset).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("data", help="summary of the dataset: counts, ranges, exclusions, and a figure",
                       description=cmd_data.__doc__)
    _add_data_args(p)
    _add_filter_args(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/data)")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("replicate", help="the paper's OLS, Shapley R2 and headline numbers, compared with the paper",
                       description=cmd_replicate.__doc__)
    _add_data_args(p)
    p.add_argument("--spec", type=Path, default=None,
                   help="OLS spec file (default: models/ols.toml); its [data] section sets outcome, time and filters")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/<spec name>)")
    p.add_argument("--bootstrap", type=int, default=DEFAULT_BOOTSTRAP, metavar="N",
                   help="cluster-bootstrap replicates for the Shapley intervals, 0 for none (default: %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="bootstrap seed (default: %(default)s)")
    p.add_argument("--level", type=float, default=DEFAULT_LEVEL,
                   help="interval level for delta-method and bootstrap intervals (default: %(default)s)")
    p.set_defaults(func=cmd_replicate)

    p = sub.add_parser("fit", help="fit a Bayesian model spec with NUTS; diagnostics gate; saves posterior.nc",
                       description=cmd_fit.__doc__)
    p.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC, help="model spec TOML (default: %(default)s)")
    _add_data_args(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/<spec name>)")
    _add_sampler_args(p)
    p.add_argument("--sampler", choices=SAMPLERS, default=None, help="NUTS implementation (default: the spec's, nutpie)")
    p.add_argument("--target-accept", type=float, default=None, help="NUTS target acceptance rate")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("report", help="report on a fit folder: headline.csv, report.md, figures with their CSVs",
                       description=cmd_report.__doc__)
    p.add_argument("dir", type=Path, help="fit folder written by `bayes-sauce fit` (e.g. results/hierarchical)")
    p.add_argument("--allow-failed", action="store_true", help="exit 0 even when the fit failed the diagnostics gate")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("run", help="the whole analysis on one dataset: data summary, replication, fit, report",
                       description=cmd_run.__doc__)
    _add_data_args(p)
    _add_filter_args(p)
    p.add_argument("--out", type=Path, default=None, help="output root (default: results)")
    p.add_argument("--bootstrap", type=int, default=DEFAULT_BOOTSTRAP, metavar="N",
                   help="cluster-bootstrap replicates for the replication's Shapley intervals (default: %(default)s)")
    _add_sampler_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sensitivity", help="prior and model sensitivity: fit a sweep's variants on Dask; one table, one figure",
                       description=cmd_sensitivity.__doc__)
    p.add_argument("sweep", type=Path, help="sweep file, e.g. models/sensitivity/default.toml (format: see that file)")
    _add_data_args(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/sensitivity/<sweep name>)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler, e.g. tcp://host:8786 (default: a local cluster); its workers need "
                        "this package installed and the data file and output folder on a shared filesystem")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local cluster size (default: one worker per core, at most one per variant to fit)")
    p.add_argument("--draws", type=int, default=None, help="draws per chain for every variant (default: the sweep's)")
    p.add_argument("--tune", type=int, default=None, help="tuning steps per chain for every variant")
    p.add_argument("--chains", type=int, default=None, help="number of chains for every variant")
    p.add_argument("--seed", type=int, default=None, help="sampler seed for every variant")
    p.add_argument("--allow-failed", action="store_true", help="exit 0 even when a variant errs or fails the gate")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("psense", help="power-scaling prior/likelihood sensitivity of a fit (ArviZ psense)",
                       description=cmd_psense.__doc__)
    p.add_argument("dir", nargs="?", type=Path, default=RESULTS / "hierarchical",
                   help="fit folder written by `bayes-sauce fit` (default: %(default)s)")
    p.add_argument("--threshold", type=float, default=None, help="flag prior sensitivity at or above this value (default: 0.05)")
    p.set_defaults(func=cmd_psense)
    p = sub.add_parser("predict", help="MMLU-Pro of a new model (median, interval), or the compute needed for a score",
                       description=cmd_predict.__doc__ + " A developer the fit never saw gets an effect drawn from "
                       "its group's pool (from all developers when --group is not given).")
    p.add_argument("fit", nargs="?", type=Path, default=RESULTS / "hierarchical",
                   help="fit folder or posterior.nc (default: %(default)s)")
    p.add_argument("--csv", type=Path, default=None,
                   help="many models: a CSV with columns model, params_b, tokens_b (or flops), developer, "
                        "developer_group (optional), release_month, is_closed (optional)")
    p.add_argument("--name", default=None, help="a name for the model")
    p.add_argument("--params", type=float, default=None, help="parameters, billions")
    p.add_argument("--tokens", type=float, default=None, help="training tokens, billions (C = 6 N D)")
    p.add_argument("--flops", type=float, default=None, help="training FLOPs, instead of --params and --tokens")
    p.add_argument("--developer", default=None, help="developer as in the data (e.g. Meta, Qwen) or a new name")
    p.add_argument("--group", default=None,
                   help="paper group of a developer the fit never saw (e.g. Other-Med); ignored for a known developer")
    p.add_argument("--date", default=None, help="release month YYYY-MM")
    p.add_argument("--closed", action="store_true", help="a self-reported (non-leaderboard) score")
    p.add_argument("--target", type=float, default=None,
                   help="instead: the log10 FLOPs needed to reach this MMLU-Pro score (e.g. 0.6)")
    p.add_argument("--extend-last-cohort", action="store_true",
                   help="for a date after the last fitted cohort, assume the last cohort's effect persists")
    p.add_argument("--level", type=float, default=DEFAULT_LEVEL, help="interval level (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed for new effects and outcome draws (default: 0)")
    p.add_argument("--out", type=Path, default=None,
                   help="CSV to write (default: FIT/predictions.csv or FIT/compute_needed.csv)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("compare", help="PSIS-LOO of the hierarchical model vs the paper's model and variants",
                       description=cmd_compare.__doc__)
    p.add_argument("specs", nargs="*", type=Path,
                   help=f"Bayesian spec files (default: models/{{{','.join(COMPARE_SPECS)}}}.toml)")
    _add_data_args(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/compare)")
    p.add_argument("--max-refits", type=int, default=10,
                   help="exact leave-one-out refits per spec for Pareto k above 0.7, worst first (default: %(default)s)")
    for name in ("draws", "tune", "chains", "seed"):
        p.add_argument(f"--{name}", type=int, default=None, help=f"sampler {name} (default: the spec's)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("backtest", help="fit up to a cutoff, predict later models; hierarchical vs the paper's OLS",
                       description=cmd_backtest.__doc__)
    p.add_argument("specs", nargs="*", type=Path,
                   help=f"Bayesian spec files (default: models/{{{','.join(BACKTEST_SPECS)}}}.toml)")
    p.add_argument("--cutoff", required=True, help="last quarter (2024q3) or month (2024-09) of the training data")
    _add_data_args(p)
    p.add_argument("--ols-spec", type=Path, default=None, help="the OLS baseline's spec (default: models/ols.toml)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/backtest/CUTOFF)")
    p.add_argument("--level", type=float, default=DEFAULT_LEVEL, help="interval level (default: %(default)s)")
    for name in ("draws", "tune", "chains", "seed"):
        p.add_argument(f"--{name}", type=int, default=None, help=f"sampler {name} (default: the spec's)")
    p.set_defaults(func=cmd_backtest)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataValidationError as err:
        print(f"bayes-sauce: invalid data: {err}", file=sys.stderr)
        return 2
    except SpecError as err:
        print(f"bayes-sauce: invalid spec: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
