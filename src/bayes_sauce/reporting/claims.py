"""The paper's headline claims, each checked against a fit's headline table: the verdicts and sentences the
report page and the terminal lead with, generated from the numbers.

A claim survives when the paper's value of its numbers lies inside our interval: the data, read through our
model, do not contradict it. A claim names its numbers by id patterns (its lead number first) and its figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd

from bayes_sauce.reporting.names import readable
from bayes_sauce.reporting.paper import format_value


@dataclass(frozen=True)
class Claim:
    """One of the paper's headline claims: an anchor, the claim in words, its numbers' id patterns, its figures."""

    key: str
    title: str
    quantities: tuple[str, ...]
    figures: tuple[str, ...]


CLAIMS = (
    Claim("frontier", "At the frontier, most of the gain in score comes from more compute",
          ("frontier_compute_share__Llama-2-70B__DeepSeek-V3", "frontier_*_share__*"),
          ("frontier_pairs", "frontier_running")),
    Claim("variance", "Differences in scores split between compute, shared progress, developers and the models "
                      "themselves", ("shapley_compute", "shapley_*"), ("shapley",)),
    Claim("within_firm", "A firm's own models differ widely in compute efficiency",
          ("within_firm_spread_p90_p10", "within_firm_spread_*"), ("within_firm_spread",)),
    Claim("developers", "Some developers need far less compute for the same score",
          ("developer_multiplier__Nvidia", "developer_multiplier__*"), ("developer_multipliers",)),
    Claim("progress", "Shared algorithmic progress cuts the compute needed for a given score",
          ("progress_multiplier_last_vs_first", "progress_*"), ("scaling_curve",)),
    Claim("threshold", "The compute needed to reach a fixed score fell by orders of magnitude",
          ("threshold_compute_fall_all", "threshold_compute_fall_*"), ("threshold_fall",)),
)
SURVIVES, PARTLY, FAILS, REPRODUCED, UNTESTED = (
    "survives", "partly survives", "does not survive", "reproduced", "no published value")

# How the overall sentence says each status, for one claim and for several.
VERBS = {SURVIVES: ("survives", "survive"), PARTLY: ("partly survives", "partly survive"),
         FAILS: ("does not survive", "do not survive"), REPRODUCED: ("is reproduced", "are reproduced"),
         UNTESTED: ("has no published value", "have no published value")}


def as_printed(ours: float, paper: float, decimals: int | None = None) -> bool:
    """Whether ours rounds to the paper's value at the precision the paper prints it with (``decimals``; 2.3 takes
    2.25 to 2.35); without ``decimals``, the precision is read off the float (trailing zeros are lost)."""
    if decimals is None:
        text = repr(float(paper))
        if "e" in text or "n" in text:  # exponent notation, inf or nan: no printed decimals to read
            return bool(np.isclose(ours, paper, rtol=1e-3))
        decimals = len(text.partition(".")[2].rstrip("0"))
    return bool(abs(ours - paper) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9))


def position(row: pd.Series) -> str:
    """Where the paper's value lies against our interval: inside, above, below; same (a number without an
    interval, e.g. descriptive, equal to the paper's as it prints it), differs, or no published value."""
    if pd.isna(row["paper"]):
        return "no published value"
    if pd.isna(row["lo"]):
        return "same" if as_printed(row["median"], row["paper"]) else "differs"
    return "above" if row["paper"] > row["hi"] else "below" if row["paper"] < row["lo"] else "inside"


def show(row: pd.Series, prob: float) -> str:
    """'median (90% interval lo to hi)' in the quantity's unit."""
    value = format_value(row["median"], row["unit"])
    if pd.isna(row["lo"]):
        return value
    return f"{value} ({prob:.0%} interval {format_value(row['lo'], row['unit'])} to {format_value(row['hi'], row['unit'])})"


@dataclass(frozen=True)
class Verdict:
    """A claim checked: its rows of the headline table (with ``position``), its lead number, status and sentence."""

    claim: Claim
    rows: pd.DataFrame
    lead: str
    status: str
    sentence: str


def _status(positions: pd.Series) -> str:
    compared = positions[positions.isin(["inside", "above", "below"])]
    if not len(compared):  # descriptive numbers only: the same computation on the rows gives the paper's or not
        return REPRODUCED if (positions == "same").any() else FAILS if (positions == "differs").any() else UNTESTED
    inside = (compared == "inside").sum()
    return SURVIVES if inside == len(compared) else FAILS if inside == 0 else PARTLY


def _sentence(lead: pd.Series, positions: pd.Series, status: str, prob: float) -> str:
    """The lead number beside the paper's, and what the claim's numbers say together."""
    text = f"{readable(lead.name)}: the paper {format_value(lead['paper'], lead['unit']) or 'gives no value'}, " \
           f"ours {show(lead, prob)}."
    compared = positions[positions.isin(["inside", "above", "below"])]
    inside = int((compared == "inside").sum())
    of = f"{inside} of its {len(compared)} numbers with a published value {'lies' if inside == 1 else 'lie'} inside our intervals"
    if status == SURVIVES:
        return text + (" The paper's value lies inside our interval." if len(compared) == 1 else
                       f" The paper's values of {'both' if len(compared) == 2 else f'all {len(compared)}'} of its "
                       "numbers lie inside our intervals.")
    if status == REPRODUCED:
        return text + " The same data give the same number, as the paper prints it (descriptive: no model involved)."
    if status == UNTESTED:
        return text + " The paper publishes no value to compare with."
    if not len(compared):
        return text + " The same computation on these rows gives a different number (descriptive: no model involved)."
    where = {"above": "above our interval: ours is lower", "below": "below our interval: ours is higher",
             "inside": "inside our interval"}.get(positions[lead.name], "not comparable")
    return text + f" The paper's value lies {where}; {of}."


def verdicts(headline: pd.DataFrame, prob: float, claims: tuple[Claim, ...] = CLAIMS) -> list[Verdict]:
    """Each claim with at least one of its numbers in the headline table, checked."""
    table = headline.set_index("quantity")
    out = []
    for claim in claims:
        ids = list(dict.fromkeys(q for pattern in claim.quantities for q in table.index if fnmatchcase(q, pattern)))
        if not ids:
            continue
        rows = table.loc[ids].copy()
        rows["position"] = rows.apply(position, axis=1)
        status = _status(rows["position"])
        out.append(Verdict(claim, rows, ids[0], status, _sentence(rows.loc[ids[0]], rows["position"], status, prob)))
    return out


def overall(found: list[Verdict], headline: pd.DataFrame, prob: float) -> str:
    """One sentence over every claim, and the count of all published numbers inside our intervals."""
    counts = pd.Series([v.status for v in found]).value_counts()
    parts = [f"{counts[s]} {VERBS[s][int(counts[s] > 1)]}" for s in VERBS if s in counts]
    positions = headline.set_index("quantity").apply(position, axis=1)
    compared = positions.isin(["inside", "above", "below"])
    return (f"Of the paper's {len(found)} headline claims checked here, {', '.join(parts)} (a claim survives when the "
            f"paper's value lies inside our {prob:.0%} interval). Across all {int(compared.sum())} numbers with a "
            f"published value and an interval, {int((positions == 'inside').sum())} lie inside.")
