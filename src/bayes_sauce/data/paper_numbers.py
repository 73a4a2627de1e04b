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

PAPER_NUMBERS = DATA_DIR / "paper_numbers.csv"


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
