"""Command-line entry point: `bayes-sauce <command>`; see `bayes-sauce --help`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bayes_sauce.data import PAPER_WINDOW, DataValidationError, Filters
from bayes_sauce.spec import DEFAULT_SPEC, SAMPLERS, SpecError

RESULTS = Path("results")
DEFAULT_BOOTSTRAP = 1000
DEFAULT_SEED = 20260207
DEFAULT_LEVEL = 0.90


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


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit a Bayesian spec with NUTS, check the diagnostics gate and save the posterior."""
    from bayes_sauce.data import load
    from bayes_sauce.sampling import diagnostics_table, fit_spec, save_fit, settings_from_spec
    from bayes_sauce.spec import load_spec, read_spec_dict

    spec = load_spec(args.spec)
    if spec.kind != "bayes":
        raise SpecError(f"{args.spec}: key 'kind': 'fit' needs a Bayesian spec (kind = 'bayes'); use 'replicate' for OLS")
    dataset = load(args.data, spec.data.filters.to_filters())
    settings = settings_from_spec(spec, draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed,
                                  sampler=args.sampler, target_accept=args.target_accept)
    settings.progress = not args.no_progress
    print(f"Fitting spec '{spec.name}' ({args.spec}) on {len(dataset.models)} models with {settings.sampler}: "
          f"{settings.chains} chains x {settings.draws} draws after {settings.tune} tuning steps, seed {settings.seed}")
    result = fit_spec(spec, dataset, settings, spec_text=Path(args.spec).read_text())
    out = args.out or RESULTS / spec.name
    save_fit(result.tree, out, result.diagnostics)
    result.dataset.excluded.to_csv(out / "excluded.csv", index=False)
    result.model_data.models.to_csv(out / "models.csv", index=False)
    t = result.timings
    print(f"Models fitted: {len(result.model_data.models)}; excluded: {len(result.dataset.excluded)} (see excluded.csv)")
    print(f"Time: compile {t.compile_s:.1f} s, sampling {t.sample_s:.1f} s, log-lik/prior/predictive {t.extras_s:.1f} s")
    print(diagnostics_table(result.diagnostics))
    print(f"Wrote {out}/posterior.nc, diagnostics.json, models.csv (rows fitted, in model order), excluded.csv")
    if not result.diagnostics["passed"]:
        print("WARNING: the fit FAILED the diagnostics gate; its numbers are not reliable.", file=sys.stderr)
        return 0 if args.allow_failed else 3
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The main job on one dataset: data summary, then each analysis stage in turn."""
    from bayes_sauce.spec import OLS_SPEC

    root = args.out or RESULTS
    print("== [1] dataset ==")
    args.out = root / "data"
    status = cmd_data(args)
    if status:
        return status
    print("\n== [2] replication ==")
    return replicate_to(args.data, OLS_SPEC, root / "ols", DEFAULT_BOOTSTRAP, DEFAULT_SEED, DEFAULT_LEVEL)


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
    p.add_argument("--draws", type=int, default=None, help="draws per chain after tuning (default: the spec's)")
    p.add_argument("--tune", type=int, default=None, help="tuning steps per chain (default: the spec's)")
    p.add_argument("--chains", type=int, default=None, help="number of chains (default: the spec's)")
    p.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives identical draws")
    p.add_argument("--sampler", choices=SAMPLERS, default=None, help="NUTS implementation (default: the spec's, nutpie)")
    p.add_argument("--target-accept", type=float, default=None, help="NUTS target acceptance rate")
    p.add_argument("--allow-failed", action="store_true", help="exit 0 even when the diagnostics gate fails")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("run", help="the whole analysis on one dataset (data summary + analysis stages)",
                       description=cmd_run.__doc__)
    _add_data_args(p)
    _add_filter_args(p)
    p.add_argument("--out", type=Path, default=None, help="output root (default: results)")
    p.set_defaults(func=cmd_run)
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
