"""Command-line entry point: `bayes-sauce <command>`; see `bayes-sauce --help`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bayes_sauce.data import PAPER_WINDOW, DataValidationError, Filters

RESULTS = Path("results")


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


def cmd_run(args: argparse.Namespace) -> int:
    """The main job on one dataset: data summary, then each analysis stage in turn."""
    print("== [1] dataset ==")
    args.out = (args.out or RESULTS) / "data"
    return cmd_data(args)


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


if __name__ == "__main__":
    sys.exit(main())
