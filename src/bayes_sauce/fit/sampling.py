"""Run NUTS on a built model with the spec's sampler settings (nutpie by default; PyMC's or numpyro's NUTS)."""

from __future__ import annotations

import importlib.util
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pymc as pm
import xarray as xr

from bayes_sauce.fit import centring
from bayes_sauce.spec.schema import SAMPLERS, SamplingSpec, SpecError


@dataclass
class Timings:
    compile_s: float = 0.0
    pilot_s: float = 0.0  # the pilot run that chooses the parameterisation (fit.centring)
    sample_s: float = 0.0
    extras_s: float = 0.0  # deterministics, log-likelihood, log-prior

    def as_dict(self) -> dict[str, float]:
        return {"compile_s": self.compile_s, "pilot_s": self.pilot_s, "sample_s": self.sample_s,
                "extras_s": self.extras_s}


def sampler_available(name: str) -> bool:
    """Whether a sampler's package is installed (numpyro is optional)."""
    return importlib.util.find_spec(name) is not None


def compile_nutpie(model: pm.Model):
    """nutpie's compiled model of the free variables (its data containers can be swapped with ``with_data``)."""
    import nutpie

    return nutpie.compile_pymc_model(model, var_names=[v.name for v in model.free_RVs])


@contextmanager
def interrupts_noted() -> Iterator[list[int]]:
    """Note every Ctrl-C while the block runs, and raise it as usual.

    nutpie answers Ctrl-C by returning the draws it has; when the signal lands after its last draw (while it converts
    the trace) the trace is complete and the interruption would be lost, so the caller checks the note as well.
    """
    noted: list[int] = []
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield noted  # signals reach only the main thread; an ignored or default SIGINT is left as it is
        return

    def note(signum, frame):
        noted.append(signum)
        previous(signum, frame)

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


def nutpie_draws(compiled, draws: int, **settings) -> xr.DataTree:
    """nutpie's trace of ``draws`` draws per chain, or KeyboardInterrupt if Ctrl-C came while it sampled."""
    import nutpie

    with interrupts_noted() as noted:
        tree = nutpie.sample(compiled, draws=draws, **settings)
    if noted or tree.posterior.sizes.get("draw", 0) < draws:
        raise KeyboardInterrupt
    return tree


def _sample(model: pm.Model, sampling: SamplingSpec, cores: int, progress: bool, compiled) -> tuple[xr.DataTree, float]:
    """The free variables' draws (nutpie: from ``compiled``) and the seconds spent compiling inside the sampler."""
    if sampling.sampler == "nutpie":
        from pymc.backends.arviz import patch_nutpie_idata

        start = time.perf_counter()
        tree = nutpie_draws(compiled, sampling.draws, tune=sampling.tune, chains=sampling.chains, cores=cores,
                            seed=sampling.seed, progress_bar=progress, save_warmup=False,
                            target_accept=sampling.target_accept)
        patch_nutpie_idata(tree, model, time.perf_counter() - start)
        return tree, 0.0
    start = time.perf_counter()
    with model:
        tree = pm.sample(draws=sampling.draws, tune=sampling.tune, chains=sampling.chains, cores=cores,
                         random_seed=sampling.seed, nuts_sampler=sampling.sampler, progressbar=progress,
                         target_accept=sampling.target_accept, compute_convergence_checks=False,
                         var_names=[v.name for v in model.free_RVs])
    # PyMC compiles inside pm.sample; its reported sampling_time separates the two where it can.
    total = time.perf_counter() - start
    return tree, max(total - float(tree.posterior.attrs.get("sampling_time", total)), 0.0)


def pilot_weights(model: pm.Model, compiled, sampling: SamplingSpec, cores: int) -> dict:
    """The centring weights from a short nutpie pilot of the centred model (``fit.centring``)."""
    centred = centring.set_weights(model, centring.constant(model, 1.0))
    compiled = compiled.with_data(**centred)
    pilot = nutpie_draws(compiled, centring.PILOT_DRAWS, tune=centring.PILOT_TUNE, chains=sampling.chains,
                         cores=cores, seed=sampling.seed, progress_bar=False, save_warmup=False,
                         target_accept=sampling.target_accept, store_unconstrained=True)
    return centring.weights_from_pilot(model, compiled, pilot)


def run_nuts(model: pm.Model, sampling: SamplingSpec, stored: list[str], cores: int | None = None,
             progress: bool = True, compiled=None, weights: dict | None = None) -> tuple[xr.DataTree, Timings]:
    """Sample with the chosen NUTS implementation; the posterior holds the free variables and ``stored`` deterministics.

    Each group of partially pooled effects is parameterised by ``weights`` if given, else by weights chosen from a
    short nutpie pilot of the same compiled model (:mod:`bayes_sauce.fit.centring`; nutpie compiles it for the pilot
    whatever the sampler); the weights are recorded in the posterior's attrs (``centring``). nutpie is compiled
    separately so compile time is known; only the free variables go through its compiled function and the stored
    deterministics are computed afterwards. ``compiled`` is a nutpie model compiled before, from ``compile_nutpie``,
    with this model's data.
    """
    if sampling.sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampling.sampler!r}; choose one of {SAMPLERS}")
    if not sampler_available(sampling.sampler):
        raise SpecError(f"sampler {sampling.sampler!r} is not installed (numpyro: `make bench` installs it)")
    timings = Timings()
    cores = cores or min(sampling.chains, 2)
    piloted = weights is None and bool(centring.groups(model))
    # A Ctrl-C that lands in a finalizer (numba's, while the pilot's curvature is computed) is printed as "Exception
    # ignored" and lost: noted here, it stops the run before the main sampling starts.
    with interrupts_noted() as noted:
        if compiled is None and (sampling.sampler == "nutpie" or piloted):
            start = time.perf_counter()
            compiled = compile_nutpie(model)
            timings.compile_s = time.perf_counter() - start
        if piloted:
            start = time.perf_counter()
            weights = pilot_weights(model, compiled, sampling, cores)
            timings.pilot_s = time.perf_counter() - start
        if noted:
            raise KeyboardInterrupt
        weights = weights or {}
        values = centring.set_weights(model, weights)
        if sampling.sampler == "nutpie" and values:
            compiled = compiled.with_data(**values)
        start = time.perf_counter()
        tree, compile_s = _sample(model, sampling, cores, progress, compiled)
        timings.sample_s = time.perf_counter() - start - compile_s
    if noted:
        raise KeyboardInterrupt
    timings.compile_s += compile_s
    tree.attrs["centring"] = centring.to_json(weights)
    start = time.perf_counter()
    pm.compute_deterministics(tree["posterior"], model=model, var_names=stored, extend_dataset=True, progressbar=False)
    timings.extras_s = time.perf_counter() - start
    return tree, timings
