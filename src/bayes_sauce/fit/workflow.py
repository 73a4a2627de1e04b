"""The fit step of every command and notebook: a spec file, its data and overrides, fitted and saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bayes_sauce.data.filters import Filters
from bayes_sauce.data.load import load
from bayes_sauce.fit.fit import Fit, check_target, fingerprint, fit_spec
from bayes_sauce.fit.reuse import saved_fit
from bayes_sauce.paths import RESULTS_DIR
from bayes_sauce.spec.schema import Spec, load_spec
from bayes_sauce.store import locked


def bayes_spec(path: Path | str, filters: Filters | None = None, command: str = "fit", **sampling: Any) -> Spec:
    """A Bayesian spec file with command-line filters and sampler settings applied (None keeps the spec's)."""
    return load_spec(path).require_bayes(str(path), command).with_filters(filters).with_sampling(**sampling)


def reusable_fit(spec: Spec, data: Path | None, out: Path | None = None) -> Fit | None:
    """The fit already in the output folder if a new one would repeat it (same fingerprint and code), else None."""
    dataset = load(data, spec.data.filters.to_filters())
    return saved_fit(out or RESULTS_DIR / spec.name, fingerprint(spec, dataset.sha256))


def fit_and_save(spec: Spec, data: Path | None, out: Path | None = None, replace: bool = False,
                 progress: bool = True) -> Fit:
    """Fit a spec on a data file and save the fit folder (default ``results/<spec name>``); return the saved fit."""
    dataset = load(data, spec.data.filters.to_filters())
    folder = out or RESULTS_DIR / spec.name
    with locked(folder):  # one writer from the check to the save
        replaced = check_target(folder, fingerprint(spec, dataset.sha256), replace)  # before sampling, not after
        if replaced:
            print(f"{folder}/ will be replaced when the fit is saved: {', '.join(replaced)}")
        fit = fit_spec(spec, dataset, progress=progress)
        folder = fit.save(folder, replace=replace)
    return Fit(spec=fit.spec, rows=fit.rows, excluded=fit.excluded, tree=fit.tree, diagnostics=fit.diagnostics,
               path=folder, timings=fit.timings)
