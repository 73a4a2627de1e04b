"""The paper's published numbers (``data/paper_numbers.csv``): one row per (spec, quantity).

The file gives the spec whose analysis the number belongs to (``ols`` for the paper's main
regression, e.g. ``ols_quarter`` for a robustness check), the value, its standard error or interval
where published (``level`` says which), the unit and where in the paper (or the authors' code) it
comes from. Nothing else in the package types these numbers in.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bayes_sauce.paths import DATA_DIR
from bayes_sauce.periods import inside_paper_window

PAPER_NUMBERS = DATA_DIR / "paper_numbers.csv"
# Quantities over the whole span of periods (the last period against the first): the paper's values are for
# its own window, so an analysis with periods outside it is not compared with them.
SPAN_QUANTITIES = ("progress_multiplier_last_vs_first", "progress_halving_time_months")


def printed_decimals(text: str) -> int:
    """How many decimals a number is printed with ("0.320" -> 3, "809" -> 0)."""
    return len(text.partition(".")[2])


def load_paper_numbers(spec: str | None = None, path: Path = PAPER_NUMBERS) -> pd.DataFrame:
    """The paper's numbers, indexed by quantity id, with ``decimals``, the precision the paper prints each value
    with; only those of one spec if ``spec`` is given."""
    numbers = pd.read_csv(path, dtype={"spec": str, "quantity": str, "unit": str, "source": str})
    numbers["decimals"] = pd.read_csv(path, dtype=str, usecols=["value"])["value"].map(printed_decimals)
    if spec is not None:
        numbers = numbers[numbers["spec"] == spec]
    return numbers.set_index("quantity")


def comparable(numbers: pd.DataFrame, periods: list[str], time: str) -> pd.DataFrame:
    """The paper's numbers an analysis over ``periods`` can be compared with: all of them inside the paper's
    window; without the span quantities (last vs first period) when a period lies outside it."""
    return numbers if inside_paper_window(periods, time) else numbers.drop(list(SPAN_QUANTITIES), errors="ignore")
