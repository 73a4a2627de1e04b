"""Sampling with the diagnostics gate: an attempt at the spec's settings and, where it fails, one automatic fallback.

The fallback keeps the model and its compilation and samples again with twice the tuning (longer adaptation of the
mass matrix), target acceptance 0.99 (smaller steps through curved regions) and as many draws as the first
attempt's least ESS says the gate needs (ESS grows with the draws of a chain that mixes), two to four times, with
the pilot's parameterisation except that a group whose divergent transitions sat at the small end of its spread (a
funnel: ``centring.funnelled``) is sampled non-centred. The smaller steps are taken after slow mixing too: a longer
run reaches more of the tails, where the spec's steps diverged (measured on ``--majors-only``, whose first attempt
had none: 99 divergences in the longer run at target acceptance 0.8, 4 at 0.95, none at 0.99). It is
not tried where one chain makes R-hat impossible. It is said in the diagnostics (``fallback``), in the posterior's
attrs and in the gate table; a fit that fails both attempts is saved and reported as failed, never passed silently.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pymc as pm
import xarray as xr

from bayes_sauce.fit import centring
from bayes_sauce.fit.diagnostics import ESS_MIN, diagnose
from bayes_sauce.fit.sampling import Timings, compile_nutpie, run_nuts
from bayes_sauce.spec.schema import SamplingSpec

FALLBACK_TARGET_ACCEPT = 0.99
FALLBACK_FACTOR = 2  # the tuning's multiple, and the least multiple of the draws
MOST_DRAWS_FACTOR = 4
ESS_MARGIN = 1.25  # draws for 25% more ESS than the gate's minimum, as the first attempt's ESS is itself estimated


def fallback_settings(sampling: SamplingSpec, diagnostics: dict[str, Any]) -> SamplingSpec:
    """The fallback's sampler settings after a first attempt with these ``diagnostics``: twice the tuning, target
    acceptance at least 0.99, and the draws times the ESS the gate needs over the least ESS seen (with
    ``ESS_MARGIN``), rounded up, from 2 to ``MOST_DRAWS_FACTOR``."""
    least = max(min(diagnostics["min_ess_bulk"], diagnostics["min_ess_tail"]), 1.0)
    factor = int(np.clip(np.ceil(ESS_MIN * ESS_MARGIN / least), FALLBACK_FACTOR, MOST_DRAWS_FACTOR))
    return sampling.model_copy(update={"tune": FALLBACK_FACTOR * sampling.tune, "draws": factor * sampling.draws,
                                       "target_accept": max(FALLBACK_TARGET_ACCEPT, sampling.target_accept)})


def sample_gated(model: pm.Model, sampling: SamplingSpec, stored: list[str], cores: int | None = None,
                 progress: bool = True, compiled=None, fallback: bool = True,
                 echo=print, weights: dict | None = None) -> tuple[xr.DataTree, Timings, dict[str, Any]]:
    """Sample, run the gate, and where it fails (and ``fallback``) sample once more with ``fallback_settings``.
    ``weights``: the centring weights (``run_nuts``; by default chosen by a pilot).

    Returns the kept attempt's tree, the timings of both attempts together and its diagnostics."""
    start = time.perf_counter()
    if sampling.sampler == "nutpie" and compiled is None:
        compiled = compile_nutpie(model)
    compile_s = time.perf_counter() - start
    tree, timings = run_nuts(model, sampling, stored, cores=cores, progress=progress, compiled=compiled,
                             weights=weights)
    timings.compile_s += compile_s
    diagnostics = diagnose(tree)
    if diagnostics["passed"] or not fallback or sampling.chains < 2:
        return tree, timings, diagnostics
    retry = fallback_settings(sampling, diagnostics)
    weights, funnels = centring.from_json(tree.attrs["centring"]), centring.funnelled(model, tree)
    weights.update({group: np.zeros_like(weights[group]) for group in funnels})
    settings = f"{retry.draws} draws after {retry.tune} tuning steps at target acceptance {retry.target_accept}" + (
        f", {', '.join(funnels)} non-centred (divergences at the small end of their spread)" if funnels else "")
    note = f"the first attempt failed the gate ({'; '.join(diagnostics['failures'])}); sampled once more with {settings}"
    echo(f"Diagnostics gate failed at the spec's settings ({'; '.join(diagnostics['failures'])}); "
         f"trying once more with {settings} ...")
    tree, again = run_nuts(model, retry, stored, cores=cores, progress=progress, compiled=compiled, weights=weights)
    for name in ("compile_s", "pilot_s", "sample_s", "extras_s"):
        setattr(timings, name, getattr(timings, name) + getattr(again, name))
    diagnostics = diagnose(tree)
    diagnostics["fallback"] = note + (": passed" if diagnostics["passed"] else ": failed again")
    tree.attrs["fallback"] = diagnostics["fallback"]
    return tree, timings, diagnostics
