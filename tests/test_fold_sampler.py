"""A fold fit leaves the fit's model as it found it: `run` reports from that model after the check step, and its draws
are read with the fit's centring weights (with the last fold's, the report's failure probabilities were wrong)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayes_sauce.fit import centring
from bayes_sauce.fit.sampling import Timings
from bayes_sauce.model.families import LIKELIHOOD_WEIGHT
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.predictive import family_folds
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.spec.schema import load_spec

from .synthetic import family_dataset, synthetic_family_models


class _Compiled:
    """A stand-in for nutpie's compiled model: the fold sampler only hands it on."""

    def with_data(self, **values):
        return self


def test_a_fold_fit_puts_back_the_fits_centring_and_likelihood_weights(monkeypatch):
    frame = synthetic_family_models(developers=4, families=2, finetunes=2, seed=3)
    fit = sample_prior(load_spec(DEFAULT_SPEC), family_dataset(frame), draws=20, seed=3)
    model = fit.fitted_model
    fitted = {group: np.full_like(w, 0.7) for group, w in centring.current(model).items()}
    centring.set_weights(model, fitted)
    seen = {}

    def sample_gated(model, sampling, stored, weights, **kwargs):  # as run_nuts does: the fold's weights in the model
        centring.set_weights(model, weights)
        seen.update(centring.current(model))
        tree = fit.tree.copy()
        tree["sample_stats"] = xr.Dataset({"diverging": xr.zeros_like(fit.posterior["beta"], dtype=bool)})
        tree.attrs["centring"] = centring.to_json(weights)
        return tree, Timings(), {"passed": True, "failures": []}

    monkeypatch.setattr(family_folds, "compile_nutpie", lambda model: _Compiled())
    monkeypatch.setattr(family_folds, "fold_weights", lambda fit, compiled, weight: {
        group: np.zeros_like(w) for group, w in fitted.items()})
    monkeypatch.setattr(family_folds, "sample_gated", sample_gated)
    weight = np.where(np.arange(len(fit.rows)) % 2 == 0, 1.0, 0.0)
    family_folds.FoldSampler(fit).sample(weight, "fold 1", print)
    assert all((w == 0).all() for w in seen.values())  # the fold was sampled with its own weights ...
    for group, w in centring.current(model).items():  # ... and the fit's are back
        np.testing.assert_array_equal(w, fitted[group], err_msg=group)
    assert (model[LIKELIHOOD_WEIGHT].get_value() == 1).all()
