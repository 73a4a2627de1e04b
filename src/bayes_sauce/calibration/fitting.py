"""Fitting simulated data sets: the spec's model with the data swapped in, nutpie compiled once per shape.

A worker process keeps each model it has built (and nutpie's compiled model of it) by a key naming the
spec and the rows, so data sets of one shape reuse one compilation (``with_data``); structures whose
outcome is not a data container are rebuilt and compiled for every data set. The truth and the
posterior are both wrapped as a :class:`SimulatedFit`, so the headline quantities come from the same
code (:mod:`bayes_sauce.quantities.posterior`) as a real fit's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import pandas as pd
import pymc as pm
import xarray as xr

from bayes_sauce.data.dataset import excluded_frame
from bayes_sauce.fit import centring
from bayes_sauce.fit.attempts import sample_gated
from bayes_sauce.fit.fit import Fit
from bayes_sauce.fit.sampling import Timings, compile_nutpie
from bayes_sauce.model.build import build_model, stored_deterministics
from bayes_sauce.model.design import Design
from bayes_sauce.spec.schema import Spec
from bayes_sauce.calibration.simulate import Simulation, model_with_data, simulated_rows, swaps_data

TRUTH = ":truth"  # suffix of the key of a simulation's own model (its truth's parameterisation)
# Per worker process, by key: the models built, and nutpie's compiled models of them.
_MODELS: dict[str, pm.Model] = {}
_COMPILED: dict[str, Any] = {}


@dataclass(frozen=True)
class SimulatedFit(Fit):
    """A fit of a simulated data set (or its truth, as a one-draw posterior) on a model built once and given
    the data, not rebuilt from the rows: ``design`` and ``fitted_model`` are the ones it was sampled with."""

    given_design: Design | None = None
    given_model: pm.Model | None = None

    @cached_property
    def design(self) -> Design:
        return self.given_design

    @cached_property
    def fitted_model(self) -> pm.Model:
        return self.given_model


def with_data(key: str, spec: Spec, design: Design, values) -> pm.Model:
    """The spec's model given ``values`` as observed data (built once per key where the data can be swapped)."""
    if not swaps_data(spec):
        return model_with_data(spec, design, values)
    if key not in _MODELS:
        _MODELS[key] = build_model(spec, design)
    return model_with_data(spec, design, values, _MODELS[key])


def conditioned(key: str, spec: Spec, design: Design, values) -> tuple[pm.Model, Any, float]:
    """The spec's model given ``values`` as observed data, nutpie's compiled model for it (None for other
    samplers), and the seconds spent building and compiling (next to none when this worker has done so)."""
    start = time.perf_counter()
    model = with_data(key, spec, design, values)
    compiled = None
    if spec.sampling.sampler == "nutpie":
        if not swaps_data(spec):
            compiled = compile_nutpie(model)
        else:
            if key not in _COMPILED:
                _COMPILED[key] = compile_nutpie(model)
            compiled = _COMPILED[key].with_data(y_observed=values)
    return model, compiled, time.perf_counter() - start


def _fit(spec: Spec, design: Design, rows: pd.DataFrame, tree: xr.DataTree, model: pm.Model,
         diagnostics: dict[str, Any], timings: Timings | None = None) -> SimulatedFit:
    return SimulatedFit(spec=spec, rows=rows, excluded=excluded_frame([], []), tree=tree, diagnostics=diagnostics,
                        timings=timings or Timings(), given_design=design, given_model=model)


def fit_simulation(key: str, spec: Spec, design: Design, sim: Simulation, values) -> SimulatedFit:
    """Sample the spec's model on one simulated data set as ``fit`` does (its pilot, gate and fallback; one core,
    no progress bar). The model keeps the weights it was sampled with until this worker's next data set."""
    model, compiled, build_s = conditioned(key, spec, design, values)
    tree, timings, diagnostics = sample_gated(model, spec.sampling, stored_deterministics(model), cores=1,
                                              progress=False, compiled=compiled, echo=lambda _: None)
    timings.compile_s += build_s
    diagnostics["timings"] = timings.as_dict()
    design = replace(design, centring=centring.from_json(tree.attrs["centring"]))
    return _fit(spec, design, simulated_rows(design.models, design, sim.score), tree, model, diagnostics, timings)


def truth_fit(key: str, spec: Spec, design: Design, sim: Simulation, values) -> SimulatedFit:
    """The simulation's true parameters as a one-draw posterior of the simulating spec's model on its own data
    (stored deterministics computed from them, as after sampling), in the parameterisation they were drawn in; its
    model is kept apart from the fitted one (``TRUTH``), whose centring weights differ."""
    design = replace(design, centring=sim.centring)
    model = with_data(key + TRUTH, spec, design, values)
    centring.set_weights(model, {**centring.zeros(model), **sim.centring})
    posterior = pm.compute_deterministics(sim.params, model=model, var_names=stored_deterministics(model),
                                          extend_dataset=True, progressbar=False)
    tree = xr.DataTree.from_dict({"posterior": posterior})
    return _fit(spec, design, simulated_rows(design.models, design, sim.score), tree, model,
                {"passed": True, "failures": [], "note": "true parameters of a simulation"})
