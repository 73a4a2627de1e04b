"""The diagnostics gate: R-hat, bulk and tail ESS over every varying posterior quantity, divergences, E-BFMI.

A fit is reported only with its gate; one that fails is saved but marked failed, loudly, in the
report and in the exit code. R-hat and ESS are ArviZ's estimators vectorised over all quantities
(:mod:`bayes_sauce.fit.convergence`); E-BFMI is ArviZ's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from bayes_sauce.fit.convergence import convergence

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3
THRESHOLDS = {"max_rhat": RHAT_MAX, "min_ess": ESS_MIN, "min_bfmi": BFMI_MIN, "divergences": 0}
WORST_SHOWN = 5
# What a user can try when a fit fails the gate, in the order worth trying.
REMEDIES = ("more tuning and draws (--tune 2000 --draws 2000)",
            "a higher target acceptance (--target-accept 0.95), which takes smaller steps through curved regions",
            "another spec for these data (models/family_normal.toml has no skew parameter; models/developer_pooling.toml "
            "no families), or a sensitivity sweep to see which model choice the numbers depend on")


def _stacked(values: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    """Every element of every variable as rows of a (quantity, chain, draw) array, with labels like
    ``developer_effect[Meta]``."""
    arrays, labels = [], []
    for name, da in values.data_vars.items():
        da = da.transpose("chain", "draw", ...)
        arrays.append(da.values.reshape(da.sizes["chain"], da.sizes["draw"], -1))
        if da.ndim == 2:
            labels.append(name)
            continue
        index = da.isel(chain=0, draw=0, drop=True).to_series().index
        labels += [f"{name}[{', '.join(map(str, i if isinstance(i, tuple) else (i,)))}]" for i in index]
    return np.moveaxis(np.concatenate(arrays, axis=-1), -1, 0), labels


def diagnose(tree: xr.DataTree) -> dict[str, Any]:
    """The gate's numbers and verdict for a posterior with sample_stats (constants are left out)."""
    from arviz_stats import bfmi  # here, not at the top: commands that only read a fit skip its 1.7 s import

    draws, labels = _stacked(tree.posterior.to_dataset())
    varying = draws.reshape(len(draws), -1).std(axis=1) > 0  # constants: a reference level fixed at 0
    draws, labels = draws[varying], [label for label, v in zip(labels, varying) if v]
    stats = convergence(draws)
    chains = draws.shape[1]
    bulk, tail = stats["ess_bulk"], stats["ess_tail"]
    divergences = int(tree.sample_stats["diverging"].sum())
    energy = bfmi(tree)["energy"]  # ArviZ returns the tree's shape: a DataTree node with the energy variable
    result = {
        "passed": False,
        "chains": int(chains),
        "max_rhat": float(np.nanmax(stats["rhat"])) if chains > 1 else None,
        "min_ess_bulk": float(np.nanmin(bulk)),
        "min_ess_tail": float(np.nanmin(tail)),
        "slowest_parameter": labels[int(np.nanargmin(bulk))],
        "divergences": divergences,
        "min_bfmi": float(np.min(energy.values)),
        "n_quantities": int(len(labels)),
        "thresholds": THRESHOLDS,
    }
    failing = (bulk < ESS_MIN) | (tail < ESS_MIN) | ((stats["rhat"] > RHAT_MAX) if chains > 1 else False)
    worst = np.flatnonzero(failing)[np.argsort(np.minimum(bulk, tail)[failing])][:WORST_SHOWN]
    result["worst"] = [{"quantity": labels[i], "rhat": float(stats["rhat"][i]) if chains > 1 else None,
                        "ess_bulk": float(bulk[i]), "ess_tail": float(tail[i])} for i in worst]
    result["n_failing_quantities"] = int(failing.sum())
    result["failures"] = [msg for ok, msg in (
        (chains > 1, f"R-hat needs at least two chains (got {chains}); fit with --chains 2 or more"),
        (chains < 2 or result["max_rhat"] <= RHAT_MAX, f"max R-hat {result['max_rhat'] or 0:.3f} > {RHAT_MAX}"),
        (result["min_ess_bulk"] >= ESS_MIN, f"min bulk ESS {result['min_ess_bulk']:.0f} < {ESS_MIN}"),
        (result["min_ess_tail"] >= ESS_MIN, f"min tail ESS {result['min_ess_tail']:.0f} < {ESS_MIN}"),
        (divergences == 0, f"{divergences} divergent transitions"),
        (result["min_bfmi"] >= BFMI_MIN, f"min E-BFMI {result['min_bfmi']:.2f} < {BFMI_MIN}"),
    ) if not ok]
    result["passed"] = not result["failures"]
    return result


def rhat_value(diag: dict[str, Any], digits: int = 3) -> str:
    """The gate's max R-hat as text: "n/a (one chain)" where one chain gives none (R-hat needs two)."""
    return "n/a (one chain)" if diag.get("max_rhat") is None else f"{diag['max_rhat']:.{digits}f}"


def gate_table(diag: dict[str, Any]) -> str:
    """A short human-readable gate table."""
    mark = "PASSED" if diag["passed"] else "FAILED"
    rhat_text = rhat_value(diag, 4)
    rows = [
        ("max R-hat", rhat_text, f"<= {RHAT_MAX}"),
        ("min bulk ESS", f"{diag['min_ess_bulk']:.0f} ({diag['slowest_parameter']})", f">= {ESS_MIN}"),
        ("min tail ESS", f"{diag['min_ess_tail']:.0f}", f">= {ESS_MIN}"),
        ("divergences", str(diag["divergences"]), "0"),
        ("min E-BFMI", f"{diag['min_bfmi']:.2f}", f">= {BFMI_MIN}"),
    ]
    lines = [f"Diagnostics gate: {mark} ({diag['n_quantities']} posterior quantities checked)"]
    lines += [f"  {name:<14} {value:<40} target {target}" for name, value, target in rows]
    lines += [f"  !! {failure}" for failure in diag["failures"]]
    if diag.get("worst"):
        lines.append(f"  {diag['n_failing_quantities']} quantities miss the R-hat or ESS target; the worst:")
        lines += [f"    {w['quantity']:<38} " + (f"R-hat {w['rhat']:.3f}, " if w["rhat"] is not None else "")
                  + f"bulk ESS {w['ess_bulk']:.0f}, tail ESS {w['ess_tail']:.0f}" for w in diag["worst"]]
    if diag.get("fallback"):
        lines.append(f"  Note: {diag['fallback']}")
    if not diag["passed"]:
        lines.append("  What to try: " + "; ".join(f"({i}) {r}" for i, r in enumerate(REMEDIES, 1)))
    return "\n".join(lines)
