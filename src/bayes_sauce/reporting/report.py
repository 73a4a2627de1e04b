"""The report of a fit: headline.csv, per-developer and frontier tables, figures with their CSVs, report.md.

Reads a fit (``Fit``), computes every table (:mod:`bayes_sauce.reporting.tables`), draws one figure
per table that has one, and writes the sentences of :mod:`bayes_sauce.reporting.differences` on
where the posterior and the paper differ; the report files carry the fingerprint of the fit they
were made from (``report.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bayes_sauce.data.schema import BASE_GROUP
from bayes_sauce.fit.fit import Fit
from bayes_sauce.periods import PERIOD_COLUMN, describe_periods
from bayes_sauce.quantities import headline, posterior
from bayes_sauce.quantities.headline import KEY_QUANTITIES
from bayes_sauce.reporting import plots
from bayes_sauce.reporting.differences import Comparison, disagreements, ppc_note
from bayes_sauce.reporting.evaluation import prediction_section
from bayes_sauce.reporting.paper import compare, comparison_markdown, format_value
from bayes_sauce.reporting.psense import psense_markdown
from bayes_sauce.reporting.tables import build_tables, ols_reference, paper_reference


@dataclass(frozen=True)
class Report:
    """Everything the report writes: tables by file stem, figures by file stem (each has a table), markdown."""

    fit: Fit
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Any]
    notes: list[str]
    markdown: str


def draw_figures(tables: dict[str, pd.DataFrame], fit: Fit) -> dict[str, Any]:
    """One figure per table that has one (same stem); tables without rows get no figure."""
    paper = tables["headline"].set_index("quantity")["paper"]
    makers = {
        "shapley": lambda t: plots.shapley_bars(t, fit.prob),
        "developer_multipliers": lambda t: plots.developer_forest(t, fit.prob, BASE_GROUP),
        "within_firm_spread": lambda t: plots.spread_posterior(t, paper.to_dict()),
        "frontier_pairs": lambda t: plots.frontier_pairs(t, fit.prob),
        "frontier_running": lambda t: plots.frontier_running(t, fit.prob),
        "scaling_curve": lambda t: plots.scaling_curve(t, fit.rows, fit.spec.data.outcome,
                                                       PERIOD_COLUMN[fit.spec.data.time], fit.prob),
        "ppc": lambda t: plots.ppc_ecdf(t, fit.prob),
    }
    return {name: make(tables[name]) for name, make in makers.items() if len(tables[name])}


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
  progress between them.
- **Threshold fall**: the minimum compute reaching {threshold:.0%} normalised score, cheapest in the first month any
  model reaches it over cheapest by the last month; on observed scores (descriptive, as the paper) and on fitted
  scores (eta without the model-specific effect), per draw."""


def _figure_lines(figures: dict[str, Any]) -> list[str]:
    captions = {
        "shapley": "Variance shares with intervals beside the paper's Figure 1 bars",
        "developer_multipliers": "Developer-group multipliers vs Other-Small: posterior vs the paper's OLS",
        "within_firm_spread": "Posterior of the within-firm spread, the paper's value marked",
        "frontier_pairs": "Frontier decomposition between the paper's pairs (and first -> last frontier model)",
        "frontier_running": "Components' shares along the running-best frontier by quarter",
        "scaling_curve": "Scaling curve on the score scale with bands per period, and the data (points: models.csv)",
        "ppc": "Posterior predictive check: ECDF of scores, replicated with fresh and with own model effects",
    }
    return [f"- {captions[name]}: `{name}.png` (data: `{name}.csv`)\n\n  ![{name}]({name}.png)" for name in figures]


