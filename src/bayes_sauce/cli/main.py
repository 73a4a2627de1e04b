"""`bayes-sauce <command>`: the parser, quiet library logging, and one error boundary for every command.

Expected failures (bad data or spec, a missing or failed fit, an impossible prediction, I/O) end with
one or two lines saying what and where, exit 2 (130 for Ctrl-C); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from bayes_sauce.cli import analysis, calibrate, evaluation, explain, sensitivity

# Libraries whose INFO lines (backend discovery, compiler flags) are noise on a terminal; -v shows them.
NOISY_LOGGERS = ("arviz", "arviz_base", "arviz_stats", "arviz_plots", "pytensor", "pymc", "numba", "distributed",
                 "jax", "matplotlib")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-sauce",
        description="Bayesian replication of 'Is there Secret Sauce in LLM Development?' (Mertens et al. 2026). "
                    "Every command reads --data (default: the shipped 809-model dataset).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the libraries' log lines")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    analysis.register(sub)
    sensitivity.register(sub)
    evaluation.register(sub)
    explain.register(sub)
    calibrate.register(sub)
    return parser


def expected_errors() -> tuple[type[BaseException], ...]:
    """The errors that are the user's input or the machine's state, not a bug (imported only when needed)."""
    from bayes_sauce.data.read import DataValidationError
    from bayes_sauce.fit.fit import FitError
    from bayes_sauce.model.new_rows import PredictionError
    from bayes_sauce.quantities.explain import UnknownModelError
    from bayes_sauce.spec.schema import SpecError
    from bayes_sauce.store import FolderError

    return DataValidationError, SpecError, FitError, FolderError, PredictionError, UnknownModelError, OSError


def error_line(err: BaseException) -> str:
    """The message of an expected error; an OS error names its file, what failed and what to do."""
    if isinstance(err, OSError):
        from bayes_sauce.store import os_error_message

        return os_error_message(err)
    return str(err)


def is_panic(err: BaseException) -> bool:
    """A Rust panic in the sampler (pyo3's PanicException derives from BaseException, not Exception)."""
    return type(err).__name__ == "PanicException"


def quiet_libraries(verbose: bool) -> None:
    """Library log lines below WARNING, and every Python warning (ArviZ's, matplotlib's missing glyphs, Dask's), off
    the terminal unless -v: this package issues none, so each is a library's; worker processes inherit it."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:
        import warnings

        warnings.simplefilter("ignore")
        os.environ.setdefault("PYTHONWARNINGS", "ignore")  # Dask workers and other child processes


def interrupted(err: BaseException | None) -> bool:
    """Ctrl-C, or an error that Ctrl-C caused inside compiled code: numba answers a KeyboardInterrupt raised during
    its call with a SystemError caused by it (the pilot's curvature is computed that way)."""
    while err is not None:
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__cause__ or err.__context__
    return False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_libraries(args.verbose)
    if not args.debug:
        os.environ.setdefault("RUST_BACKTRACE", "0")  # a sampler panic prints its message, not a backtrace
    try:
        return args.func(args)
    except BaseException as err:  # noqa: BLE001 - the one boundary: expected errors get a line, bugs a pointer
        if interrupted(err):
            print("\nbayes-sauce: interrupted; completed fits are kept, a partly written one is not", file=sys.stderr)
            return 130
        if not isinstance(err, Exception) and not is_panic(err):
            raise  # SystemExit and the like
        if args.debug:
            traceback.print_exc()
        if isinstance(err, expected_errors()):
            print(f"bayes-sauce {args.command}: {error_line(err)}", file=sys.stderr)
            return 2
        if is_panic(err):
            print(f"bayes-sauce {args.command}: the sampler stopped with an internal error ({str(err).splitlines()[0]}); "
                  "the model's log density could not be evaluated where sampling starts: check the spec's priors "
                  "and the data", file=sys.stderr)
            return 2
        print(f"bayes-sauce {args.command}: internal error {type(err).__name__}: {err}\n"
              "  (a bug, not your input: please report it with the output of --debug)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
