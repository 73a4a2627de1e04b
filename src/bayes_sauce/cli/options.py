"""Options shared by several commands, and how they become filters, sampler settings and progress output."""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
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
    parser.add_argument("--draws", type=count, default=None, help="draws per chain after tuning (default: the spec's)")
    parser.add_argument("--tune", type=count, default=None, help="tuning steps per chain (default: the spec's)")
    parser.add_argument("--chains", type=count, default=None, help="number of chains (default: the spec's)")
    parser.add_argument("--seed", type=seed, default=None,
                        help="sampler seed (0 to 2**32 - 1); the same seed gives the same draws on a machine")
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
    parser.add_argument("--level", type=probability, default=INTERVAL_PROB,
                        help="interval level, between 0 and 1 (default: %(default)s)")


def at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum`` (and at most ``maximum``); refused with one line."""
    def parse(text: str) -> int:
        value = int(text) if re.fullmatch(r"\s*[+-]?\d+\s*", text) else None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bound = f" and at most {maximum}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(f"needs an integer of at least {minimum}{bound}, got {text!r}")
        return value
    return parse


def between(low: float, high: float | None, what: str) -> Callable[[str], float]:
    """An argparse type: a finite number above ``low`` and below ``high`` (None: no upper bound), both excluded."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > low and (high is None or value < high)):
            raise argparse.ArgumentTypeError(f"needs {what}, got {text!r}")
        return value
    return parse


count = at_least(1)  # draws, tuning steps, chains, data sets, workers
fold_count = at_least(2)  # a number of cross-validation folds
seed = at_least(0, 2**32 - 1)  # a random seed, as numpy and every sampler take it
probability = between(0.0, 1.0, "a number between 0 and 1 (both excluded)")  # an interval level, an acceptance rate
positive = between(0.0, None, "a positive number")


def bootstrap_count(text: str) -> int:
    """Cluster-bootstrap replicates: 0 (no intervals), or at least two (one gives an interval of zero width)."""
    value = at_least(0)(text)
    if 0 < value < MIN_BOOTSTRAP:
        raise argparse.ArgumentTypeError(f"needs 0 (no bootstrap) or at least {MIN_BOOTSTRAP} replicates, got {text!r}")
    return value


MIN_BOOTSTRAP = 2


def write_set(out: Path, write: Callable[[Path], list[str]], drop: set[str] = frozenset()) -> list[str]:
    """A command's output files into ``out`` as one set (:func:`bayes_sauce.store.write_files`): ``write`` writes
    them into a staging folder and returns their names; ``drop`` are files of an earlier run that go when this one
    does not write them. Returns the names written."""
    from bayes_sauce.store import write_files

    return write_files(out, write, drop)


def progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal, and never with --no-progress."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def echo(line: str) -> None:
    """Progress lines of long work, shown as they come (the computation modules say them through a callback)."""
    print(line, flush=True)


HEARTBEAT_S = 30.0  # seconds between the lines that long work prints where no progress bar shows


@contextlib.contextmanager
def heartbeat(what: str, quiet: bool = False, every: float = HEARTBEAT_S) -> Iterator[None]:
    """While the block runs, a line every ``every`` seconds on stderr ("fitting: 2 min 30 s so far") where progress
    bars do not show (a pipe, a log file); none on a terminal, whose bars show progress, or when ``quiet``
    (--no-progress)."""
    if quiet or sys.stderr.isatty():
        yield
        return
    done = threading.Event()
    start = time.monotonic()

    def beat() -> None:
        while not done.wait(every):
            elapsed = int(time.monotonic() - start)
            print(f"  ... {what}: {elapsed // 60} min {elapsed % 60:02d} s so far", file=sys.stderr, flush=True)

    thread = threading.Thread(target=beat, name="bayes-sauce-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def wrote(paths: list[Path]) -> str:
    """The closing line of a command: what it wrote, folder by folder."""
    by_folder: dict[Path, list[str]] = {}
    for p in paths:
        by_folder.setdefault(Path(p).parent, []).append(Path(p).name)
    return "Wrote " + "; ".join(f"{folder}/: {', '.join(names)}" for folder, names in by_folder.items())
