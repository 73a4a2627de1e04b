"""Simulated data sets from a spec's own PyMC model (the one ``fit`` samples), on the real covariates.

Parameters come from the prior (``pm.sample_prior_predictive``) or from a fit's posterior draws
(``pm.sample_posterior_predictive``); the scores are the model's observed variable drawn given them.
Nothing here restates the model: the simulator is ``build_model``'s graph. A data set is then put back
into a model as its observed data: in the family structure the observed logits are a data container
(``y_observed``), so one built (and compiled) model serves every data set of one shape; the binomial
and logit-normal structures take their outcome from the design, so their model is rebuilt on a design
carrying the simulated outcome. Either way the per-model noise scales of the family structure stay
those of the real scores: they are covariates of the model, not data it generates.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.build import build_model
from bayes_sauce.model.design import Design, prepare
from bayes_sauce.model.evaluate import EVALUATION_MODE
from bayes_sauce.spec.schema import Spec

BLOCK = 100  # data sets drawn per call; data set i is draw i % BLOCK of block i // BLOCK (seeded per block)


@dataclass(frozen=True)
class Simulation:
    """One simulated data set: the true free parameters (one draw) and the simulated scores."""

    index: int
    params: xr.Dataset  # the free variables, dims (chain=1, draw=1, ...)
    score: np.ndarray  # accuracy per model, in the design's model order
    logit: np.ndarray | None = None  # the family structure's observed logit, when that structure simulated it
    # The centring weights the parameters are expressed in (``Design.centring``): none (non-centred) for prior draws,
    # the fit's for draws of its posterior.
    centring: dict[str, np.ndarray] = field(default_factory=dict)


def observed_name(spec: Spec) -> str:
    """The model's observed variable: the family structure's logits ``y``, binomial counts ``k``, logit-normal ``y``."""
    return "k" if spec.model.structure != "families" and spec.model.likelihood == "binomial" else "y"


def _free(model: pm.Model) -> list[str]:
    return [v.name for v in model.free_RVs]


def _simulations(spec: Spec, design: Design, params: xr.Dataset, observed: xr.DataArray, indices: list[int]
                 ) -> list[Simulation]:
    """Simulations from draws (dims chain=1, draw) of the free variables (in ``design``'s parameterisation) and of
    the observed variable."""
    scale = design.scale
    out = []
    for position, index in enumerate(indices):
        values = observed.isel(chain=0, draw=position).values
        logit = None
        if observed_name(spec) == "k":
            score = values / scale.n_questions
        else:
            score = scale.accuracy(values)
            logit = values if spec.model.structure == "families" else None
        draw = params.isel(draw=[position]).assign_coords(chain=[0], draw=[0])
        out.append(Simulation(index=index, params=draw, score=np.asarray(score, dtype=float), logit=logit,
                              centring=design.centring))
    return out


def simulate_prior(spec: Spec, design: Design, indices: list[int], seed: int) -> list[Simulation]:
    """Data sets ``indices`` with parameters drawn from the spec's priors (the same index always gives the same set)."""
    model = build_model(spec, design)
    name, out = observed_name(spec), []
    for block in sorted({i // BLOCK for i in indices}):
        wanted = [i for i in indices if i // BLOCK == block]
        draws = pm.sample_prior_predictive(draws=BLOCK, model=model, var_names=[*_free(model), name],
                                           random_seed=np.random.default_rng([seed, block]),
                                           compile_kwargs={"mode": EVALUATION_MODE})
        picked = [i % BLOCK for i in wanted]
        params = draws["prior"].to_dataset()[_free(model)].isel(draw=picked)
        out += _simulations(spec, design, params, draws["prior_predictive"][name].isel(draw=picked), wanted)
    return out


def simulate_posterior(fit: Fit, indices: list[int], seed: int) -> list[Simulation]:
    """Data sets ``indices`` with parameters taken from a fit's posterior draws (picked at random, seeded per block)."""
    model, name = fit.fitted_model, observed_name(fit.spec)
    stacked = fit.posterior[_free(model)].stack(sample=SAMPLE_DIMS)
    out = []
    for block in sorted({i // BLOCK for i in indices}):
        wanted = [i for i in indices if i // BLOCK == block]
        pick = np.random.default_rng([seed, block]).choice(stacked.sizes["sample"], BLOCK, replace=False)
        chosen = stacked.isel(sample=pick[[i % BLOCK for i in wanted]]).drop_vars(["sample", *SAMPLE_DIMS])
        params = (chosen.rename(sample="draw").expand_dims(chain=[0]).assign_coords(draw=np.arange(len(wanted)))
                  .transpose(*SAMPLE_DIMS, ...))
        draws = pm.sample_posterior_predictive(params, model=model, var_names=[name], progressbar=False,
                                               random_seed=np.random.default_rng([seed, block, 1]),
                                               compile_kwargs={"mode": EVALUATION_MODE})
        out += _simulations(fit.spec, fit.design, params, draws["posterior_predictive"][name], wanted)
    return out


def simulated_rows(rows: pd.DataFrame, design: Design, score: np.ndarray) -> pd.DataFrame:
    """The fitted rows with their scores replaced by simulated ones (and the normalised score with them)."""
    scale = design.scale
    return rows.assign(**{scale.outcome: score, f"{scale.outcome}_norm": scale.normalised(score)})


def observed_values(spec: Spec, design: Design, sim: Simulation) -> np.ndarray:
    """A simulation as the spec's observed data: its own logits where the family structure drew them, else what
    ``prepare`` makes of the simulated scores (the family logits, counts or logit scores)."""
    if spec.model.structure == "families" and sim.logit is not None:
        return sim.logit
    simulated, _ = prepare(spec, Dataset(simulated_rows(design.models, design, sim.score)))
    if spec.model.structure == "families":
        return simulated.families.logit
    return simulated.successes if spec.model.likelihood == "binomial" else simulated.logit_score


def swaps_data(spec: Spec) -> bool:
    """Whether the spec's model takes new observed data without being rebuilt (the family structure's ``y_observed``)."""
    return spec.model.structure == "families"


def model_with_data(spec: Spec, design: Design, values: np.ndarray, built: pm.Model | None = None) -> pm.Model:
    """The spec's model conditioned on ``values``: ``built`` (or a new model) with its data swapped, or a model
    rebuilt on a design carrying them (structures whose outcome is not a data container)."""
    if swaps_data(spec):
        model = built if built is not None else build_model(spec, design)
        pm.set_data({"y_observed": values}, model=model)
        return model
    field = "successes" if spec.model.likelihood == "binomial" else "logit_score"
    return build_model(spec, replace(design, **{field: values}))
