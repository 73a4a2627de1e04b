"""`bayes-sauce explain MODEL_ID [FIT]`: one model's score decomposed into its components, its relatives, and what
it would score with the median developer's effect; a waterfall figure and its CSVs. `bayes-sauce explain [FIT]
--base-model REPO --developer LAB` (or any new model predict takes): a model the fit never saw, its prediction beside
its nearest fitted relatives."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bayes_sauce.cli import options
from bayes_sauce.cli.evaluation import add_model_inputs, model_frame
from bayes_sauce.paths import RESULTS_DIR

DEFAULT_FIT = RESULTS_DIR / "hierarchical"


def cmd_explain(args: argparse.Namespace) -> int:
    """One model's latent score split into the level and each component (median and interval over the draws), its
    fitted and observed score, its score with the median developer's effect, and its nearest relatives (same
    family, else same developer, else nearest compute)."""
    from bayes_sauce.fit.fit import Fit, read_rows
    from bayes_sauce.quantities.explain import RELATIVES, explain, file_stem, resolve
    from bayes_sauce.reporting.explanation import explanation_text, plt, waterfall, waterfall_table

    if args.base_model is not None or args.model_id is None or args.developer is not None:
        return _explain_new(args)
    log = sys.stderr if args.csv else sys.stdout  # with --csv, stdout carries only the table
    rows = (args.fit if args.fit.is_dir() else args.fit.parent) / "models.csv"
    if rows.exists():  # refuse an unknown id before reading the posterior
        resolve(args.model_id, read_rows(rows))
    fit = Fit.load(args.fit)
    print(fit.gate_status(), file=log)
    fit.require_passed(args.allow_failed)
    e = explain(fit, args.model_id, RELATIVES if args.relatives is None else args.relatives)
    out = args.out or fit.path / "explain"
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(e.model_id)
    paths = [out / f"{stem}.png", out / f"{stem}.csv", out / f"{stem}_parts.csv", out / f"{stem}_relatives.csv"]
    figure = waterfall(e, fit.prob)
    figure.savefig(paths[0], dpi=130)
    plt.close(figure)
    waterfall_table(e).to_csv(paths[1], index=False)
    e.parts.to_csv(paths[2], index=False)
    e.relatives.to_csv(paths[3], index=False)
    if args.csv:
        e.parts.to_csv(sys.stdout, index=False)
    else:
        print(explanation_text(e, fit.prob, fit.spec.data.outcome))
    print("\n" + options.wrote(paths), file=log)
    return 0


def _explain_new(args: argparse.Namespace) -> int:
    """A model the fit never saw, described as predict takes it: its prediction and its nearest fitted relatives."""
    from bayes_sauce.fit.fit import Fit
    from bayes_sauce.model.new_rows import PredictionError
    from bayes_sauce.quantities.explain import RELATIVES, explain_new
    from bayes_sauce.reporting.explanation import new_explanation_text

    fit_path = args.fit
    if args.model_id is not None:  # one positional: with the options of a new model it can only be the fit
        if not Path(args.model_id).exists() or args.fit != DEFAULT_FIT:
            raise PredictionError("explain takes a model id of the fit, or a new model's options (--base-model, "
                                  "--developer, ...), not both")
        fit_path = Path(args.model_id)
    fit = Fit.load(fit_path, lazy=True)
    log = sys.stderr if args.csv else sys.stdout
    print(fit.gate_status(), file=log)
    fit.require_passed(args.allow_failed)
    e = explain_new(fit, model_frame(args), RELATIVES if args.relatives is None else args.relatives,
                    extend_last_cohort=args.extend_last_cohort, new_family=args.new_family)
    if args.csv:
        e.prediction.to_frame().T.to_csv(sys.stdout, index=False)
    else:
        print(new_explanation_text(e, fit.prob))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The explain command's parser."""
    p = sub.add_parser("explain", help="one model's score decomposed into its components, its relatives, and its "
                                       "score with the median developer; or a new model's prediction beside its "
                                       "relatives", description=cmd_explain.__doc__ + " With a new model's options "
                                       "(--base-model REPO --developer LAB, or --params, --tokens, --developer, "
                                       "--date, as predict takes them): its prediction (how it was predicted, "
                                       "P(damaged fine-tune), P(failed evaluation), the score) beside its nearest "
                                       "fitted relatives with the scores their inputs lead the model to expect.")
    p.add_argument("model_id", nargs="?", default=None,
                   help="a model_id of the fit (its models.csv); an unknown one gets close matches")
    p.add_argument("fit", nargs="?", type=Path, default=DEFAULT_FIT,
                   help="fit folder or posterior.nc (default: %(default)s)")
    p.add_argument("--csv", action="store_true",
                   help="print the decomposition as CSV on stdout (part, kind, median, lo, hi, unit, "
                        "compute_equivalent) instead of the text; messages go to stderr")
    p.add_argument("--relatives", type=options.at_least(0), default=None, metavar="N", help="how many relatives to list (default: 8)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: FIT/explain)")
    add_model_inputs(p)
    options.add_allow_failed(p)
    p.set_defaults(func=cmd_explain)