def markdown(fit: Fit, tables: dict[str, pd.DataFrame], figures: dict[str, Any], notes: list[str],
             evaluations: list[Path]) -> str:
    """report.md: gate status first, then the headline comparison, the disagreements, definitions and figures."""
    d, attrs, spec = fit.diagnostics, fit.tree.attrs, fit.spec
    lines = [f"# Bayesian report: {spec.name}", ""]
    if not d["passed"]:
        lines += [f"> **WARNING: this fit FAILED the diagnostics gate** ({'; '.join(d['failures'])}). "
                  "Its numbers are not reliable; refit with more draws or tuning before using them.", ""]
    lines += [
        f"{spec.description}. {len(fit.rows)} models from `{attrs['data_source']}` (sha256 {attrs['data_sha256'][:12]}); "
        f"{attrs['chains']} chains x {attrs['draws']} draws after {attrs['tune']} tuning steps ({attrs['sampler']}, "
        f"seed {attrs['seed']}). Diagnostics gate: {'passed' if d['passed'] else 'FAILED'} (max R-hat "
        f"{d['max_rhat']:.3f}, min bulk/tail ESS {d['min_ess_bulk']:.0f}/{d['min_ess_tail']:.0f}, "
        f"{d['divergences']} divergences).",
        "",
        f"Rows: {attrs.get('filters', 'not recorded')}. Periods: "
        f"{describe_periods([str(p) for p in fit.posterior['period'].values], spec.data.time)}.",
        "",
        f"## Headline numbers beside the paper ({fit.prob:.0%} equal-tailed intervals; definitions in headline.csv)",
        comparison_markdown(compare(tables["headline"], paper_reference(spec, fit.design.coords["period"])),
                            fit.prob),
        "",
        "## Where the posterior and the paper differ",
        *[f"- {n}" for n in notes],
        "",
        "## Model checks",
        ppc_note(tables["ppc"], fit),
        "",
        *prediction_section(evaluations),
        "",
        "## Prior and likelihood sensitivity (power-scaling)",
        psense_markdown(tables["psense"]),
        "",
        "## Definitions",
        DEFINITIONS.format(pct=f"{fit.prob:.0%}", lo=50 * (1 - fit.prob), hi=50 * (1 + fit.prob), base=BASE_GROUP,
                           min_firm=headline.MIN_MODELS_PER_FIRM, min_rank=posterior.MIN_MODELS_TO_RANK,
                           threshold=headline.THRESHOLD_NORM_SCORE),
        "",
        "## Figures",
        *_figure_lines(figures),
        "",
        "## Files",
        "headline.csv (every quantity: median, lo, hi, paper, unit, definition), developers.csv (every raw developer), "
        "psense.csv (power-scaling sensitivity of every parameter and per-draw quantity) and one CSV per figure, named as the figure.",
    ]
    return "\n".join(lines) + "\n"


def build_report(fit: Fit, evaluations: list[Path] = ()) -> Report:
    """Compute every table, figure and sentence of the report for a fit; ``evaluations`` are the folders of
    ``bayes-sauce compare`` and ``backtest`` results to include (each read if it exists)."""
    ols = ols_reference(fit)
    tables = build_tables(fit, ols)
    figures = draw_figures(tables, fit)
    notes = disagreements(tables, fit, ols)
    text = markdown(fit, tables, figures, notes, list(evaluations))
    return Report(fit=fit, tables=tables, figures=figures, notes=notes, markdown=text)


def write_report(report: Report) -> list[Path]:
    """Write every table, figure and report.md into the fit folder; return the paths."""
    out = report.fit.path
    paths = []
    for name, table in report.tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
        paths.append(out / f"{name}.csv")
    for name, fig in report.figures.items():
        fig.savefig(out / f"{name}.png", dpi=130)
        plots.plt.close(fig)
        paths.append(out / f"{name}.png")
    (out / "report.md").write_text(report.markdown)
    (out / "report.json").write_text(json.dumps({"fingerprint": report.fit.fingerprint,
                                                 "gate_passed": report.fit.passed}, indent=2) + "\n")
    return [*paths, out / "report.md"]


def terminal_summary(report: Report) -> str:
    """The headline numbers as median [interval] vs the paper, and the gate status, for the terminal."""
    c = Comparison(report.tables, report.fit, None)
    lines = [f"Headline numbers ({report.fit.prob:.0%} intervals) vs the paper, fit '{report.fit.spec.name}':"]
    for q in (q for q in KEY_QUANTITIES if q in c.rows.index):
        paper = format_value(c.rows.loc[q, "paper"], c.rows.loc[q, "unit"]) or "-"
        lines.append(f"  {q:<50} {c.show(q):<34} paper {paper}{'  (outside)' if c.outside[q] else ''}")
    d = report.fit.diagnostics
    lines.append("Diagnostics gate: PASSED" if d["passed"] else
                 f"!! Diagnostics gate FAILED: {'; '.join(d['failures'])}. These numbers are not reliable.")
    return "\n".join(lines)
