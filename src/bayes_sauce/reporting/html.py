"""report.html: a fit's report as one self-contained page that opens from disk (figures inside it as PNG, the
style and a few lines of script inline, nothing from the network).

It leads with the answer (each of the paper's claims, its posterior probability as the paper states it and the
verdict that follows, in sentences generated from the numbers), then the gate and the predictive checks, then the claims one by one
with their numbers and figures, then the details. It renders whatever the report holds: every headline
row, every figure, every note, so a new quantity or component shows without a change here.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

from bayes_sauce.fit.fit import Fit
from bayes_sauce.quantities.informed import uninformed
from bayes_sauce.reporting.claims import (CONTRADICTED, NOT_REPRODUCED, REPRODUCED, RULE, SUPPORTED, UNDECIDED, Verdict,
                                          overall, position, verdicts)
from bayes_sauce.reporting.differences import checks_note, failed_checks_warning, ppc_note
from bayes_sauce.reporting.evaluation import prediction_section
from bayes_sauce.reporting.paper import format_value
from bayes_sauce.reporting.psense import psense_markdown
from bayes_sauce.reporting.texts import CAPTIONS, definitions, fit_sentence

MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
STATUS_CLASS = {SUPPORTED: "ok", REPRODUCED: "ok", UNDECIDED: "partly", CONTRADICTED: "no",
                NOT_REPRODUCED: "no"}  # any other status (not informed, not computed): "na"
POSITION_WORDS = {"inside": "inside our interval", "above": "above our interval", "below": "below our interval",
                  "same": "the same number", "differs": "differs", "no published value": ""}
CHECK_FIGURES = ("ppc",)
LONG_TABLE = 12  # rows; longer tables scroll in a box and get a filter box (report_page.js, the same number)
# The gate's rows: label, key in diagnostics.json, its threshold's key, and how the value must compare.
GATE_ROWS = (("max R-hat", "max_rhat", "max_rhat", "<="), ("min bulk ESS", "min_ess_bulk", "min_ess", ">="),
             ("min tail ESS", "min_ess_tail", "min_ess", ">="), ("divergences", "divergences", "divergences", "<="),
             ("min E-BFMI", "min_bfmi", "min_bfmi", ">="))


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def md(text: str) -> str:
    """Markdown (the report's sentences and sections) as HTML; raw HTML in it is escaped."""
    return MARKDOWN.render(text)


def number(value: object) -> str:
    """A number without a unit: integers with separators, others to four significant digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if pd.isna(value):
        return ""
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def num_cell(value: object, unit: str | None = None) -> str:
    """A right-aligned cell that sorts by the raw number and shows it in its unit."""
    raw = "" if pd.isna(value) else repr(float(value))
    shown = format_value(value, unit) if unit is not None else number(value)
    return f'<td class="num" data-sort="{raw}">{esc(shown)}</td>'


def frame_table(frame: pd.DataFrame, units: dict[str, str] | None = None) -> str:
    """Any table: text as text, numbers right-aligned (in a unit where one is given), sortable by column."""
    units = units or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = [num_cell(v, units.get(c)) if pd.api.types.is_number(v) and not isinstance(v, bool)
                 else f"<td>{esc(number(v) if isinstance(v, bool) or pd.isna(v) else v)}</td>" for c, v in row.items()]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return wrap_table(head, body)


def wrap_table(header: str, body: list[str]) -> str:
    """A table from its header cells and body rows; a long one scrolls inside a box (its header stays in view)."""
    table = f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="scroll">{table}</div>' if len(body) > LONG_TABLE else table


def quantity_table(rows: pd.DataFrame, prob: float, with_definitions: bool) -> str:
    """Headline rows (index quantity): readable name and id, ours, interval, the paper's, where it lies, whether the
    data inform it."""
    head = ["Quantity", "Ours (median)", f"{prob:.0%} interval", "Paper", "The paper's value", "Unit",
            "Informed by the data"]
    head += ["Definition"] * with_definitions
    body = []
    for q, r in rows.iterrows():
        where = position(r)
        interval = "" if pd.isna(r["lo"]) else f"{format_value(r['lo'], r['unit'])} to {format_value(r['hi'], r['unit'])}"
        informed = "no: prior-dominated" if uninformed(r["informed"]) else "" if pd.isna(r["width_vs_prior"]) else "yes"
        cells = [f'<td class="quantity"><span class="name">{esc(r["name"])}</span><span class="id">{esc(q)}</span></td>',
                 num_cell(r["median"], r["unit"]), f'<td class="num" data-sort="{"" if pd.isna(r["lo"]) else r["lo"]!r}">'
                 f"{esc(interval)}</td>", num_cell(r["paper"], r["unit"]),
                 f'<td class="pos">{esc(POSITION_WORDS.get(where, where))}</td>', f"<td>{esc(r['unit'])}</td>",
                 f"<td>{esc(informed)}</td>"]
        cells += [f'<td class="def">{esc(r["definition"])}</td>'] * with_definitions
        body.append(f'<tr class="{esc(where)}">{"".join(cells)}</tr>')
    return wrap_table("".join(f"<th>{esc(h)}</th>" for h in head), body)


def figure(name: str, data: bytes, caption: str, links: Sequence[str] = ()) -> str:
    """A PNG inside the page, its caption and links to its files beside the page."""
    files_ = f" Files: {', '.join(f'<a href={esc(link)!r}>{esc(link)}</a>' for link in links)}." if links else ""
    return (f'<figure id="fig-{esc(name)}"><img src="data:image/png;base64,{base64.b64encode(data).decode()}" '
            f'alt="{esc(caption)}"><figcaption>{esc(caption)}.{files_}</figcaption></figure>')


def report_figure(name: str, images: dict[str, bytes]) -> str:
    return figure(name, images[name], CAPTIONS.get(name, name), (f"{name}.png", f"{name}.csv"))


def badge(status: str) -> str:
    return f'<span class="badge {STATUS_CLASS.get(status, "na")}">{esc(status)}</span>'


def answer_section(found: list[Verdict], headline: pd.DataFrame, prob: float) -> str:
    items = "".join(f'<li class="{STATUS_CLASS.get(v.status, "na")}">{badge(v.status)}<strong>{esc(v.claim.title)}.'
                    f'</strong> {esc(v.sentence)} <a href="#claim-{esc(v.claim.key)}">Numbers and figure</a></li>'
                    for v in found)
    return (f'<section id="answer"><h2>The answer</h2><p class="lead">{esc(overall(found, headline, prob))}</p>'
            f'<ul class="claims">{items}</ul>{md(RULE)}</section>')


def gate_table(d: dict) -> str:
    thresholds = d.get("thresholds", {})
    rows = "".join(f"<tr><td>{esc(label)}</td>{num_cell(d[key])}<td>{esc(op)} {esc(number(thresholds[limit]))}</td></tr>"
                   for label, key, limit, op in GATE_ROWS if key in d and limit in thresholds and d[key] is not None)
    verdict = ("<p><strong>Passed</strong>: every varying posterior quantity meets every target.</p>" if d["passed"] else
               f"<p class=\"warning\"><strong>FAILED</strong>: {esc('; '.join(d['failures']))}.</p>")
    return (f'{verdict}<table class="compact"><thead><tr><th>check</th><th>value</th><th>target</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def checks_section(fit: Fit, tables: dict[str, pd.DataFrame], images: dict[str, bytes], checks: dict[str, dict],
                   evaluations: Sequence[Path]) -> str:
    parts = ['<section id="checks"><h2>Can these numbers be trusted?</h2>',
             "<h3>Sampling diagnostics (the gate)</h3>", gate_table(fit.diagnostics), "<h3>Posterior predictive checks</h3>",
             md(checks_note(checks))]
    if "ppc" in tables and len(tables["ppc"]):
        parts.append(md(ppc_note(tables["ppc"], fit)))
    parts += [report_figure(name, images) for name in CHECK_FIGURES if name in images]
    parts += ["<h3>How well does the model predict</h3>", md("\n".join(prediction_section(list(evaluations))[1:]))]
    for folder in evaluations:
        if (png := Path(folder) / "backtest.png").exists():
            parts.append(figure("backtest", png.read_bytes(), f"Backtest scores ({folder})", (str(png),)))
    return "".join(parts) + "</section>"


def claims_section(found: list[Verdict], images: dict[str, bytes], prob: float) -> str:
    parts = ['<section id="claims"><h2>The claims one by one</h2>']
    for v in found:
        parts += [f'<article class="claim" id="claim-{esc(v.claim.key)}"><h3>{badge(v.status)}{esc(v.claim.title)}</h3>',
                  f"<p>{esc(v.sentence)}</p>", quantity_table(v.rows, prob, with_definitions=False)]
        parts += [report_figure(name, images) for name in v.claim.figures if name in images]
        parts.append("</article>")
    return "".join(parts) + "</section>"


def details_section(fit: Fit, tables: dict[str, pd.DataFrame], images: dict[str, bytes], shown: set[str]) -> str:
    headline = tables["headline"].set_index("quantity")
    developers = tables.get("developers", pd.DataFrame())
    diagnostics = pd.json_normalize(fit.diagnostics, sep=".").T.reset_index()
    diagnostics.columns = ["key", "value"]
    diagnostics["value"] = diagnostics["value"].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v)
    parts = ['<section id="details"><h2>Details</h2>',
             f"<h3>Every headline number ({len(headline)})</h3>", quantity_table(headline, fit.prob, with_definitions=True)]
    if len(developers):
        units = {c: "x" for c in developers.columns if c.startswith("vs_")}
        parts += [f"<h3>Every developer ({len(developers)})</h3>",
                  "<p>Compute multipliers vs Other-Small and vs the average developer, and the probability of being "
                  "the most compute-efficient.</p>", frame_table(developers, units)]
    parts += ["<h3>Definitions</h3>", md(definitions(fit, tables))]
    if "psense" in tables and len(tables["psense"]):
        parts += ["<h3>Prior and likelihood sensitivity (power-scaling)</h3>", md(psense_markdown(tables["psense"]))]
    parts += ["<h3>Diagnostics in full (diagnostics.json)</h3>", frame_table(diagnostics)]
    others = [name for name in images if name not in shown]
    if others:
        parts += ["<h3>Other figures</h3>", *(report_figure(name, images) for name in others)]
    links = ([f"{name}.csv" for name in tables] + [f"{name}.png" for name in images]
             + ["report.md", "checks.json", "diagnostics.json"])
    parts += ["<h3>Files beside this page</h3><p>", ", ".join(f'<a href="{esc(f)}">{esc(f)}</a>' for f in links), "</p>"]
    return "".join(parts) + "</section>"


def page(fit: Fit, tables: dict[str, pd.DataFrame], notes: list[str], images: dict[str, bytes],
         checks: dict[str, dict], evaluations: Sequence[Path] = ()) -> str:
    """The whole page: header, the answer, the checks, the claims, where and why we differ, the details."""
    headline = tables["headline"]
    found = verdicts(tables, fit.prob)
    shown = {*CHECK_FIGURES, *(name for v in found for name in v.claim.figures)}
    warning = ("" if fit.passed else f'<div class="warning"><strong>This fit FAILED the diagnostics gate</strong> '
               f"({esc('; '.join(fit.diagnostics['failures']))}). Its numbers are not reliable; refit with more draws "
               "or tuning before using them.</div>")
    if check_warning := failed_checks_warning(checks):
        warning += f'<div class="warning">{esc(check_warning)}</div>'

    nav = "".join(f'<a href="#{key}">{label}</a>' for key, label in (
        ("answer", "The answer"), ("checks", "Can these numbers be trusted?"), ("claims", "The claims one by one"),
        ("differences", "Where and why ours differ"), ("details", "Details")))
    notes_html = "".join(f"<li>{MARKDOWN.renderInline(n)}</li>" for n in notes)
    style = files("bayes_sauce.reporting").joinpath("report_page.css").read_text()
    script = files("bayes_sauce.reporting").joinpath("report_page.js").read_text()
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Is there secret sauce in LLM development? Bayesian report: {esc(fit.name)}</title>",
        f"<style>{style}</style></head><body>",
        "<header><h1>How sure can we be that LLM progress is mostly compute?</h1>",
        "<p class=\"sub\">A Bayesian re-analysis of Mertens, Fischl-Lanzoni and Thompson (2026), \"Is there 'Secret "
        f"Sauce' in LLM Development?\" Fit <code>{esc(fit.name)}</code>: {MARKDOWN.renderInline(fit_sentence(fit))}</p>",
        f"<nav>{nav}</nav>{warning}</header><main>",
        answer_section(found, headline, fit.prob),
        checks_section(fit, tables, images, checks, evaluations),
        claims_section(found, images, fit.prob),
        f'<section id="differences"><h2>Where and why ours differ from the paper\'s</h2><ul>{notes_html}</ul></section>',
        details_section(fit, tables, images, shown),
        "</main><footer>Written by <code>bayes-sauce report</code> from the fit with fingerprint "
        f"<code>{esc(fit.fingerprint)}</code>. Every number on this page is in the CSV files beside it.</footer>",
        f"<script>{script}</script></body></html>",
    ]) + "\n"
