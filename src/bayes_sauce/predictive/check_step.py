"""The check step (``bayes-sauce check FIT``): a fit's predictive checks computed once and kept with the fit.

checks.json in the fit folder holds the checks (:func:`predictive.checks.predictive_checks`) and what they were
computed from: the fit's fingerprint and draws (its posterior digest), this package's code and the number of folds of
the new-family check, whose fold fits are under ``checks/``. Later steps (``report``, ``run`` again) read it while
all of these are the same (``saved_checks``); nothing else computes the fold fits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bayes_sauce.fit.fit import Fit, code_digest
from bayes_sauce.fit.fit_store import Echo, quiet
from bayes_sauce.predictive.checks import predictive_checks
from bayes_sauce.predictive.family_folds import FOLDS
from bayes_sauce.store import locked, write_files

CHECKS_FILE = "checks.json"
CHECKS_FOLDER = "checks"


def computed_for(fit: Fit, folds: int) -> dict[str, Any]:
    """What a fit's checks depend on: the fit (its fingerprint and draws), this code and the folds."""
    return {"fingerprint": fit.fingerprint, "posterior_digest": fit.tree.attrs.get("posterior_digest"),
            "code_digest": code_digest(), "folds": folds}


def saved_checks(fit: Fit, folds: int | None = None) -> dict[str, dict[str, Any]] | None:
    """The checks saved with the fit where they were computed from this fit by this code (with ``folds`` folds, or
    any number when None); else None."""
    try:
        saved = json.loads((Path(fit.path) / CHECKS_FILE).read_text())
        key, checks = saved["computed_for"], saved["checks"]
    except (OSError, TypeError, ValueError, KeyError):  # none, unreadable, or written before the check step
        return None
    wanted = computed_for(fit, key.get("folds") if folds is None else folds) if isinstance(key, dict) else None
    return checks if key == wanted and isinstance(checks, dict) else None


def run_checks(fit: Fit, folds: int = FOLDS, echo: Echo = quiet) -> tuple[dict[str, dict[str, Any]], bool]:
    """The fit's predictive checks, and whether they were read from its folder: computed (the new-family check's
    fold fits saved under ``checks/`` and reused from there) and written to checks.json where they are not saved."""
    folder = Path(fit.path)
    with locked(folder):  # the fit stays in the folder while its checks are computed
        if (checks := saved_checks(fit, folds)) is not None:
            return checks, True
        checks = predictive_checks(fit, folder / CHECKS_FOLDER, folds, echo)

        def write(staging: Path) -> list[str]:
            (staging / CHECKS_FILE).write_text(json.dumps({"computed_for": computed_for(fit, folds),
                                                           "checks": checks}, indent=2) + "\n")
            return [CHECKS_FILE]

        write_files(folder, write)
    return checks, False
