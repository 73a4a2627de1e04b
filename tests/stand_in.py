"""A stand-in for NUTS: prior draws where the sampler's draws would be, everything else the real fit path.

Tests of what is made from a fit (the report, its page, explain, predict, the checks, folders, newer models) need
draws of the model's free variables, not a posterior: ``prior_sampling`` replaces ``run_nuts`` (and nutpie's
compilation) wherever bayes_sauce binds them, so ``fit_spec``, ``bayes-sauce fit``, ``run``, ``report``'s fold fits
and every other caller build the model, run the real diagnostics gate (and its fallback), compute the deterministics,
log densities and replicates and save as they do after sampling. The draws are the model's prior at centring weights
chosen as a pilot would (seeded, strictly between 0 and 1, so partially centred code paths are exercised), which is
a distribution of the model: a function of the draws computed two ways still agrees draw by draw. Sampling itself
is tested by the few real fits (test_model, test_sampling)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from bayes_sauce.fit import attempts, centring, sampling  # noqa: F401  (attempts binds both names)
from bayes_sauce.fit.sampling import Timings
from bayes_sauce.predictive import family_folds
from bayes_sauce.model.effects import CENTRING_PREFIX
from bayes_sauce.model.evaluate import EVALUATION_MODE

ORIGINALS = {"run_nuts": sampling.run_nuts, "compile_nutpie": sampling.compile_nutpie,
             "fold_weights": family_folds.fold_weights}
SAMPLE_DIMS = ("chain", "draw")


def pilot_like_weights(model: pm.Model, seed: int) -> dict[str, np.ndarray]:
    """Per effect a weight in [0.05, 0.95], rounded as the pilot rounds them (``centring.DECIMALS``), from the seed."""
    rng = np.random.default_rng(seed)
    return {group: np.round(rng.uniform(0.05, 0.95, model[CENTRING_PREFIX + group].get_value().shape),
                            centring.DECIMALS) for group in centring.groups(model)}


def prior_nuts(model: pm.Model, settings, stored: list[str], cores: int | None = None, progress: bool = True,
               compiled=None, weights: dict | None = None) -> tuple[xr.DataTree, Timings]:
    """``run_nuts``' stand-in: ``chains`` x ``draws`` prior draws of the free variables (seeded by the settings'
    seed), the ``stored`` deterministics computed as ``run_nuts`` computes them, the groups nutpie's tree has
    (constant and observed data; sample_stats with no divergences and an energy of independent draws) and the
    centring weights in the attrs (``weights`` where given, as for the fallback, else ``pilot_like_weights``)."""
    weights = pilot_like_weights(model, settings.seed) if weights is None else weights
    centring.set_weights(model, weights)
    chains, draws = settings.chains, settings.draws
    free = [v.name for v in model.free_RVs]
    prior = pm.sample_prior_predictive(draws=chains * draws, model=model, var_names=free, random_seed=settings.seed,
                                       compile_kwargs={"mode": EVALUATION_MODE})  # compiles in a fraction of numba's time

    def by_chain(values: xr.DataArray) -> xr.DataArray:
        flat = values.stack(sample=SAMPLE_DIMS).transpose("sample", ...)
        shaped = flat.values.reshape(chains, draws, *flat.shape[1:])
        return xr.DataArray(shaped, dims=(*SAMPLE_DIMS, *flat.dims[1:]))

    coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    posterior = xr.Dataset({name: by_chain(prior["prior"][name]) for name in free}).assign_coords(coords)
    rng = np.random.default_rng(settings.seed)
    stats = xr.Dataset({"diverging": (SAMPLE_DIMS, np.zeros((chains, draws), bool)),
                        "energy": (SAMPLE_DIMS, rng.normal(size=(chains, draws)))}, coords=coords)
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats,
                                  "observed_data": prior["observed_data"].to_dataset(),
                                  "constant_data": prior["constant_data"].to_dataset()})
    tree.attrs["centring"] = centring.to_json(weights)
    pm.compute_deterministics(tree["posterior"], model=model, var_names=stored, extend_dataset=True, progressbar=False)
    return tree, Timings()


class NotCompiled:
    """What ``compile_nutpie``'s stand-in returns: the fold fits pass it on with new data, and nothing reads it."""

    def with_data(self, **data) -> NotCompiled:
        return self


def _binding(name: str) -> list[object]:
    """Every loaded bayes_sauce module that binds ``name`` to the original function (``fit.sampling`` among them)."""
    return [module for module_name, module in list(sys.modules.items())
            if module_name.startswith("bayes_sauce") and getattr(module, name, None) is ORIGINALS[name]]


@contextlib.contextmanager
def prior_sampling() -> Iterator[None]:
    """Within the block, every fit samples its prior (``prior_nuts``) and compiles nothing for nutpie: the names are
    replaced in ``fit.sampling`` (modules imported later bind the stand-ins) and in every module that bound them."""
    stand_ins = {"run_nuts": prior_nuts, "compile_nutpie": lambda model: NotCompiled(),
                 "fold_weights": lambda fit, compiled, weight: dict(fit.design.centring)}
    with pytest.MonkeyPatch.context() as patch:
        for name, stand_in in stand_ins.items():
            for module in _binding(name):
                patch.setattr(module, name, stand_in)
        yield
