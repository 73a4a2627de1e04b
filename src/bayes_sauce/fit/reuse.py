"""Reuse a saved fit when it has the same fingerprint (spec, settings, data); otherwise fit and save one."""

from __future__ import annotations

from pathlib import Path

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.fit.fit import Fit, FitError, fingerprint, fit_spec
from bayes_sauce.spec.schema import Spec


def saved_fit(folder: Path, key: str) -> Fit | None:
    """The fit in ``folder`` if it is complete, readable and has fingerprint ``key``."""
    if not (folder / "posterior.nc").exists():
        return None
    try:
        fit = Fit.load(folder)
    except FitError:
        return None
    return fit if fit.fingerprint == key else None


def fit_or_reuse(spec: Spec, dataset: Dataset, folders: list[Path], progress: bool = False,
                 extras: bool = True) -> Fit:
    """The first saved fit with the same fingerprint among ``folders``, else a new fit saved in the last of them.

    A new fit that fails the diagnostics gate is saved and returned; its diagnostics say so.
    """
    key = fingerprint(spec, dataset.sha256)
    for folder in folders:
        if (fit := saved_fit(folder, key)) is not None:
            return fit
    fit = fit_spec(spec, dataset, progress=progress, extras=extras)
    fit.save(folders[-1], replace=True)
    return Fit.load(folders[-1])
