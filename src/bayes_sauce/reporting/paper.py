"""The paper's numbers beside ours: formatting in each quantity's unit, comparison tables and their markdown."""

from __future__ import annotations

import pandas as pd

from bayes_sauce.quantities.informed import RULE, uninformed


def format_value(value: float, unit: str) -> str:
    """A number as the paper prints it: shares in percent, multipliers with an 'x'."""
    if pd.isna(value):
        return ""
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "models":
        return f"{value:.0f}"
    if unit == "months":
        return f"{value:.1f}"
    if unit == "x":
        return f"{value:,.0f}x" if abs(value) >= 100 else f"{value:.2f}x"
    return f"{value:.3f}"


def compare(headline: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Ours beside the paper's for every quantity in either; difference = ours - paper (same unit).

    ``headline`` has columns quantity, median, lo, hi, unit (and, for a posterior, informed); a paper number we could
    not compute (e.g. a named model missing from the sample) shows with an empty 'ours'.
    """
    ours = headline.set_index("quantity")
    ids = list(ours.index) + [q for q in paper.index if q not in ours.index and not q.startswith("coef__")]
    table = pd.DataFrame(index=pd.Index(ids, name="quantity"))
    table["unit"] = ours["unit"].combine_first(paper["unit"]).reindex(ids)
    table["ours"] = ours["median"].reindex(ids)
    table["lo"] = ours["lo"].reindex(ids)
    table["hi"] = ours["hi"].reindex(ids)
    table["paper"] = paper["value"].reindex(ids)
    table["difference"] = table["ours"] - table["paper"]
    if "informed" in ours:
        table["informed"] = ours["informed"].reindex(ids)
    return table.reset_index()


def coefficient_comparison(coefficients: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Our coefficients and clustered SEs beside the paper's (``coef__<term>`` rows)."""
    rows = coefficients.set_index("term")
    published = paper[paper.index.str.startswith("coef__")].rename(index=lambda q: q.removeprefix("coef__"))
    table = pd.DataFrame({
        "estimate": rows["estimate"],
        "paper": published["value"].reindex(rows.index),
        "std_error": rows["std_error"],
        "paper_se": published["se"].reindex(rows.index),
    })
    table["difference"] = table["estimate"] - table["paper"]
    return table.reset_index()


def comparison_markdown(table: pd.DataFrame, level: float) -> str:
    """The comparison as a markdown table, numbers formatted in each quantity's unit; a quantity the data do not
    inform (``informed`` False) is marked with a dagger and a note under the table."""
    flagged = table["informed"].map(uninformed) if "informed" in table else pd.Series(False, index=table.index)
    rows = []
    for r, flag in zip(table.itertuples(index=False), flagged):
        interval = f"{format_value(r.lo, r.unit)} to {format_value(r.hi, r.unit)}" if pd.notna(r.lo) else ""
        diff = "" if pd.isna(r.difference) else (
            f"{100 * r.difference:+.1f} pp" if r.unit == "share" else f"{r.difference:+.3g}")
        rows.append({"quantity": r.quantity + " †" * flag, "ours": format_value(r.ours, r.unit) or "not computed",
                     f"{level:.0%} interval": interval, "paper": format_value(r.paper, r.unit), "difference": diff})
    note = f"\n\n† Not informed by the data: {RULE}; no verdict rests on it." if flagged.any() else ""
    return pd.DataFrame(rows).to_markdown(index=False) + note


def coefficient_markdown(table: pd.DataFrame) -> str:
    """Coefficients (clustered SE) beside the paper's, to three decimals."""
    return table.astype(object).where(table.notna(), None).to_markdown(index=False, floatfmt=".3f", missingval="")
