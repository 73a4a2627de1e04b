"""The psense section of a report, in markdown."""

from __future__ import annotations

import pandas as pd

from bayes_sauce.quantities.headline import KEY_QUANTITIES
from bayes_sauce.sensitivity.psense import PSENSE_THRESHOLD


def psense_markdown(table: pd.DataFrame, threshold: float = PSENSE_THRESHOLD) -> str:
    """The psense section of a report: what was scaled, what moved, and the table (scalars, key quantities, flags)."""
    flagged = table[table["prior_sensitive"]]
    shown = table[table["prior_sensitive"] | table["variable"].isin(KEY_QUANTITIES)
                  | ((table["kind"] == "parameter") & ~table["variable"].str.contains(r"\[", regex=True))]
    lines = [
        "Power-scaling sensitivity (ArviZ `psense`, Kallioinen et al. 2024): how far each posterior moves when the "
        "priors or the likelihood are raised to a power alpha in [0.99, 1.01], estimated by Pareto-smoothed importance "
        "sampling without refitting. The priors scaled are every prior of the spec that the model uses (its `[priors]`: "
        "slopes, scales, shapes, shares, offsets), not the hierarchical levels drawn around them. A prior value >= "
        f"{threshold:g} means the prior informs that posterior; a likelihood value below {threshold:g} means the data "
        "say little about it.",
        "",
        ("Prior-sensitive: " + ", ".join(f"`{v}` ({p:.3f})" for v, p in zip(flagged["variable"], flagged["prior"])))
        if len(flagged) else f"No parameter or headline quantity has prior sensitivity >= {threshold:g}.",
        "",
        shown[["variable", "kind", "prior", "likelihood", "diagnosis"]].to_markdown(index=False, floatfmt=".3f"),
    ]
    return "\n".join(lines)
