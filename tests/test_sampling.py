"""Sampling itself, on the fast suite's two real NUTS fits (the default spec, 40 synthetic models, 2 chains of 30
draws): `bayes-sauce fit` exits on the gate and falls back once, the pilot's centring weights are the ones the draws
were sampled with, and the same seed gives the same weights, draws and gate through the command and the API. Every
other test of a fit's uses samples its prior instead (tests/stand_in.py); the same draws with cold and warm compile
caches, in separate processes: test_reproducibility (slow)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import numpy as np
import pytest
import xarray as xr

from bayes_sauce.cli.main import main
from bayes_sauce.data.load import load
from bayes_sauce.fit import centring
from bayes_sauce.fit.attempts import FALLBACK_FACTOR, MOST_DRAWS_FACTOR
from bayes_sauce.fit.fit import Fit, fit_spec
from bayes_sauce.fit.workflow import bayes_spec
from bayes_sauce.model.effects import CENTRING_PREFIX
from bayes_sauce.paths import DEFAULT_SPEC

from .stand_in import prior_sampling
from .synthetic import synthetic_models

pytestmark = pytest.mark.nuts
SETTINGS = {"draws": 30, "tune": 30, "chains": 2, "seed": 5}
FLAGS = [x for k, v in SETTINGS.items() for x in (f"--{k}", str(v))]


@pytest.fixture(scope="module")
def command_fit(tmp_path_factory):
    """`bayes-sauce fit` of the default spec: (data file, fit folder, exit status, what it printed)."""
    root = tmp_path_factory.mktemp("sampled")
    data = root / "tiny.csv"
    synthetic_models(40, seed=5).to_csv(data, index=False)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["fit", "--data", str(data), "--out", str(root / "fit"), *FLAGS, "--no-progress"])
    return data, root / "fit", status, printed.getvalue()


def test_fit_exits_on_the_gate_after_one_fallback(command_fit, tmp_path, capsys):
    data, folder, status, printed = command_fit
    assert status == 3  # 60 draws cannot reach ESS 400, nor can the fallback's 120: the gate fails and says so
    assert "Diagnostics gate: FAILED" in printed and "min bulk ESS" in printed and "What to try" in printed
    diagnostics = json.loads((folder / "diagnostics.json").read_text())
    assert not diagnostics["passed"] and diagnostics["fallback"].endswith("failed again")
    assert diagnostics["fallback"].startswith("the first attempt failed the gate")
    fit = Fit.load(folder)
    assert fit.tree.attrs["fallback"] == diagnostics["fallback"]
    # the fallback's draws are kept: as many as its note says, two to four times the first attempt's
    kept = fit.posterior.sizes["draw"]
    assert f"sampled once more with {kept} draws" in diagnostics["fallback"]
    assert FALLBACK_FACTOR * SETTINGS["draws"] <= kept <= MOST_DRAWS_FACTOR * SETTINGS["draws"]
    # --allow-failed turns exit 3 into 0 (the exit logic, not sampling: prior draws stand in) ...
    copy = tmp_path / "fit"
    shutil.copytree(folder, copy)
    args = ["fit", "--data", str(data), "--out", str(copy), "--no-progress"]
    with prior_sampling():
        assert main([*args, *FLAGS, "--allow-failed"]) == 0
    assert not json.loads((copy / "diagnostics.json").read_text())["passed"]
    # ... and other settings are refused before sampling where a different fit is in the folder.
    assert main([*args, *FLAGS[:-1], "6"]) == 2
    assert "holds a different fit" in capsys.readouterr().err


def test_the_pilot_weights_are_those_the_draws_were_sampled_with(command_fit):
    fit = Fit.load(command_fit[1])
    weights = centring.from_json(fit.tree.attrs["centring"])
    assert set(weights) == {"developer_level", "family_level"}
    for group, values in weights.items():
        assert values.shape == (fit.posterior.sizes[f"{group}_raw_dim_0"],)
        assert ((values >= 0) & (values <= 1)).all() and np.array_equal(values, np.round(values, centring.DECIMALS))
        np.testing.assert_array_equal(fit.tree.constant_data[CENTRING_PREFIX + group].values, values)
    assert fit.design.centring.keys() == weights.keys()  # a loaded fit rebuilds its model with them


def test_the_same_seed_gives_the_same_weights_draws_and_gate(command_fit):
    data, folder, _, _ = command_fit
    spec = bayes_spec(DEFAULT_SPEC, **SETTINGS)
    again = fit_spec(spec, load(data, spec.data.filters.to_filters()), progress=False)
    saved = Fit.load(folder)
    assert again.tree.attrs["centring"] == saved.tree.attrs["centring"]
    xr.testing.assert_identical(again.posterior.drop_attrs(), saved.posterior.drop_attrs())
    timeless = lambda d: {k: v for k, v in d.items() if k not in ("timings", "min_ess_bulk_per_s",  # noqa: E731
                                                                   "posterior_digest")}
    assert timeless(again.diagnostics) == timeless(saved.diagnostics)
