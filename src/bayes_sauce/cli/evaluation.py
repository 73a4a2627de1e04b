"""The prediction commands: predict (new models, or the compute a score needs), compare (LOO), backtest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bayes_sauce.cli import options
from bayes_sauce.defaults import SEED
from bayes_sauce.paths import MODELS_DIR, OLS_SPEC, RESULTS_DIR

# Specs that `compare` and `backtest` use when none are named (files in models/).
COMPARE_SPECS = ("hierarchical", "paper_fixed_effects", "hierarchical_logit_normal", "fixed_groups", "pooled",
                 "student_t", "quarter_rw")
BACKTEST_SPECS = ("hierarchical", "paper_fixed_effects")


def _print_table(table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\n" + options.wrote([path]))


def add_model_inputs(p: argparse.ArgumentParser) -> None:
    """The options that describe one new model (predict, and explain of a hypothetical model)."""
    p.add_argument("--name", default=None, help="a name for the model")
    p.add_argument("--base-model", default=None, metavar="REPO",
                   help="the model is a fine-tune or merge of this base: a Hugging Face repo (Qwen/Qwen2.5-7B), or a "
                        "family id or model id of the fit; --params, --tokens and --date are then optional")
    p.add_argument("--new-family", action="store_true",
                   help="predict a fine-tune of a base the fit does not have as the first model of a new family "
                        "(instead of refusing it); give --params, --tokens and --date")
    p.add_argument("--params", type=float, default=None, help="parameters, billions (default with --base-model: "
                                                              "the base's)")
    p.add_argument("--tokens", type=float, default=None, help="training tokens, billions (C = 6 N D; default with "
                                                              "--base-model: the base's)")
    p.add_argument("--flops", type=float, default=None, help="training FLOPs, instead of --params and --tokens")
    p.add_argument("--developer", default=None,
                   help="developer as in the data (e.g. Meta, Qwen) or a new name; of a fine-tune: its fine-tuner")
    p.add_argument("--group", default=None,
                   help="paper group of a developer the fit never saw (e.g. Other-Med); ignored for a known developer")
    p.add_argument("--date", default=None, help="release month YYYY-MM (or YYYY-MM-DD)")
    p.add_argument("--closed", action="store_true", help="a self-reported (non-leaderboard) score")
    p.add_argument("--extend-last-cohort", action="store_true",
                   help="for a date after the last fitted cohort, assume the last cohort's effect persists")


def model_frame(args: argparse.Namespace):
    """The one model the options describe, as ``new_models``' input."""
    import pandas as pd

    from bayes_sauce.model.new_rows import PredictionError

    if args.developer is None or (args.date is None and args.base_model is None):
        raise PredictionError(f"{args.command} needs --developer and --date, or --base-model and --developer"
                              + (" (or --csv FILE)" if args.command == "predict" else ""))
    return pd.DataFrame([{"model": args.name, "base_model": args.base_model, "params_b": args.params,
                          "tokens_b": args.tokens, "flops": args.flops, "developer": args.developer,
                          "developer_group": args.group, "release_month": args.date, "is_closed": args.closed}])


def cmd_predict(args: argparse.Namespace) -> int:
    """MMLU-Pro of new models (median and interval) from a fit, or the compute a developer needs to reach a score."""
    from bayes_sauce.data.read import read_table
    from bayes_sauce.fit.fit import Fit
    from bayes_sauce.predictive.new_models import KNOWN, compute_table, new_model_rows
    from bayes_sauce.predictive.predict import compute_needed, predict_models

    frame = read_table(args.csv) if args.csv else model_frame(args)
    source = str(args.csv or "the command line")
    fit = Fit.load(args.fit, lazy=True)
    print(fit.gate_status())
    fit.require_passed(args.allow_failed)
    if args.target is None:
        table = predict_models(fit, frame, args.level, args.seed, args.extend_last_cohort, args.new_family, source)
        for name, note in zip(table["model"], table["extrapolation"]):
            if note:
                print(f"warning: {name}: extrapolated past the data: {note}", file=sys.stderr)
        known = table["predicted_as"] == KNOWN
        if table["base_model"].ne("").any():
            print(f"{int(known.sum())} model(s) predicted as fine-tunes of a fitted family (its level, base developer "
                  f"and period, and their fine-tuner's effect), {int((~known).sum())} as the first model of a new "
                  "family; p_damaged, p_failure: the chance of a damaged fine-tune or a failed evaluation")
    else:
        rows = new_model_rows(frame, fit, args.extend_last_cohort, with_compute=False, new_family=args.new_family,
                              source=source)
        table = compute_table(rows, compute_needed(fit, rows, args.target, args.seed), args.level, args.target)
    what = "score" if args.target is None else f"log10 training FLOPs to reach {args.target}"
    print(f"{what}: median and {args.level:.0%} equal-tailed interval over the posterior of {fit.path}")
    _print_table(table, args.out or fit.path / ("predictions.csv" if args.target is None else "compute_needed.csv"))
    return 0


