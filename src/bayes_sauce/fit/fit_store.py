"""The one way to get a fit: reuse a saved one that a new fit would repeat, else fit, save and gate it.

Every command and computation that needs a fit of a spec on some rows (``fit``, ``run``, ``compare``, ``backtest``,
a sweep's variants) asks :func:`get_or_fit`. A saved fit is reused when it has the same fingerprint (spec, sampler
settings, data) and was written by the same code on the same kind of machine: the sampler is seeded, so it holds
the draws a refit would give. A new fit is written whole into its folder (:mod:`bayes_sauce.store`: the folder's
lock is held from the check of what it would replace to the save). What happens is said through ``echo``, a
callback (nothing here prints).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.fit.fit import Fit, FitError, check_target, code_digest, environment_digest, fingerprint, fit_spec
from bayes_sauce.spec.schema import Spec
from bayes_sauce.store import locked

Echo = Callable[[str], None]


def quiet(_: str) -> None:
    """An ``echo`` that says nothing."""


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


def get_or_fit(spec: Spec, dataset: Dataset, folder: Path, *, reuse: bool = True, search: Sequence[Path] = (),
               replace: bool = False, allow_failed: bool = True, echo: Echo = quiet, bar: bool = False,
               extras: bool = True, cores: int | None = None) -> Fit:
    """The fit of ``spec`` on ``dataset``: reused from ``search`` or ``folder`` (with ``reuse``), else fitted
    (``fit_spec``) and saved in ``folder``; then its gate said through ``echo`` and, unless ``allow_failed``, a fit
    that failed it refused (FitError).

    ``replace``: a folder holding a different fit is replaced (else refused before sampling, as
    ``fit.check_target`` says). ``bar``: the sampler's progress bar. ``extras``: the log densities and replicated
    datasets that only a report reads. ``cores``: the sampler's (default: one per chain, at most two).
    """
    key = fingerprint(spec, dataset.sha256)
    for candidate in (*search, folder) if reuse else ():
        if (fit := saved_fit(candidate, key)) is not None:
            echo(f"Reusing the fit in {fit.path}/ (same spec, sampler settings, data and code)")
            return _gated(fit.at(candidate, reused=True), allow_failed, echo)
    with locked(folder):  # one writer from the check to the save
        replaced = check_target(folder, key, replace)  # before sampling, not after
        if replaced:
            echo(f"{folder}/ will be replaced when the fit is saved: {', '.join(replaced)}")
        s = spec.sampling
        echo(f"Fitting spec '{spec.name}' with {s.sampler}: {s.chains} chains x {s.draws} draws after {s.tune} tuning "
             f"steps, seed {s.seed}; rows: {spec.data.filters.to_filters().describe()}")
        fit = fit_spec(spec, dataset, cores=cores, progress=bar, extras=extras, echo=echo)
        fit.save(folder, replace=replace)
    return _gated(fit.at(folder), allow_failed, echo)


def _gated(fit: Fit, allow_failed: bool, echo: Echo) -> Fit:
    echo(fit.gate_status())
    fit.require_passed(allow_failed)
    return fit
