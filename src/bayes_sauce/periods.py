"""Release periods: the paper's cohorts and the cohorts that continue them, calendar quarters and months.

A time granularity (``cohort``, ``quarter`` or ``month``) names the column holding each model's
period label; quarters are labelled like ``2024q3``, months like ``2024-09`` and cohorts by their
first and last quarter, like ``2024q3-2025q1``.

Every release month has a cohort. Inside the paper's window (2022-10 .. 2025-03) it is the
paper's; outside it the cohorts go on with the length of the paper cohort next to them: nine
months (three quarters) from 2025-04 on, continuing the paper's last two (2025q2-2025q4,
2026q1-2026q3, ...), and twelve months (four quarters) before 2022-10, continuing its first
(2021q4-2022q3, 2020q4-2021q3, ...). A user's newer models so get a cohort of the paper's kind,
named by its quarters, and the shipped rows keep the paper's.
"""

from __future__ import annotations

import re

import pandas as pd

from bayes_sauce.defaults import PAPER_WINDOW

TIMES = ("cohort", "quarter", "month")
# The paper's release cohorts (inclusive month ranges); its release window is defaults.PAPER_WINDOW.
COHORTS = (
    ("2022q4-2023q3", "2022-10", "2023-09"),
    ("2023q4-2024q2", "2023-10", "2024-06"),
    ("2024q3-2025q1", "2024-07", "2025-03"),
)
# Months per cohort after and before the paper's window: the length of the adjacent paper cohort.
LATER_COHORT_MONTHS = 9
EARLIER_COHORT_MONTHS = 12
COHORT_PATTERN = re.compile(r"(\d{4}q[1-4])-(\d{4}q[1-4])")
# The column holding each time granularity's period label.
PERIOD_COLUMN = {"cohort": "cohort", "quarter": "release_quarter", "month": "release_month"}
FREQUENCY = {"quarter": "Q", "month": "M"}
MONTHS_PER_PERIOD = {"quarter": 3, "month": 1}


def calendar_period(label: str, time: str) -> pd.Period:
    """A quarter or month label as a pandas Period."""
    return pd.Period(label.upper(), FREQUENCY[time])


def cohort_span(month: pd.Period) -> tuple[pd.Period, pd.Period]:
    """First and last month of the cohort holding a release month (the rule in the module docstring)."""
    first_paper, last_paper = (pd.Period(m, "M") for m in PAPER_WINDOW)
    if month > last_paper:
        start = last_paper + 1 + (month.ordinal - last_paper.ordinal - 1) // LATER_COHORT_MONTHS * LATER_COHORT_MONTHS
        return start, start + LATER_COHORT_MONTHS - 1
    if month < first_paper:
        end = first_paper - 1 - (first_paper.ordinal - 1 - month.ordinal) // EARLIER_COHORT_MONTHS * EARLIER_COHORT_MONTHS
        return end - EARLIER_COHORT_MONTHS + 1, end
    return next((pd.Period(s, "M"), pd.Period(e, "M")) for _, s, e in COHORTS
                if pd.Period(s, "M") <= month <= pd.Period(e, "M"))


def cohort_label(month: pd.Period) -> str:
    """The cohort of a release month, named by its first and last quarter (e.g. '2025q2-2025q4')."""
    start, end = cohort_span(month)
    return "-".join(str(m.asfreq("Q")).lower() for m in (start, end))


def cohort_labels(month: pd.Series) -> pd.Series:
    """Each release month's cohort (NA only where the month is missing)."""
    labels = {m: cohort_label(m) for m in month.dropna().unique()}
    return month.map(labels).astype("string")


def cohort_bounds(label: str) -> tuple[pd.Period, pd.Period]:
    """First and last release month of a cohort label (a paper cohort or one continuing them)."""
    match = COHORT_PATTERN.fullmatch(label)
    if match is None:
        raise ValueError(f"not a cohort label like '2024q3-2025q1': {label!r}")
    first, last = (pd.Period(q.upper(), "Q") for q in match.groups())
    return first.asfreq("M", how="start"), last.asfreq("M", how="end")


def is_paper_cohort(label: str) -> bool:
    """Whether a cohort is one of the paper's three (not one continuing them outside its window)."""
    return label in {name for name, _, _ in COHORTS}


def period_labels(month: pd.Series, time: str) -> pd.Series:
    """Each release month's period label for a time granularity."""
    if time == "cohort":
        return cohort_labels(month)
    return month.dt.asfreq(FREQUENCY[time]).astype(str).str.lower().astype("string")


def periods_between(first: str, last: str, time: str) -> list[str]:
    """Every quarter or month label from first to last, so a random walk has a step per calendar period."""
    span = pd.period_range(calendar_period(first, time), calendar_period(last, time), freq=FREQUENCY[time])
    return [s.lower() for s in span.astype(str)]


def steps_outside(label: str, fitted: list[str], time: str) -> int:
    """Calendar periods from the fitted span to ``label``: > 0 after the last, < 0 before the first, 0 inside."""
    ordinal = calendar_period(label, time).ordinal
    first, last = (calendar_period(p, time).ordinal for p in (fitted[0], fitted[-1]))
    if ordinal > last:
        return ordinal - last
    return ordinal - first if ordinal < first else 0


def cohort_last_month(label: str) -> pd.Period:
    """The last release month of a cohort."""
    return cohort_bounds(label)[1]


def period_midpoint(label: str, time: str) -> pd.Timestamp:
    """The middle of a period label's calendar span (a cohort, a quarter like '2023q1' or a month)."""
    if time == "cohort":
        first, last = cohort_bounds(label)
    else:
        first = last = calendar_period(label, time)
    return first.start_time + (last.end_time - first.start_time) / 2


def months_between(first: str, last: str, time: str) -> float:
    """Months (of 365.25/12 days) from the midpoint of period ``first`` to that of ``last``."""
    return (period_midpoint(last, time) - period_midpoint(first, time)) / pd.Timedelta(days=365.25 / 12)


def month_ordinal(months: pd.Series) -> pd.Index:
    """Release months (YYYY-MM text) as integers: months since 1970-01."""
    return pd.Index(pd.PeriodIndex(months, freq="M").asi8)


def describe_periods(labels: list[str], time: str) -> str:
    """One line naming a fit's periods, and which of its cohorts continue the paper's outside its window."""
    if time != "cohort":
        return f"{len(labels)} {time}s {labels[0]}..{labels[-1]} (a random walk, one step per {time})"
    text = f"{len(labels)} cohorts: {', '.join(labels)}"
    beyond = [label for label in labels if not is_paper_cohort(label)]
    if beyond:
        text += (f" ({', '.join(beyond)}: outside the paper's window, continuing its cohorts; the progress "
                 "quantities run from the fit's first to its last cohort, not over the paper's three)")
    return text


def inside_paper_window(labels: list[str], time: str) -> bool:
    """Whether every period (cohort, quarter or month label) lies inside the paper's release window."""
    first, last = (pd.Period(m, "M") for m in PAPER_WINDOW)
    for label in labels:
        if time == "cohort":
            start, end = cohort_bounds(label)
        else:
            span = calendar_period(label, time)
            start, end = span.asfreq("M", how="start"), span.asfreq("M", how="end")
        if start < first or end > last:
            return False
    return True