def cmd_predict_check(args: argparse.Namespace) -> int:
    """Held-out check of predict on the fit's own fine-tunes: each fine-tune of a family of two or more predicted as
    a user would ask (--base-model its family), weighted by PSIS-LOO so that its own score does not inform its
    prediction; the coverage of the 50% and 90% intervals, the LOO-PIT, and the median absolute error beside that of
    the base model's own score."""
    import json

    from bayes_sauce.fit.fit import Fit
    from bayes_sauce.predictive.finetune_check import finetune_check

    fit = Fit.load(args.fit)
    print(fit.gate_status())
    fit.require_passed(args.allow_failed)
    summary, table = finetune_check(fit, args.seed)
    out = args.out or fit.path / "predict_check"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    table.to_csv(out / "models.csv", index=False)
    ci = {k: summary[f"coverage_{k}_interval"] for k in (50, 90)}
    print(f"{summary['n']} fine-tunes of families of two or more, each predicted by PSIS-LOO as a new member:")
    for k in (50, 90):
        print(f"  {k}% intervals hold {summary[f'coverage_{k}']:.1%} of the observed scores "
              f"(90% CI {ci[k][0]:.1%}-{ci[k][1]:.1%})")
    pit = summary["loo_pit"]
    print(f"  LOO-PIT: {'inside' if pit['passed'] else 'OUTSIDE'} the {pit['band']:.0%} simultaneous band "
          f"(largest ECDF deviation {pit['max_abs_ecdf_deviation']:.3f}); Pareto k > 0.7 for "
          f"{summary['pareto_k_above_0_7']} model(s)")
    print(f"  median absolute error {summary['median_abs_error_points']:.2f} points; on the "
          f"{summary['n_base_in_data']} whose base is in the data {summary['median_abs_error_points_base_in_data']:.2f},"
          f" against {summary['naive_base_score_median_abs_error_points']:.2f} for the base model's own score")
    print("\n" + options.wrote([out / "summary.json", out / "models.csv"]))
    return 0


def _bayes_specs(paths: list[Path], args: argparse.Namespace, command: str) -> dict:
    """Bayesian specs by name, with the command's filters and sampler settings applied."""
    from bayes_sauce.fit.workflow import bayes_spec

    specs = {}
    for path in paths:
        spec = options.with_filter_flags(args, bayes_spec(path, None, command, **options.sampler_settings(args)))
        specs[spec.name] = spec
    rows = {name: spec.data.filters.to_filters().describe() for name, spec in specs.items()}
    print("Rows: " + (next(iter(rows.values())) if len(set(rows.values())) == 1 else
                      "; ".join(f"{name}: {text}" for name, text in rows.items())))
    return specs


