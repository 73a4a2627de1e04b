"""The sweep's report: sensitivity.md, the robustness table in markdown, the figure, the terminal summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bayes_sauce.defaults import INTERVAL_PROB
from bayes_sauce.quantities.headline import KEY_QUANTITIES
from bayes_sauce.reporting import plots
from bayes_sauce.reporting.paper import format_value
from bayes_sauce.reporting.psense import psense_markdown
from bayes_sauce.sensitivity.sweep import SweepResult
from bayes_sauce.spec.sweep import DEFAULT_VARIANT, KINDS

def _cell(rows: pd.DataFrame, kind: str) -> str:
    """One robustness cell: the medians' range and the variants outside the default's interval."""
    sub = rows[rows["kind"] == kind]
    if sub.empty:
        return ""
    r = sub.iloc[0]
    span = f"{format_value(r['min_median'], r['unit'])} to {format_value(r['max_median'], r['unit'])}"
    return f"{span}; outside: {r['outside']}" if r["outside"] else f"{span}; all inside"

def robustness_markdown(rob: pd.DataFrame, prob: float) -> str:
    """Robustness as a table: the default fit and, per kind of choice, the range of medians and who falls outside."""
    kinds = [k for k in KINDS if k in set(rob["kind"])]
    rows = []
    for quantity, sub in rob.groupby("quantity", sort=False):
        r = sub.iloc[0]
        default = (f"{format_value(r['default_median'], r['unit'])} [{format_value(r['default_lo'], r['unit'])}, "
                   f"{format_value(r['default_hi'], r['unit'])}]")
        rows.append({"quantity": quantity, "default": default, "paper": format_value(r["paper"], r["unit"]),
                     **{f"{k} variants": _cell(sub, k) for k in kinds}})
    header = (f"Default fit: median [{prob:.0%} interval]. Per kind of choice: the range of the variants' medians and the "
              "variants whose median falls outside the default's interval (only variants that passed the gate).")
    return header + "\n\n" + pd.DataFrame(rows).to_markdown(index=False)

def sweep_markdown(result: SweepResult) -> str:
    """sensitivity.md: variants and their status, robustness of the headline numbers, psense of the default fit."""
    v = result.variants
    failed = v[v["status"] != "passed"]
    lines = [
        f"# Sensitivity sweep: {result.sweep.name}", "",
        f"{result.sweep.description} Sweep file `{result.sweep.path}`; {len(v)} variants "
        f"({len(result.fitted)} fitted in this run, the rest from the cache); wall time of this run "
        f"{result.wall_s:.0f} s. Every variant is compared with the paper's main analysis.", "",
    ]
    if len(failed):
        lines += [f"> **{len(failed)} variant(s) did not give reliable numbers**: " + "; ".join(
            f"{r.variant} ({r.error})" for r in failed.itertuples()), ""]
    lines += [
        "## Variants", "",
        v[["variant", "kind", "changes", "status", "n_models", "seconds"]].to_markdown(index=False, floatfmt=".0f"), "",
        "## Robustness of the headline numbers", "",
        robustness_markdown(result.robustness, INTERVAL_PROB) if len(result.robustness) else
        "No robustness table: the default variant did not pass the gate.", "",
        "## Power-scaling sensitivity of the default fit", "",
    ]
    default = result.psense[result.psense["variant"] == DEFAULT_VARIANT]
    lines += [psense_markdown(default.drop(columns="variant")) if len(default) else "The default variant was not fitted.",
              "", "## Files", "",
              "`sensitivity.csv` (every headline number of every variant, long; the figure's data), `sensitivity.png`, "
              "`robustness.csv`, `variants.csv`, `psense.csv` (every variant), and one fit folder per variant "
              "(`<variant>-<hash>/`, a complete `bayes-sauce fit` folder that `bayes-sauce report` can read)."]
    return "\n".join(lines) + "\n"

def write_outputs(result: SweepResult) -> list[Path]:
    """Write the tables, the figure and sensitivity.md into the sweep's folder."""

    out = result.out
    out.mkdir(parents=True, exist_ok=True)
    files = {"sensitivity.csv": result.table, "variants.csv": result.variants, "robustness.csv": result.robustness,
             "psense.csv": result.psense}
    for name, table in files.items():
        table.to_csv(out / name, index=False)
    paths = [out / n for n in files]
    if result.table["quantity"].isin(KEY_QUANTITIES).any():
        fig = plots.sensitivity_forest(result.table, KEY_QUANTITIES, DEFAULT_VARIANT, INTERVAL_PROB)
        fig.savefig(out / "sensitivity.png", dpi=110)
        plots.plt.close(fig)
        paths.append(out / "sensitivity.png")
    (out / "sensitivity.md").write_text(sweep_markdown(result))
    return [*paths, out / "sensitivity.md"]

def terminal_summary(result: SweepResult) -> str:
    """Which headline numbers move under which kind of choice, in a few lines."""
    lines = [f"Sweep '{result.sweep.name}': {len(result.variants)} variants, wall time {result.wall_s:.0f} s; "
             f"status: {result.variants['status'].value_counts().to_dict()}"]
    for quantity, sub in result.robustness.groupby("quantity", sort=False):
        r = sub.iloc[0]
        moved = [f"{k}: {o}" for k, o in zip(sub["kind"], sub["outside"]) if o]
        lines.append(f"  {quantity:<50} default {format_value(r['default_median'], r['unit'])}; "
                     + ("outside the default's interval: " + " | ".join(moved) if moved else "robust to every variant"))
    flagged = result.psense[(result.psense["variant"] == DEFAULT_VARIANT) & result.psense["prior_sensitive"]]
    lines.append("psense (default fit), prior-sensitive: " + (", ".join(flagged["variable"]) or "none"))
    return "\n".join(lines)
