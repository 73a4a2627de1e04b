"""Prior predictive check of the developer-drift priors (``model.developer_time``): what a spec's prior says about how
far a developer's level moves, beyond the shared progress, from the first to the last fitted period of the shipped
rows. Draws of the spec's own model from its priors (``sample_prior``), with the drift prior's scale swept.

Usage: .venv/bin/python benchmarks/prior_drift.py [--spec models/developer_trend.toml] [--scales 0.15 0.3 0.5]
       [--draws 2000] [--seed 1]
Each line: the median, 90th and 99th percentiles of |drift| over the span (logit), P(|drift| > 1 and > 2 logits),
the median and 90th percentile as decades of compute at beta = 0.5 (the beta prior's mean), and the median ratio of
a draw's mean |drift| to its sigma_developer (the spread of developers' levels it adds to).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from bayes_sauce.data.load import load
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.spec.priors import Prior
from bayes_sauce.spec.schema import load_spec

BETA = 0.5  # the beta prior's mean: a logit of drift is 1 / BETA decades of compute


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default="models/developer_trend.toml")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.15, 0.3, 0.5])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    kind = spec.model.developer_time
    if kind == "none":
        parser.error(f"{args.spec}: model.developer_time is 'none': no drift prior to check")
    name = f"sigma_developer_{kind}"
    dataset = load(filters=spec.data.filters.to_filters())
    for scale in args.scales:
        priors = spec.priors.model_copy(update={name: Prior(dist="HalfNormal", sigma=scale)})
        fit = sample_prior(spec.model_copy(update={"priors": priors}), dataset, args.draws, args.seed)
        drift = fit.posterior["developer_drift"]
        span = np.abs((drift.isel(period=-1) - drift.isel(period=0)).values).reshape(args.draws, -1)
        q = np.quantile(span, [0.5, 0.9, 0.99])
        ratio = np.median(span.mean(axis=1) / fit.posterior["sigma_developer"].values.ravel())
        print(f"{kind} {name} ~ HalfNormal({scale:g}), {drift.sizes['period']} periods: |drift first->last| median "
              f"{q[0]:.2f}, 90% {q[1]:.2f}, 99% {q[2]:.2f} logit; P(> 1) {np.mean(span > 1):.3f}, P(> 2) "
              f"{np.mean(span > 2):.4f}; decades of compute at beta {BETA}: median {q[0] / BETA:.2f}, 90% "
              f"{q[1] / BETA:.2f}; median mean|drift| / sigma_developer {ratio:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
