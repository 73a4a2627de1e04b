"""Text that report.md and report.html share: the fit in one paragraph, the definitions, the figure captions."""

from __future__ import annotations

import pandas as pd

from bayes_sauce.data.schema import BASE_GROUP
from bayes_sauce.fit.diagnostics import rhat_value
from bayes_sauce.fit.fit import Fit
from bayes_sauce.quantities import headline, informed, posterior
from bayes_sauce.quantities.keys import PAPER
from bayes_sauce.reporting.claims import RULE

DEFINITIONS = """\
- **Intervals.** Every interval is a {pct} equal-tailed credible interval: the {lo:g}th and {hi:g}th percentiles of
  the posterior draws (empirical quantiles, no interpolation); "median" is the posterior median.
- **Two views** of each model's latent logit eta (of the chance-normalised score), computed from the same draws
  (`view` in headline.csv; the intercept is not a component; `components.csv` lists them):
{components}
- **Variance shares** (`shapley_*`), per draw. Paper view: the paper's exact Shapley-Owen decomposition: a coalition's
  value is the variance of the explained part (beta * x + the cohort and group effects) projected on the coalition's
  regressors (log compute; cohort dummies; group dummies) over eta's variance, model-specific = 1 - var(explained) /
  var(eta); at the paper's own fit these are its Figure 1. Model view: one regressor per component vector, the last
  component = 1 - R2. `finite_population_sd__*` is the SD of each component over models (no regression).
- **Frontier change shares** (`frontier_*_share__A__B`): each component's share of the gain in eta from model A to B.
  The intercept and the origin of x cancel, so these are identified given a view's split of eta into components.
  Every score is taken at face value, as the paper does; where the model has a protocol offset and a pair's end-points
  differ in protocol, each share is also given on the leaderboard scale (`__leaderboard_scale`): a self-reported score
  less its offset, as the model reads it, the offset taken out of the gain (frontier_pairs.csv: `scores`).
  **Level shares** (`level_compute_share__*`, paper view): compute over the sum of a model's components; they depend
  on the arbitrary origin of x (1e18 FLOPs), the base period and the base group, so they are not identified and are
  shown only beside the paper's.
- **Within-firm spread**: `10**((q90(e) - q10(e)) / beta)` over the major developers' models (and q75/q25), per draw;
  per developer for majors with at least {min_firm} models. Paper view: e = the paper's residuals (evaluation noise
  and failed evaluations included). Model view: e = each model's latent efficiency (evaluation noise taken out, each
  draw's failed evaluations left out); `__beta_at_median`: the same with beta fixed at its posterior median.
- **Developer multipliers**: `10**(effect / beta)`, the compute factor worth the same logit gain, vs {base}, for the
  paper's 13 groups. Paper view: the group effect of the paper's regression at each draw's beta (the models the group's
  developers released). Model view: the group's effect in the model (a major's own developer effect, an Other bin's
  pool mean). developers.csv: every developer of the model vs {base} and vs the population (the unweighted mean of
  all developers' effects). P(most efficient) is the share of draws in which a developer has the largest multiplier,
  among the majors and among developers with at least {min_rank} models.
- **Shared progress**: `10**(tau / beta)` per period vs the first (paper view: the release cohort's effect of the paper's
  regression; model view: the model's period effect); the halving time is the months between the midpoints of the
  first and last periods times log 2 / log(last-period multiplier), i.e. constant exponential progress between them. In a draw without progress (multiplier at most 1)
  the compute needed never halves: its halving time is infinite, and an interval bound reads `inf` when more than 5%
  of the draws are such.
- **Threshold fall**: the minimum compute reaching {threshold:.0%} normalised score, cheapest in the first month any
  model reaches it over cheapest by the last month; on observed scores (descriptive, as the paper) and on fitted
  scores (model view: what compute, period and developer predict), per draw.
- **Claims** (claims.csv): {claim_rule}
- **Informed** (headline.csv `informed`, `width_vs_prior`): {informed_rule}; the prior draws are the same spec's on the
  same rows."""


CAPTIONS = {
    "shapley": "Variance shares: the paper view beside the paper's Figure 1 and its OLS on these rows; the model view",
    "developer_multipliers": "Developer-group multipliers vs Other-Small: paper view, model view, the paper's OLS",
    "within_firm_spread": "Posterior of the within-firm spreads (paper view, model view, beta at its median)",
    "frontier_pairs": "Frontier decomposition between the paper's pairs (and first -> last frontier model), by view; "
                      "self-reported scores at face value and, where the fit has a protocol offset, on the leaderboard "
                      "scale",
    "frontier_running": "Components' shares along the running-best frontier by quarter (paper view; self-reported "
                        "scores at face value)",
    "threshold_fall": "Cheapest compute reaching the score threshold by release month (data: the fitted rows)",
    "scaling_curve": "Scaling curve on the score scale with bands per period, and the data (points: models.csv)",
    "ppc": "Posterior predictive check: ECDF of scores, replicated with fresh and with own model effects",
}


def component_lines(components: pd.DataFrame) -> str:
    """Each view's components and what each is, from the components table of the fitted views."""
    lines = []
    for view, rows in components.groupby("view", sort=False):
        what = ("compared with the paper's numbers; ids as the replication's" if view == PAPER else
                "ids end in `__model_view`: what the paper's regression cannot see, never compared with the paper")
        lines.append(f"  - *{view.capitalize()} view* ({what}): "
                     + "; ".join(f"{r.name}: {r.meaning}" for r in rows.itertuples()) + ".")
    return "\n".join(lines)


def definitions(fit: Fit, tables: dict[str, pd.DataFrame]) -> str:
    """The definitions section (markdown), with the fit's interval level, its views' components and the thresholds
    filled in."""
    return DEFINITIONS.format(pct=f"{fit.prob:.0%}", lo=50 * (1 - fit.prob), hi=50 * (1 + fit.prob), base=BASE_GROUP,
                              min_firm=headline.MIN_MODELS_PER_FIRM, min_rank=posterior.MIN_MODELS_TO_RANK,
                              threshold=headline.THRESHOLD_NORM_SCORE, components=component_lines(tables["components"]),
                              claim_rule=RULE.replace("**", ""), informed_rule=informed.RULE.capitalize())


def fit_sentence(fit: Fit) -> str:
    """What was fitted to what, how it was sampled and how the gate went, in one paragraph (markdown)."""
    d, attrs, spec = fit.diagnostics, fit.tree.attrs, fit.spec
    return (f"{spec.description}. {len(fit.rows)} models from `{attrs['data_source']}` (sha256 "
            f"{attrs['data_sha256'][:12]}); {attrs['chains']} chains x {attrs['draws']} draws after {attrs['tune']} "
            f"tuning steps ({attrs['sampler']}, seed {attrs['seed']}). Diagnostics gate: "
            f"{'passed' if d['passed'] else 'FAILED'} (max R-hat {rhat_value(d)}, min bulk/tail ESS "
            f"{d['min_ess_bulk']:.0f}/{d['min_ess_tail']:.0f}, {d['divergences']} divergences).")
