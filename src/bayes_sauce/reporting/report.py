"""The report of a fit: headline.csv, per-developer and frontier tables, figures with their CSVs, report.md.

Reads a fit (``Fit``) and the predictive checks the check step saved with it (``check_step``), computes every
table (:mod:`bayes_sauce.reporting.tables`), draws one figure per table that has one, and writes the sentences of
:mod:`bayes_sauce.reporting.differences` on where the posterior and the paper differ; the report files carry the
fingerprint of the fit they were made from (``report.json``). A report never samples: where the checks were not
computed, it computes the one that needs no fit (the known-family LOO-PIT) and says which command computes the
other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_sauce.data.schema import BASE_GROUP
from bayes_sauce.fit.fit import Fit
from bayes_sauce.periods import PERIOD_COLUMN, describe_periods
from bayes_sauce.quantities import headline
from bayes_sauce.quantities.headline import KEY_QUANTITIES
from bayes_sauce.quantities.keys import MODEL
from bayes_sauce.reporting import data_plots, html, plots
from bayes_sauce.reporting.claims import CONTRADICT, RULE, SUPPORT, THRESHOLD, overall, verdicts
from bayes_sauce.predictive.check_step import saved_checks
from bayes_sauce.predictive.checks import predictive_checks
from bayes_sauce.reporting.differences import (Comparison, checks_note, disagreements, failed_checks_warning,
                                               ppc_note)
from bayes_sauce.reporting.evaluation import prediction_section
from bayes_sauce.reporting.paper import compare, comparison_markdown, format_value
from bayes_sauce.reporting.psense import psense_markdown
from bayes_sauce.reporting.tables import build_tables, ols_reference, paper_reference
from bayes_sauce.reporting.texts import CAPTIONS, definitions, fit_sentence


@dataclass(frozen=True)
class Report:
    """Everything the report writes: tables by file stem, figures by file stem (each has a table), markdown."""

    fit: Fit
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Any]
    notes: list[str]
    markdown: str
    checks: dict[str, dict[str, Any]]
    evaluations: tuple[Path, ...] = ()


def draw_figures(tables: dict[str, pd.DataFrame], fit: Fit) -> dict[str, Any]:
    """One figure per table that has one (same stem); tables without rows get no figure."""
    rows = tables["headline"].set_index("quantity")
    fall = format_value(rows["median"].get(THRESHOLD.id, float("nan")), "x")
    makers = {
        "shapley": lambda t: plots.shapley_bars(t, fit.prob),
        "developer_multipliers": lambda t: plots.developer_forest(t, fit.prob, BASE_GROUP),
        "within_firm_spread": lambda t: plots.spread_posterior(t, rows),
        "frontier_pairs": lambda t: plots.frontier_pairs(t, fit.prob),
        "frontier_running": lambda t: plots.frontier_running(t, fit.prob),
        "threshold_fall": lambda t: data_plots.threshold_fall(t, headline.THRESHOLD_NORM_SCORE, fall),
        "scaling_curve": lambda t: plots.scaling_curve(t, fit.rows, fit.spec.data.outcome,
                                                       PERIOD_COLUMN[fit.spec.data.time], fit.prob),
        "ppc": lambda t: plots.ppc_ecdf(t, fit.prob),
    }
    return {name: make(tables[name]) for name, make in makers.items() if len(tables[name])}


def _figure_lines(figures: dict[str, Any]) -> list[str]:
    return [f"- {CAPTIONS.get(name, name)}: `{name}.png` (data: `{name}.csv`)\n\n  ![{name}]({name}.png)"
            for name in figures]


def markdown(fit: Fit, tables: dict[str, pd.DataFrame], figures: dict[str, Any], notes: list[str],
             checks: dict[str, dict[str, Any]], evaluations: list[Path]) -> str:
    """report.md: gate status first, then the answer (each claim's verdict), the headline comparison, the
    disagreements, definitions and figures."""
    d, spec = fit.diagnostics, fit.spec
    found = verdicts(tables, fit.prob)
    views = tables["headline"]["view"]
    reference = paper_reference(spec, fit.design.coords["period"])
    lines = [f"# Bayesian report: {spec.name}", ""]
    if not d["passed"]:
        lines += [f"> **WARNING: this fit FAILED the diagnostics gate** ({'; '.join(d['failures'])}). "
                  "Its numbers are not reliable; refit with more draws or tuning before using them.", ""]
    if warning := failed_checks_warning(checks):
        lines += [f"> **{warning}**", ""]
    lines += [
        fit_sentence(fit) + " The same report, easier to read (figures in the page): `report.html`.",
        "",
        "## The answer",
        overall(found, tables["headline"], fit.prob),
        "",
        *[f"- **{v.claim.title}** ({v.status}). {v.sentence}" for v in found],
        "",
        RULE,
        "",
        f"Rows: {fit.tree.attrs.get('filters', 'not recorded')}. Periods: "
        f"{describe_periods([str(p) for p in fit.posterior['period'].values], spec.data.time)}.",
        "",
        f"## Headline numbers beside the paper: the paper view ({fit.prob:.0%} equal-tailed intervals; definitions "
        "in headline.csv)",
        comparison_markdown(compare(tables["headline"][views != MODEL], reference), fit.prob),
        "",
        "## The model view: what the paper's regression cannot see (not compared with the paper's numbers)",
        comparison_markdown(compare(tables["headline"][views == MODEL], reference.iloc[:0]), fit.prob),
        "",
        "## Where the posterior and the paper differ",
        *[f"- {n}" for n in notes],
        "",
        "## Model checks",
        "Predictive checks (checks.json, by `bayes-sauce check`): each model's observed score as a probability "
        "integral transform (PIT) of "
        "its predictive distribution; a calibrated model's PITs are uniform.",
        checks_note(checks),
        "",
        ppc_note(tables["ppc"], fit),
        "",
        *prediction_section(evaluations),
        "",
        "## Prior and likelihood sensitivity (power-scaling)",
        psense_markdown(tables["psense"]),
        "",
        "## Definitions",
        definitions(fit, tables),
        "",
        "## Figures",
        *_figure_lines(figures),
        "",
        "## Files",
        "headline.csv (every quantity: median, lo, hi, paper, unit, definition, view, name, width_vs_prior, "
        "informed), claims.csv (each claim's probability and verdict), components.csv (each view's components), "
        "developers.csv (every developer of the model), model_effects.csv, psense.csv (power-scaling sensitivity of "
        "every parameter and per-draw quantity) and one CSV per figure, named as the figure.",
    ]
    return "\n".join(lines) + "\n"


def build_report(fit: Fit, evaluations: list[Path] = ()) -> Report:
    """Compute every table, figure and sentence of the report for a fit; ``evaluations`` are the folders of
    ``bayes-sauce compare`` and ``backtest`` results to include (each read if it exists). The predictive checks
    are those the check step saved with the fit; without them, only those that need no fit."""
    ols = ols_reference(fit)
    tables = build_tables(fit, ols)
    checks = (saved_checks(fit) if fit.path is not None else None) or predictive_checks(fit, new_family=False)
    figures = draw_figures(tables, fit)
    notes = disagreements(tables, fit, ols)
    text = markdown(fit, tables, figures, notes, checks, list(evaluations))
    return Report(fit=fit, tables=tables, figures=figures, notes=notes, markdown=text, checks=checks,
                  evaluations=tuple(evaluations))


def write_report(report: Report) -> list[Path]:
    """Write every table, figure, report.md and report.html (the figures inside it) into the fit folder as one set
    (:func:`write_report_files`); return the paths."""
    def write(out: Path) -> list[str]:
        names = []
        for name, table in report.tables.items():
            table.to_csv(out / f"{name}.csv", index=False)
            names.append(f"{name}.csv")
        images = {}
        for name, fig in report.figures.items():
            fig.savefig(out / f"{name}.png", dpi=130)
            plots.plt.close(fig)
            images[name] = (out / f"{name}.png").read_bytes()
            names.append(f"{name}.png")
        (out / "report.md").write_text(report.markdown)
        (out / "report.html").write_text(html.page(report.fit, report.tables, report.notes, images, report.checks,
                                                   report.evaluations), encoding="utf-8")
        return [*names, "report.md", "report.html"]

    return [report.fit.path / name for name in write_report_files(report.fit, write)]


def write_report_files(fit: Fit, write) -> list[str]:
    """A report's files reach the fit folder as a set (:func:`bayes_sauce.store.write_files`), with report.json
    listing them, so a failure (a full disk, Ctrl-C) leaves the previous report or the new one, never a mix; the
    previous report's files that the new one lacks go. Refused when the folder no longer holds this fit."""
    from bayes_sauce.fit.fit import FIT_OUTPUTS, FitError, existing_fingerprint, report_files
    from bayes_sauce.store import locked, write_files

    folder = fit.path
    with locked(folder):
        if existing_fingerprint(folder) != fit.fingerprint:
            raise FitError(f"{folder}: the fit was replaced while its report was being made; run the report again")

        def write_all(out: Path) -> list[str]:
            names = write(out)
            (out / "report.json").write_text(json.dumps({"fingerprint": fit.fingerprint, "gate_passed": fit.passed,
                                                         "files": names}, indent=2) + "\n")
            return [*names, "report.json"]

        # An earlier report's files go, but not what other steps wrote (an old report listed checks.json).
        drop = [name for name in report_files(folder) if name not in FIT_OUTPUTS]
        return write_files(folder, write_all, drop=drop)[:-1]


def terminal_summary(report: Report) -> str:
    """For the terminal: each claim's verdict, the key numbers as median [interval] vs the paper, the gate."""
    c = Comparison(report.tables, report.fit, None)
    found = verdicts(report.tables, report.fit.prob)
    lines = [f"The paper's claims, fit '{report.fit.spec.name}' (the posterior probability of each claim as the paper "
             f"states it, paper view; supported at >= {SUPPORT:.0%}, contradicted at <= {CONTRADICT:.0%}):"]
    lines += [f"  {v.status.upper():<25} P = {v.row['probability']:.2f}  {v.claim.title}" if pd.notna(v.row["probability"])
              else f"  {v.status.upper():<25} {'':>8}  {v.claim.title}" for v in found]
    lines += ["", f"Key numbers ({report.fit.prob:.0%} intervals), ours vs the paper:"]
    shown = [q for q in KEY_QUANTITIES if q in c.rows.index]
    width = max((len(c.rows.loc[q, "name"]) for q in shown), default=0)
    for q in shown:
        paper = format_value(c.rows.loc[q, "paper"], c.rows.loc[q, "unit"]) or "-"
        lines.append(f"  {c.rows.loc[q, 'name']:<{width}}  {c.show(q):<30} paper {paper}"
                     f"{'  (outside)' if c.outside[q] else ''}")
    if any(np.isinf(c.rows.loc[q, ["median", "lo", "hi"]].astype(float)).any() for q in shown):
        lines.append("  (inf: the quantity is infinite in more than 5% of the draws, e.g. a halving time where a draw "
                     "has no progress; see the definitions in report.md)")
    d = report.fit.diagnostics
    lines.append("Diagnostics gate: PASSED" if d["passed"] else
                 f"!! Diagnostics gate FAILED: {'; '.join(d['failures'])}. These numbers are not reliable.")
    if warning := failed_checks_warning(report.checks):
        lines.append(f"!! {warning}")
    return "\n".join(lines)
