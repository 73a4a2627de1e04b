"""Release periods: the paper's cohorts, calendar quarters and months, and the calendar arithmetic on them.

A time granularity (``cohort``, ``quarter`` or ``month``) names the column holding each model's
period label; quarters are labelled like ``2024q3`` and months like ``2024-09``.
"""

from __future__ import annotations

import pandas as pd

TIMES = ("cohort", "quarter", "month")
# The paper's release cohorts (inclusive month ranges); its release window is defaults.PAPER_WINDOW.
COHORTS = (
    ("2022q4-2023q3", "2022-10", "2023-09"),
    ("2023q4-2024q2", "2023-10", "2024-06"),
    ("2024q3-2025q1", "2024-07", "2025-03"),
)
# The column holding each time granularity's period label.
PERIOD_COLUMN = {"cohort": "cohort", "quarter": "release_quarter", "month": "release_month"}
FREQUENCY = {"quarter": "Q", "month": "M"}
MONTHS_PER_PERIOD = {"quarter": 3, "month": 1}


def calendar_period(label: str, time: str) -> pd.Period:
    """A quarter or month label as a pandas Period."""
    return pd.Period(label.upper(), FREQUENCY[time])


def cohort_labels(month: pd.Series) -> pd.Series:
    """Each release month's cohort (NA where no cohort covers the month)."""
    labels = pd.Series(pd.NA, index=month.index, dtype="string")
    for label, start, end in COHORTS:
        inside = (month >= pd.Period(start, "M")) & (month <= pd.Period(end, "M"))
        labels[inside] = label
    return labels


def period_labels(month: pd.Series, time: str) -> pd.Series:
    """Each release month's period label for a time granularity (NA where no cohort covers the month)."""
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
    return pd.Period({name: end for name, _, end in COHORTS}[label], "M")


def period_midpoint(label: str, time: str) -> pd.Timestamp:
    """The middle of a period label's calendar span (a cohort, a quarter like '2023q1' or a month)."""
    if time == "cohort":
        start, end = {name: (s, e) for name, s, e in COHORTS}[label]
        first, last = pd.Period(start, "M"), pd.Period(end, "M")
    else:
        first = last = calendar_period(label, time)
    return first.start_time + (last.end_time - first.start_time) / 2


def months_between(first: str, last: str, time: str) -> float:
    """Months (of 365.25/12 days) from the midpoint of period ``first`` to that of ``last``."""
    return (period_midpoint(last, time) - period_midpoint(first, time)) / pd.Timedelta(days=365.25 / 12)


def month_ordinal(months: pd.Series) -> pd.Index:
    """Release months (YYYY-MM text) as integers: months since 1970-01."""
    return pd.Index(pd.PeriodIndex(months, freq="M").asi8)
