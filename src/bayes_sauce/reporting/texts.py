"""Text that report.md and report.html share: the fit in one paragraph, the definitions, the figure captions."""

from __future__ import annotations

from bayes_sauce.data.schema import BASE_GROUP
from bayes_sauce.fit.diagnostics import rhat_value
from bayes_sauce.fit.fit import Fit
from bayes_sauce.quantities import headline, posterior

DEFINITIONS = """\
- **Intervals.** Every interval is a {pct} equal-tailed credible interval: the {lo:g}th and {hi:g}th percentiles of
  the posterior draws (empirical quantiles, no interpolation); "median" is the posterior median.
- **Components** of each model's latent logit eta (of the chance-normalised score): compute `beta * (log10 FLOPs - 18)`
  (x in log units of FLOPs/1e18, the paper's unit), time (the period effect vs the first period), developer (the
  developer's effect vs {base}; with developer pooling every raw developer has its own effect), model (the
  model-specific effect). The intercept is not a component.
- **Variance shares** (`shapley_*`): per draw, an exact Shapley-Owen decomposition of the variance of eta over
  models among {{compute, time, developer}}; a coalition's value is the R2 of eta regressed on its component vectors
  (one regressor per component), model-specific = 1 - R2. Using eta rather than the observed score covers models at
  the chance floor. `finite_population_sd__*` is the SD of each component over models (no regression).
- **Frontier change shares** (`frontier_*_share__A__B`): each component's share of the gain in eta from model A to B.
  The intercept and the origin of x cancel, so these are identified given the model's split of eta into
  components. **Level shares** (`level_compute_share__*`): compute over the sum of a model's components; they depend
  on the arbitrary origin of x (1e18 FLOPs), the base period and the base group, so they are not identified and are
  shown only beside the paper's.
- **Within-firm spread**: `10**((q90(e) - q10(e)) / beta)` over the model-specific effects of the major developers'
  models (and q75/q25), per draw; per developer for majors with at least {min_firm} models.
- **Developer multipliers**: `10**(effect / beta)`, the compute factor worth the same logit gain; vs {base} for the
  paper's groups (headline.csv, developer_multipliers.csv) and, in developers.csv, for every raw developer vs
  {base} and vs the population (the unweighted mean of all developers' effects). P(most efficient) is the share of
  draws in which a developer has the largest multiplier, among the majors and among developers with at least
  {min_rank} models.
- **Shared progress**: `10**(tau / beta)` per period vs the first; the halving time is the months between the
  midpoints of the first and last periods times log 2 / log(last-period multiplier), i.e. constant exponential
  progress between them. In a draw without progress (multiplier at most 1) the compute needed never halves: its
  halving time is infinite, and an interval bound reads `inf` when more than 5% of the draws are such.
- **Threshold fall**: the minimum compute reaching {threshold:.0%} normalised score, cheapest in the first month any
  model reaches it over cheapest by the last month; on observed scores (descriptive, as the paper) and on fitted
  scores (eta without the model-specific effect), per draw."""


CAPTIONS = {
    "shapley": "Variance shares with intervals beside the paper's Figure 1 bars",
    "developer_multipliers": "Developer-group multipliers vs Other-Small: posterior vs the paper's OLS",
    "within_firm_spread": "Posterior of the within-firm spread, the paper's value marked",
    "frontier_pairs": "Frontier decomposition between the paper's pairs (and first -> last frontier model)",
    "frontier_running": "Components' shares along the running-best frontier by quarter",
    "threshold_fall": "Cheapest compute reaching the score threshold by release month (data: the fitted rows)",
    "scaling_curve": "Scaling curve on the score scale with bands per period, and the data (points: models.csv)",
    "ppc": "Posterior predictive check: ECDF of scores, replicated with fresh and with own model effects",
}


def definitions(fit: Fit) -> str:
    """The definitions section (markdown), with the fit's interval level and the thresholds filled in."""
    return DEFINITIONS.format(pct=f"{fit.prob:.0%}", lo=50 * (1 - fit.prob), hi=50 * (1 + fit.prob), base=BASE_GROUP,
                              min_firm=headline.MIN_MODELS_PER_FIRM, min_rank=posterior.MIN_MODELS_TO_RANK,
                              threshold=headline.THRESHOLD_NORM_SCORE)


def fit_sentence(fit: Fit) -> str:
    """What was fitted to what, how it was sampled and how the gate went, in one paragraph (markdown)."""
    d, attrs, spec = fit.diagnostics, fit.tree.attrs, fit.spec
    return (f"{spec.description}. {len(fit.rows)} models from `{attrs['data_source']}` (sha256 "
            f"{attrs['data_sha256'][:12]}); {attrs['chains']} chains x {attrs['draws']} draws after {attrs['tune']} "
            f"tuning steps ({attrs['sampler']}, seed {attrs['seed']}). Diagnostics gate: "
            f"{'passed' if d['passed'] else 'FAILED'} (max R-hat {rhat_value(d)}, min bulk/tail ESS "
            f"{d['min_ess_bulk']:.0f}/{d['min_ess_tail']:.0f}, {d['divergences']} divergences).")