def cmd_compare(args: argparse.Namespace) -> int:
    """PSIS-LOO of the hierarchical model, the paper's model as a Bayesian regression and variants, on one scale."""
    from bayes_sauce.predictive.loo import compare
    from bayes_sauce.reporting.evaluation import loo_markdown

    specs = _bayes_specs(args.specs or [MODELS_DIR / f"{name}.toml" for name in COMPARE_SPECS], args, "compare")
    out = args.out or RESULTS_DIR / "compare"
    print(f"Comparing {', '.join(specs)} (fits reused from {RESULTS_DIR}/<spec> or {out}/fits/<spec>, else fitted there)")
    with options.heartbeat("fitting and comparing"):
        table, pointwise = compare(specs, args.data, RESULTS_DIR, out, args.max_refits, args.allow_failed,
                                   options.echo)
    text = loo_markdown(table, pointwise)

    def write(staging: Path) -> list[str]:
        table.to_csv(staging / "loo.csv")
        pointwise.to_csv(staging / "loo_pointwise.csv", index=False)
        (staging / "loo.md").write_text(text + "\n")
        return ["loo.csv", "loo_pointwise.csv", "loo.md"]

    options.write_set(out, write)
    print(text)
    print("\n" + options.wrote([out / "loo.csv", out / "loo_pointwise.csv", out / "loo.md"]))
    failed = table.index[~table["gate_passed"].astype(bool)].tolist()
    if failed:  # only with --allow-failed: a failed fit is refused otherwise
        print(f"WARNING: the fit(s) {failed} FAILED the diagnostics gate; their elpd is not reliable", file=sys.stderr)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """Fit on the models released up to a cutoff, predict the later ones; score Bayesian specs and the paper's OLS."""
    import pandas as pd

    from bayes_sauce.data.load import load
    from bayes_sauce.predictive import backtest
    from bayes_sauce.reporting.evaluation import backtest_markdown
    from bayes_sauce.reporting.plots import backtest_scores
    from bayes_sauce.spec.schema import SpecError, load_spec

    specs = _bayes_specs(args.specs or [MODELS_DIR / f"{name}.toml" for name in BACKTEST_SPECS], args, "backtest")
    ols_spec = options.with_filter_flags(args, load_spec(args.ols_spec or OLS_SPEC))
    rows = ols_spec.data.filters.to_filters()
    differ = [name for name, spec in specs.items() if spec.data.filters.to_filters() != rows]
    if differ:
        raise SpecError(f"backtest: spec(s) {differ} filter the rows otherwise than the OLS baseline ({rows.describe()}); "
                        "every method is fitted and scored on the same rows: give specs with the same filters, or "
                        "set them with the filter flags")
    dataset = load(args.data, rows)
    out = args.out or RESULTS_DIR / "backtest" / args.cutoff
    with options.heartbeat("fitting and scoring"):
        result = backtest.run(specs, ols_spec, dataset, args.cutoff, out / "fits", args.level,
                              args.seed if args.seed is not None else 0, args.allow_failed, options.echo)
    text = backtest_markdown(result.summary, args.cutoff, result.n_train, result.n_test)

    def write(staging: Path) -> list[str]:
        result.scores.to_csv(staging / "scores.csv", index=False)
        result.summary.to_csv(staging / "summary.csv", index=False)
        pd.DataFrame([{"cutoff": args.cutoff, "n_train": result.n_train, "n_test": result.n_test,
                       **{f"gate_passed__{k}": v for k, v in result.gates.items()}}]).to_csv(staging / "meta.csv",
                                                                                            index=False)
        backtest_scores(result.scores, args.cutoff, args.level).savefig(staging / "backtest.png", dpi=130)
        (staging / "summary.md").write_text(text + "\n")
        return ["scores.csv", "summary.csv", "meta.csv", "backtest.png", "summary.md"]

    options.write_set(out, write)
    print(text)
    failed = [k for k, v in result.gates.items() if not v]
    if failed:  # only with --allow-failed: a failed fit is refused otherwise
        print(f"WARNING: the pre-cutoff fit(s) {failed} FAILED the diagnostics gate; their scores are not reliable",
              file=sys.stderr)
    print("\n" + options.wrote([out / n for n in ("scores.csv", "summary.csv", "summary.md", "meta.csv", "backtest.png")]))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The prediction commands' parsers."""
    p = sub.add_parser("predict", help="MMLU-Pro of a new model (median, interval), or the compute needed for a score",
                       description=cmd_predict.__doc__ + " A fine-tune of a base model the fit has (--base-model) "
                       "joins its family: the family's level, base developer and period, its fine-tuner's effect (a "
                       "fresh one for a fine-tuner the fit never saw) and the fine-tune mixture (damaged, failed "
                       "evaluation). Any other model is the first of a new family; a developer the fit never saw "
                       "gets an effect drawn from its group's pool (from all developers when --group is not given).")
    p.add_argument("fit", nargs="?", type=Path, default=RESULTS_DIR / "hierarchical",
                   help="fit folder or posterior.nc (default: %(default)s)")
    p.add_argument("--csv", type=Path, default=None,
                   help="many models: a CSV with columns developer, and model, base_model, params_b, tokens_b (or "
                        "flops), developer_group, release_month, is_closed as needed (any other column is refused)")
    add_model_inputs(p)
    p.add_argument("--target", type=float, default=None,
                   help="instead: the log10 FLOPs needed to reach this MMLU-Pro score (e.g. 0.6)")
    options.add_level(p)
    p.add_argument("--seed", type=int, default=0, help="seed for new effects and outcome draws (default: 0)")
    p.add_argument("--out", type=Path, default=None,
                   help="CSV to write (default: FIT/predictions.csv or FIT/compute_needed.csv)")
    options.add_allow_failed(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("predict-check", help="held-out check of predict on the fit's fine-tunes (PSIS-LOO coverage, "
                                             "PIT, error vs the base's own score)", description=cmd_predict_check.__doc__)
    p.add_argument("fit", nargs="?", type=Path, default=RESULTS_DIR / "hierarchical",
                   help="fit folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=SEED, help="seed for the predictive draws (default: %(default)s)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: FIT/predict_check)")
    options.add_allow_failed(p)
    p.set_defaults(func=cmd_predict_check)

    p = sub.add_parser("compare", help="PSIS-LOO of the hierarchical model vs the paper's model and variants",
                       description=cmd_compare.__doc__)
    p.add_argument("specs", nargs="*", type=Path,
                   help=f"Bayesian spec files (default: models/{{{','.join(COMPARE_SPECS)}}}.toml)")
    options.add_data(p)
    options.add_filters(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/compare)")
    p.add_argument("--max-refits", type=options.at_least(0), default=10,
                   help="exact leave-one-out refits per spec for Pareto k above 0.7, worst first (default: %(default)s)")
    options.add_sampler(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("backtest", help="fit up to a cutoff, predict later models; hierarchical vs the paper's OLS",
                       description=cmd_backtest.__doc__)
    p.add_argument("specs", nargs="*", type=Path,
                   help=f"Bayesian spec files (default: models/{{{','.join(BACKTEST_SPECS)}}}.toml)")
    p.add_argument("--cutoff", required=True, help="last quarter (2024q3) or month (2024-09) of the training data")
    options.add_data(p)
    options.add_filters(p)
    p.add_argument("--ols-spec", type=Path, default=None, help="the OLS baseline's spec (default: models/ols.toml)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/backtest/CUTOFF)")
    options.add_level(p)
    options.add_sampler(p)
    p.set_defaults(func=cmd_backtest)
