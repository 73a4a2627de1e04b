"""Reuse a saved fit when it has the same fingerprint (spec, settings, data) and was written by the same code;
otherwise fit and save one. The sampler is seeded, so a reused fit holds the draws a refit would give."""

from __future__ import annotations

from pathlib import Path

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.fit.fit import Fit, FitError, code_digest, environment_digest, fingerprint, fit_spec
from bayes_sauce.spec.schema import Spec


def saved_fit(folder: Path, key: str) -> Fit | None:
    """The fit in ``folder`` if it is complete, readable, has fingerprint ``key``, this package's code digest and this
    machine's environment digest (library versions, CPU)."""
    if not (folder / "posterior.nc").exists():
        return None
    try:
        fit = Fit.load(folder)
    except FitError:
        return None
    same_build = (fit.tree.attrs.get("code_digest"), fit.tree.attrs.get("environment_digest")) == \
        (code_digest(), environment_digest())  # else a refit could give other draws
    return fit if fit.fingerprint == key and same_build else None


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
