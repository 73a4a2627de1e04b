"""Options shared by several commands, and how they become filters, sampler settings and progress output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bayes_sauce.defaults import INTERVAL_PROB, PAPER_WINDOW

SAMPLERS = ("nutpie", "pymc", "numpyro")  # as in spec.schema; repeated here so `--help` needs no pydantic


def add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="CSV in the authors' schema (dataset_for_github.csv) or the curated schema; "
                             "default: the shipped data/models.csv")


FILTER_FLAGS = ("majors_only", "leaderboard_only", "no_size_estimates", "total_tokens_only")


def add_filters(parser: argparse.ArgumentParser, spec_default: bool = True) -> None:
    """The filter flags; with ``spec_default`` they override the spec's filters only when given."""
    window_help = ("release-month window YYYY-MM YYYY-MM, inclusive (default: " +
                   ("the spec's; the paper's is " if spec_default else "") + f"{' '.join(PAPER_WINDOW)})")
    dates = parser.add_mutually_exclusive_group()
    dates.add_argument("--window", nargs=2, metavar=("START", "END"), default=None, help=window_help)
    dates.add_argument("--all-dates", action="store_true",
                       help="no release window: every row, whatever its release month (periods after the paper's "
                            "window get later cohorts; see the README)")
    for name in FILTER_FLAGS:
        parser.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=f"filter: {name.replace('_', ' ')}")


def filter_overrides(args: argparse.Namespace) -> dict:
    """The filters the command line sets, and only those: ``{"window": None}`` for --all-dates, True for each flag."""
    given = {name: True for name in FILTER_FLAGS if getattr(args, name, False)}
    if getattr(args, "all_dates", False):
        given["window"] = None
    elif getattr(args, "window", None) is not None:
        window = tuple(args.window)
        from bayes_sauce.spec.schema import FilterSpec, SpecError

        from pydantic import ValidationError

        try:
            FilterSpec.model_validate({"window": window})
        except ValidationError as err:  # report it as a bad option
            reason = "; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())
            raise SpecError(f"--window {' '.join(window)}: {reason}") from None
        given["window"] = window
    return given


def filters(args: argparse.Namespace, spec_filters=None):
    """The filters a command uses: ``spec_filters`` (the spec's, or the paper's default) with the filter flags
    given on the command line replacing only the filters they name."""
    from dataclasses import replace

    from bayes_sauce.data.filters import Filters

    return replace(spec_filters or Filters(), **filter_overrides(args))


def with_filter_flags(args: argparse.Namespace, spec):
    """A spec with the command line's filter flags applied over its own filters."""
    return spec.with_filters(filters(args, spec.data.filters.to_filters()))


def add_sampler(parser: argparse.ArgumentParser, allow_failed: bool = True) -> None:
    """Sampling options (None keeps the spec's)."""
    parser.add_argument("--draws", type=int, default=None, help="draws per chain after tuning (default: the spec's)")
    parser.add_argument("--tune", type=int, default=None, help="tuning steps per chain (default: the spec's)")
    parser.add_argument("--chains", type=int, default=None, help="number of chains (default: the spec's)")
    parser.add_argument("--seed", type=int, default=None, help="sampler seed; the same seed gives identical draws")
    if allow_failed:
        add_allow_failed(parser)


def sampler_settings(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k, None) for k in ("draws", "tune", "chains", "seed", "sampler", "target_accept")}


def add_allow_failed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-failed", action="store_true",
                        help="go on (exit 0) even when a fit fails the diagnostics gate")


def probability(text: str) -> float:
    """An argparse type: an interval level strictly between 0 and 1 (refused with one line otherwise)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"needs a level strictly between 0 and 1 (e.g. 0.9), got {text!r}")
    return value


def add_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--level", type=probability, default=INTERVAL_PROB, help="interval level (default: %(default)s)")


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum`` (refused with one line otherwise)."""
    def parse(text: str) -> int:
        if not text.strip().isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"needs an integer of at least {minimum}, got {text!r}")
        return int(text)
    return parse


fold_count = at_least(2)  # a number of cross-validation folds


def progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal, and never with --no-progress."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def wrote(paths: list[Path]) -> str:
    """The closing line of a command: what it wrote, folder by folder."""
    by_folder: dict[Path, list[str]] = {}
    for p in paths:
        by_folder.setdefault(Path(p).parent, []).append(Path(p).name)
    return "Wrote " + "; ".join(f"{folder}/: {', '.join(names)}" for folder, names in by_folder.items())
