"""Prior predictive check of a spec's priors against what a leaderboard can look like: draws of the spec's own model
from its priors on the real rows (``sample_prior``: the parameters, then every model's score as the likelihood
simulates it), summarised per simulated leaderboard beside the observed one. Simulation-based calibration fits
exactly these data sets (``bayes-sauce calibrate``), so a prior that makes implausible leaderboards makes fits that
need not pass the gate on anything a user will bring.

Usage: .venv/bin/python benchmarks/prior_leaderboards.py [SPEC ...] [--draws 400] [--seed 20260207] [--data CSV]
       [--out benchmarks/results/prior_leaderboards.md]
Per spec: quantiles over simulated leaderboards (5%, 25%, 50%, 75%, 95%) of the median score, the share of models
scoring above --high, the share at chance (at or below the floor plus half a question) and the share with a perfect
score (within half a question of 1); then the share of leaderboards with any perfect score, with more than 10% of
models above --high and with more than 25% at chance. The observed leaderboard's values are printed first. The
tables are printed and written to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from bayes_sauce.data.load import load
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.paths import DEFAULT_SPEC, PROJECT_ROOT
from bayes_sauce.predictive.checks import replicated_scores
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.spec.schema import load_spec

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def leaderboard_shares(scores: np.ndarray, floor: float, n_questions: int, high: float) -> dict[str, np.ndarray]:
    """Per leaderboard (rows of ``scores``, models in columns): its median score and the shares of its models above
    ``high``, at chance and perfect (an edge is within half a question)."""
    half = 0.5 / n_questions
    return {"median score": np.median(scores, axis=-1),
            f"share > {high:g}": (scores > high).mean(axis=-1),
            "share at chance": (scores <= floor + half).mean(axis=-1),
            "share perfect": (scores >= 1 - half).mean(axis=-1)}


def drivers(parameters, share: np.ndarray, top: int = 4) -> str:
    """The ``top`` scalar parameters whose prior draws are most Spearman-correlated with a per-leaderboard ``share``
    (draws in ``SAMPLE_DIMS`` order): which priors make the leaderboards that the check flags."""
    stacked = parameters.stack(sample=SAMPLE_DIMS)
    rho = {name: spearmanr(stacked[name].values, share).statistic for name in stacked.data_vars
           if stacked[name].dims == ("sample",) and np.ptp(stacked[name].values) > 0}
    ranked = sorted(rho, key=lambda name: -abs(rho[name]))[:top]
    return ", ".join(f"{name} {rho[name]:+.2f}" for name in ranked)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("specs", nargs="*", default=[str(DEFAULT_SPEC)])
    parser.add_argument("--draws", type=int, default=400, help="simulated leaderboards per spec")
    parser.add_argument("--seed", type=int, default=20260207)
    parser.add_argument("--data", default=None, help="CSV (default: the shipped data/models.csv)")
    parser.add_argument("--high", type=float, default=0.9, help="a score above which few models of the period lie")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "prior_leaderboards.md")
    args = parser.parse_args(argv)
    report = []
    for path in args.specs:
        spec = load_spec(path)
        dataset = load(args.data, spec.data.filters.to_filters())
        prior = sample_prior(spec, dataset, args.draws, args.seed)
        scale = prior.design.scale
        simulated = replicated_scores(prior.tree["prior_predictive"].to_dataset(), scale)
        simulated = simulated.stack(sample=SAMPLE_DIMS).transpose("sample", "model").values
        observed = prior.rows[scale.outcome].to_numpy(dtype=float)
        shares = leaderboard_shares(simulated, scale.floor, scale.n_questions, args.high)
        seen = leaderboard_shares(observed, scale.floor, scale.n_questions, args.high)
        lines = [f"## {spec.name} ({path}): {args.draws} leaderboards of {len(observed)} models, seed {args.seed}",
                 f"| | observed | prior predictive {', '.join(f'{q:.0%}' for q in QUANTILES)} |", "|---|---|---|"]
        for name, values in shares.items():
            quantiles = ", ".join(f"{v:.3f}" for v in np.quantile(values, QUANTILES))
            lines.append(f"| {name} | {float(seen[name]):.3f} | {quantiles} |")
        high = shares[f"share > {args.high:g}"]
        lines += [f"Leaderboards with any perfect score: {np.mean(shares['share perfect'] > 0):.2f}; with more than "
                  f"10% of models above {args.high:g}: {np.mean(high > 0.1):.2f}; with more than 25% at chance: "
                  f"{np.mean(shares['share at chance'] > 0.25):.2f}",
                  "Scalar parameters most rank-correlated with the share above "
                  f"{args.high:g}: {drivers(prior.tree['posterior'].to_dataset(), high)}", ""]
        print("\n".join(lines), flush=True)
        report += lines
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report))
    print(f"Written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
