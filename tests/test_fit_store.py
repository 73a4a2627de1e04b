"""The one fit store (``fit_store.get_or_fit``): a saved fit reused where a new one would repeat it, else fitted, saved
and gated; and what a fit folder stores (float32 draws read back as float64, the thinned replicated datasets).
Fake fits only: no sampling."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.fit import fit_store
from bayes_sauce.fit.fit import REPLICATED_DATASETS, Fit, FitError, rounded_as_stored, thinned

from .fake_fit import fake_fit


def _dataset(fit: Fit, sha: str) -> Dataset:
    return Dataset(models=fit.rows, source="fake", sha256=sha)


@pytest.fixture
def fitted(monkeypatch):
    """fit_spec replaced by a fake fit (counted); fingerprints by the data's sha alone; this code and machine."""
    calls = []

    def fake_fit_spec(spec, dataset, **kwargs):
        calls.append(dataset.sha256)
        fit = fake_fit(seed=len(calls))
        fit.tree.attrs.update(fingerprint=dataset.sha256, code_digest=fit_store.code_digest(),
                              environment_digest=fit_store.environment_digest())
        return fit

    monkeypatch.setattr(fit_store, "fit_spec", fake_fit_spec)
    monkeypatch.setattr(fit_store, "fingerprint", lambda spec, sha: sha)
    return calls


def test_a_fit_is_made_saved_and_then_reused_without_sampling(tmp_path, fitted):
    said = []
    spec = fake_fit().spec
    first = fit_store.get_or_fit(spec, _dataset(fake_fit(), "a" * 16), tmp_path / "fit", echo=said.append)
    assert fitted == ["a" * 16] and not first.reused and first.path == tmp_path / "fit"
    assert Fit.load(tmp_path / "fit").fingerprint == "a" * 16
    assert any("Fitting spec 'hierarchical'" in line for line in said) and said[-1] == first.gate_status()
    said.clear()
    again = fit_store.get_or_fit(spec, _dataset(fake_fit(), "a" * 16), tmp_path / "fit", echo=said.append)
    assert fitted == ["a" * 16] and again.reused  # not fitted again
    assert said[0].startswith(f"Reusing the fit in {tmp_path / 'fit'}/")
    fit_store.get_or_fit(spec, _dataset(fake_fit(), "a" * 16), tmp_path / "fit", reuse=False)
    assert fitted == ["a" * 16] * 2  # reuse=False (the `fit` command) fits again


def test_a_fit_is_reused_from_the_folders_searched_first(tmp_path, fitted):
    spec = fake_fit().spec
    fit_store.get_or_fit(spec, _dataset(fake_fit(), "b" * 16), tmp_path / "elsewhere")
    found = fit_store.get_or_fit(spec, _dataset(fake_fit(), "b" * 16), tmp_path / "new", search=[tmp_path / "elsewhere"])
    assert fitted == ["b" * 16] and found.path == tmp_path / "elsewhere" and not (tmp_path / "new").exists()


def test_another_fit_in_the_folder_is_refused_before_sampling_unless_replaced(tmp_path, fitted):
    spec = fake_fit().spec
    fit_store.get_or_fit(spec, _dataset(fake_fit(), "c" * 16), tmp_path / "fit")
    with pytest.raises(FitError, match="holds a different fit"):
        fit_store.get_or_fit(spec, _dataset(fake_fit(), "d" * 16), tmp_path / "fit")
    assert fitted == ["c" * 16]  # refused before fitting
    fit_store.get_or_fit(spec, _dataset(fake_fit(), "d" * 16), tmp_path / "fit", replace=True)
    assert Fit.load(tmp_path / "fit").fingerprint == "d" * 16


def test_a_fit_that_fails_the_gate_is_saved_and_refused_only_when_asked(tmp_path, fitted, monkeypatch):
    real = fit_store.fit_spec

    def failing(spec, dataset, **kwargs):
        fit = real(spec, dataset, **kwargs)
        fit.diagnostics.update(passed=False, failures=["min bulk ESS 12 < 400"])
        return fit

    monkeypatch.setattr(fit_store, "fit_spec", failing)
    spec, said = fake_fit().spec, []
    with pytest.raises(FitError, match="gate FAILED.*--allow-failed"):
        fit_store.get_or_fit(spec, _dataset(fake_fit(), "e" * 16), tmp_path / "fit", allow_failed=False,
                             echo=said.append)
    assert "diagnostics gate FAILED (min bulk ESS 12 < 400)" in said[-1]
    assert not Fit.load(tmp_path / "fit").passed  # saved, and said so
    assert not fit_store.get_or_fit(spec, _dataset(fake_fit(), "e" * 16), tmp_path / "fit").passed


def test_draws_are_stored_as_float32_and_read_back_as_the_float64_the_fit_held(tmp_path):
    fit = fake_fit(draws=50)
    tree = fit.tree.assign({"posterior_predictive": xr.DataTree(fit.posterior[["eta"]].rename(eta="y"))})
    fit = Fit(spec=fit.spec, rows=fit.rows, excluded=fit.excluded, tree=rounded_as_stored(tree),
              diagnostics=fit.diagnostics)
    assert not np.array_equal(fit.posterior["beta"].values, fake_fit(draws=50).posterior["beta"].values)  # rounded
    np.testing.assert_allclose(fit.posterior["beta"].values, fake_fit(draws=50).posterior["beta"].values, rtol=1e-7)
    fit.save(tmp_path / "fit")
    with h5py.File(tmp_path / "fit" / "posterior.nc") as stored:
        assert stored["posterior/eta"].dtype == np.float32
        assert stored["posterior_predictive/y"].dtype == np.float64  # replicated scores compare with the data's edges
        assert stored["sample_stats/diverging"].dtype != np.float32
    for lazy, groups in ((False, ("posterior", "posterior_predictive")), (True, ("posterior",))):
        loaded = Fit.load(tmp_path / "fit", lazy=lazy)
        for group in groups:
            xr.testing.assert_identical(loaded.tree[group].to_dataset().load(), fit.tree[group].to_dataset())
        assert loaded.posterior["eta"].dtype == np.float64
    xr.testing.assert_identical(rounded_as_stored(fit.tree)["posterior"].to_dataset(), fit.posterior)


def test_thinning_keeps_as_many_draws_of_every_chain_evenly_spaced():
    draws = xr.Dataset({"x": (("chain", "draw"), np.arange(4 * 1500).reshape(4, 1500))},
                       coords={"chain": range(4), "draw": range(1500)})
    kept = thinned(draws, REPLICATED_DATASETS)
    assert kept.sizes == {"chain": 4, "draw": 50}
    assert kept["draw"].values[0] == 0 and kept["draw"].values[-1] == 1499 and len(set(np.diff(kept["draw"]))) <= 2
    assert thinned(draws.isel(draw=slice(0, 10)), 1000).sizes["draw"] == 10  # no more than there are


def test_the_fit_store_says_what_it_does_through_a_callback_not_print(tmp_path, fitted, capsys):
    fit_store.get_or_fit(fake_fit().spec, _dataset(fake_fit(), "f" * 16), Path(tmp_path / "fit"))
    assert capsys.readouterr().out == ""
