"""The paper's headline claims, each given the posterior probability of the claim as the paper states it (in the paper
view: the paper's decomposition at each draw), and a verdict that follows from that probability by the rule in
``RULE``; whether the paper's value lies inside our interval is kept beside it as a weaker, second test. The verdicts
and sentences the report, the page and the terminal lead with are generated from ``claims.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.quantities.headline import FRONTIER_PAIRS, Quantity
from bayes_sauce.quantities.informed import uninformed
from bayes_sauce.quantities.keys import MODEL, PAPER, Key
from bayes_sauce.reporting.paper import format_value

SUPPORT, CONTRADICT = 0.9, 0.1  # the verdict's thresholds on the claim's posterior probability
SUPPORTED, UNDECIDED, CONTRADICTED = "supported", "undecided", "contradicted"
REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
UNINFORMED, UNTESTED = "not informed by the data", "not computed"
RULE = (f"A claim is **{SUPPORTED}** when its posterior probability is at least {SUPPORT:.0%}, **{CONTRADICTED}** when "
        f"it is at most {CONTRADICT:.0%}, and **{UNDECIDED}** in between; a descriptive claim (no model involved) is "
        f"**{REPRODUCED}** when the same computation on the same rows gives every one of its numbers as the paper prints "
        f"it. A claim whose lead number the data do not inform gets no verdict (**{UNINFORMED}**). Whether the paper's "
        "value lies inside our interval is shown beside the verdict as a second, weaker test: with a wide interval it "
        "hardly fails.")
# How the overall sentence says each verdict, for one claim and for several.
VERBS = {SUPPORTED: ("is supported", "are supported"), UNDECIDED: ("is undecided", "are undecided"),
         CONTRADICTED: ("is contradicted", "are contradicted"), REPRODUCED: ("is reproduced", "are reproduced"),
         NOT_REPRODUCED: ("is not reproduced", "are not reproduced"),
         UNINFORMED: ("is not informed by the data", "are not informed by the data"),
         UNTESTED: ("could not be computed", "could not be computed")}
CLAIM_COLUMNS = ["claim", "title", "statement", "quantity", "paper", "median", "lo", "hi", "probability", "verdict",
                 "paper_value", "informed", "model_view_quantity", "model_view_median", "model_view_lo",
                 "model_view_hi", "numbers"]

Values = Mapping[str, Quantity]


@dataclass(frozen=True)
class Claim:
    """One of the paper's headline claims: its statement as the paper makes it, the lead quantity (paper view), the
    event whose posterior probability is the claim's (None: a descriptive claim), the keys of its other numbers, its
    model-view counterparts (the first present is shown) and its figures."""

    key: str
    title: str
    statement: str
    lead: Key
    event: Callable[[Values], xr.DataArray] | None
    numbers: Callable[[Key], bool]
    counterparts: tuple[Key, ...]
    figures: tuple[str, ...]


def _between(key: Key, lo: float, hi: float, half_unit: float) -> Callable[[Values], xr.DataArray]:
    """A range as the paper states it, in whole units of its printed precision: a value counts when it rounds into
    the range (the paper's own 79.6% reads as "80-90%")."""
    return lambda q: (q[key.id].value >= lo - half_unit) & (q[key.id].value < hi + half_unit)


def _above(key: Key, bound: float) -> Callable[[Values], xr.DataArray]:
    return lambda q: q[key.id].value > bound


def _any_group_above(bound: float) -> Callable[[Values], xr.DataArray]:
    def event(q: Values) -> xr.DataArray:
        groups = [v.value for v in q.values() if v.key.kind == "developer_multiplier" and v.key.view == PAPER]
        return xr.concat(groups, "group").max("group") >= bound

    return event


FRONTIER = Key("frontier_share", PAPER, "compute", pair=FRONTIER_PAIRS[0])
VARIANCE = Key("shapley", PAPER, "developer")
WITHIN = Key("within_firm_spread", PAPER, spread="p90_p10")
LEADER = Key("developer_multiplier", PAPER, subject="Nvidia")
PROGRESS = Key("progress_last_vs_first", PAPER)
THRESHOLD = Key("threshold_fall", subject="all")
CLAIMS = (
    Claim("frontier", "At the frontier, 80-90% of the gain in score comes from more compute",
          f"compute's share of the logit gain from {' to '.join(FRONTIER_PAIRS[0])} is between 80% and 90% in whole "
          "percent (79.5% to 90.5%)",
          FRONTIER, _between(FRONTIER, 0.8, 0.9, 0.005), lambda k: k.kind == "frontier_share" and k.view == PAPER,
          (Key("frontier_share", MODEL, "family", pair=FRONTIER_PAIRS[0]),
           Key("frontier_share", MODEL, "compute", pair=FRONTIER_PAIRS[0])), ("frontier_pairs", "frontier_running")),
    Claim("variance", "Company-specific effects explain 14-18% of the differences in scores",
          "the developer groups' Shapley share of the variance in scores is between 14% and 18% in whole percent "
          "(13.5% to 18.5%)",
          VARIANCE, _between(VARIANCE, 0.14, 0.18, 0.005), lambda k: k.kind == "shapley" and k.view == PAPER,
          (Key("shapley", MODEL, "base_developer"), Key("shapley", MODEL, "developer")), ("shapley",)),
    Claim("within_firm", "A firm can train two models with more than 40x compute-efficiency difference",
          "the 90th/10th percentile spread of the major developers' model efficiencies exceeds 40x",
          WITHIN, _above(WITHIN, 40.0), lambda k: k.kind == "within_firm_spread" and k.view == PAPER and not k.subject,
          (Key("within_firm_spread", MODEL, spread="p90_p10"),), ("within_firm_spread",)),
    Claim("developers", "Some developers need far less compute for the same score",
          "at least one developer group needs 10x less compute than Other-Small for the same score (the paper: "
          "Nvidia 61.4x, Microsoft 60.5x)",
          LEADER, _any_group_above(10.0), lambda k: k.kind == "developer_multiplier" and k.view == PAPER,
          (Key("developer_multiplier", MODEL, subject="Nvidia"),), ("developer_multipliers",)),
    Claim("progress", "Shared algorithmic progress cuts the compute needed for a given score",
          "the last cohort needs less compute than the first for the same score (multiplier above 1x)",
          PROGRESS, _above(PROGRESS, 1.0), lambda k: k.kind in ("progress_multiplier", "progress_last_vs_first")
          and k.view == PAPER, (Key("progress_last_vs_first", MODEL),), ("scaling_curve",)),
    Claim("threshold", "The compute needed to reach a fixed score fell by orders of magnitude",
          "the cheapest compute reaching 15% normalised score fell about 8,000x (all models) and 50x (the majors' "
          "models) from the first month any model reached it to March 2025 (descriptive)",
          THRESHOLD, None, lambda k: k.kind == "threshold_fall" and not k.view,
          (Key("threshold_fall", MODEL, subject="all", variant="fitted"),), ("threshold_fall",)),
)


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


def verdict(probability: float, informed: object, positions: pd.Series) -> str:
    """The verdict by ``RULE``: from the claim's probability, or, for a descriptive claim (no probability), from
    whether every one of its numbers is the paper's as printed (all of them, not any)."""
    if pd.isna(probability):
        compared = positions[positions.isin(["same", "differs"])]
        if not len(compared):
            return UNTESTED
        return REPRODUCED if (compared == "same").all() else NOT_REPRODUCED
    if uninformed(informed):
        return UNINFORMED
    return SUPPORTED if probability >= SUPPORT else CONTRADICTED if probability <= CONTRADICT else UNDECIDED


def claims_table(quantities: Values, headline: pd.DataFrame, claims: tuple[Claim, ...] = CLAIMS) -> pd.DataFrame:
    """claims.csv: each claim whose lead number was computed, with the claim's posterior probability, its verdict, the
    paper's value against our interval (the second test), the model view's counterpart and the ids of its numbers."""
    table = headline.set_index("quantity")
    rows = []
    for claim in claims:
        if claim.lead.id not in table.index:
            continue
        lead = table.loc[claim.lead.id]
        numbers = [q.id for q in quantities.values() if claim.numbers(q.key)]
        positions = table.loc[numbers].apply(position, axis=1) if numbers else pd.Series(dtype=str)
        probability = (float(claim.event(quantities).astype(float).mean(SAMPLE_DIMS)) if claim.event is not None
                       else np.nan)
        counterpart = next((k.id for k in claim.counterparts if k.id in table.index), "")
        model = table.loc[counterpart] if counterpart else pd.Series(dtype=float)
        rows.append({
            "claim": claim.key, "title": claim.title, "statement": claim.statement, "quantity": claim.lead.id,
            "paper": lead["paper"], "median": lead["median"], "lo": lead["lo"], "hi": lead["hi"],
            "probability": probability, "verdict": verdict(probability, lead["informed"], positions),
            "paper_value": position(lead), "informed": lead["informed"], "model_view_quantity": counterpart,
            **{f"model_view_{c}": model.get(c, np.nan) for c in ("median", "lo", "hi")},
            "numbers": ";".join(numbers),
        })
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


@dataclass(frozen=True)
class Verdict:
    """A claim checked: its row of claims.csv, its numbers' rows of the headline table (with ``position``), the
    claim (for its figures) and the sentence."""

    claim: Claim
    row: pd.Series
    rows: pd.DataFrame
    sentence: str

    @property
    def status(self) -> str:
        return str(self.row["verdict"])


def show(row: pd.Series, prob: float) -> str:
    """'median (90% interval lo to hi)' in the quantity's unit."""
    value = format_value(row["median"], row["unit"])
    if pd.isna(row["lo"]):
        return value
    return f"{value} ({prob:.0%} interval {format_value(row['lo'], row['unit'])} to {format_value(row['hi'], row['unit'])})"


POSITION_WORDS = {"inside": "inside our interval", "above": "above our interval (ours is lower)",
                  "below": "below our interval (ours is higher)"}


def _sentence(claim: Claim, row: pd.Series, table: pd.DataFrame, prob: float) -> str:
    """The lead number beside the paper's, the claim's probability and verdict, the second test, the model view."""
    lead = table.loc[row["quantity"]]
    text = f"{lead['name']}: the paper {format_value(lead['paper'], lead['unit']) or 'gives no value'}, ours {show(lead, prob)}."
    status = row["verdict"]
    if status in (REPRODUCED, NOT_REPRODUCED, UNTESTED):
        numbers = table.loc[[q for q in str(row["numbers"]).split(";") if q]]
        listed = "; ".join(f"{r['name']}: ours {format_value(r['median'], r['unit'])}, the paper "
                           f"{format_value(r['paper'], r['unit'])}" for _, r in numbers.iterrows())
        text += (" The same data give every one of its numbers as the paper prints them (descriptive: no model "
                 "involved)." if status == REPRODUCED else f" Descriptive (no model involved): {listed}.")
    elif status == UNINFORMED:
        text += (f" The data do not inform it (its interval is {lead['width_vs_prior']:.0%} as wide as the prior's), "
                 "so it gets no verdict.")
    else:
        text += (f" The claim as the paper states it ({claim.statement}) has posterior probability "
                 f"{row['probability']:.2f}: {status}.")
        if row["paper_value"] in POSITION_WORDS:
            text += f" The paper's value lies {POSITION_WORDS[row['paper_value']]}."
    if row["model_view_quantity"]:
        model = table.loc[row["model_view_quantity"]]
        text += f" What the paper's regression cannot see: {model['name']}, {show(model, prob)}."
    return text


def verdicts(tables: Mapping[str, pd.DataFrame], prob: float, claims: tuple[Claim, ...] = CLAIMS) -> list[Verdict]:
    """Each claim of claims.csv with its numbers and sentence."""
    table = tables["headline"].set_index("quantity")
    by_key = {c.key: c for c in claims}
    out = []
    for _, row in tables["claims"].iterrows():
        numbers = [q for q in str(row["numbers"]).split(";") if q]
        rows = table.loc[numbers].copy()
        rows["position"] = rows.apply(position, axis=1) if len(rows) else []
        out.append(Verdict(by_key[row["claim"]], row, rows, _sentence(by_key[row["claim"]], row, table, prob)))
    return out


def overall(found: list[Verdict], headline: pd.DataFrame, prob: float) -> str:
    """One sentence over every claim, the rule, and the count of published numbers inside our intervals."""
    counts = pd.Series([v.status for v in found]).value_counts()
    parts = [f"{counts[s]} {VERBS[s][int(counts[s] > 1)]}" for s in VERBS if s in counts]
    paper_view = headline[headline["view"].isin([PAPER, ""])]
    positions = paper_view.set_index("quantity").apply(position, axis=1)
    compared = positions.isin(["inside", "above", "below"])
    return (f"Of the paper's {len(found)} headline claims checked here, {', '.join(parts)}, by the posterior "
            f"probability of each claim as the paper states it (paper view). Across all {int(compared.sum())} numbers "
            f"with a published value and an interval, the paper's lies inside our {prob:.0%} interval for "
            f"{int((positions == 'inside').sum())}.")
