"""The check step: predictive checks computed by `bayes-sauce check`, kept with the fit, reused while the fit and the
code are the same, and only read by `report`, which never samples; the fold fits of the new-family check saved and
reused; float32 draws keep every reported number.

One module fixture: the default spec's prior draws on synthetic families (``sample_prior``: a Fit whose posterior is
the prior, one chain, so its gate fails: the commands get --allow-failed) with the groups a fit writes, saved as a
fit folder. The fold fits' sampling is replaced by those prior
draws (a fold's draws are whatever the sampler returns; what is tested is where they go and what reads them); the
masked likelihood and the fold's parameterisation are tested on a compiled model in the slow suite.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

from bayes_sauce.cli.main import main
from bayes_sauce.fit import fit as fitting
from bayes_sauce.fit import attempts, centring, fit_store, sampling
from bayes_sauce.fit.diagnostics import diagnose
from bayes_sauce.fit.fit import Fit, rounded_as_stored
from bayes_sauce.fit.sampling import Timings
from bayes_sauce.model.build import build_model
from bayes_sauce.model.families import LIKELIHOOD_WEIGHT
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.predictive import check_step, checks, family_folds
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.reporting.report import ols_reference
from bayes_sauce.reporting.tables import build_tables
from bayes_sauce.spec.schema import load_spec

from .synthetic import family_dataset, synthetic_family_models

FOLDS = 2


def _with_fit_groups(fit: Fit) -> Fit:
    """The prior fit with what `fit` writes besides the draws: log densities, replicated datasets, sample_stats."""
    tree = fit.tree.copy()
    fitting.add_log_densities(tree, fit.fitted_model, fit.spec, Timings())
    fitting.add_replicates(tree, fit.spec, fit.design)
    rng = np.random.default_rng(0)
    tree["sample_stats"] = xr.Dataset({"diverging": xr.zeros_like(fit.posterior["beta"], dtype=bool),
                                       "energy": fit.posterior["beta"].copy(data=rng.normal(size=(1, 60)))})
    tree.attrs.update(data_source="<synthetic families>", data_sha256="synthetic-families", sampler="prior draws",
                      chains=1, draws=60, tune=0)
    return Fit(spec=fit.spec, rows=fit.rows, excluded=fit.excluded, tree=tree, diagnostics=diagnose(tree))


@pytest.fixture(scope="module")
def prior_fit() -> Fit:
    frame = synthetic_family_models(developers=10, families=2, finetunes=3, failures=3, seed=4)
    return _with_fit_groups(sample_prior(load_spec(DEFAULT_SPEC), family_dataset(frame), draws=60, seed=5))


@pytest.fixture(scope="module")
def folder(prior_fit, tmp_path_factory):
    out = tmp_path_factory.mktemp("check") / "fit"
    Fit(spec=prior_fit.spec, rows=prior_fit.rows, excluded=prior_fit.excluded, tree=rounded_as_stored(prior_fit.tree),
        diagnostics=dict(prior_fit.diagnostics)).save(out)
    return out


@pytest.fixture
def fold_draws(monkeypatch):
    """A fold's sampling replaced by the fit's own (prior) draws; returns the likelihood weights it was asked for."""
    asked = []

    def sample(self, weight, identity, echo):
        asked.append(weight)
        tree = self.fit.tree.copy()
        tree.attrs["centring"] = "{}"
        return family_folds.fold_fit(self.fit, tree, {"passed": True, "failures": []}, weight, identity)

    monkeypatch.setattr(family_folds.FoldSampler, "sample", sample)
    return asked


def _no_sampler(monkeypatch) -> None:
    """Every way into a sampler raises."""
    def sampled(*args, **kwargs):
        raise AssertionError("a sampler was called")

    import nutpie

    for module, name in ((nutpie, "sample"), (pm, "sample"), (sampling, "run_nuts"), (sampling, "compile_nutpie"),
                         (attempts, "run_nuts"), (attempts, "sample_gated"), (fitting, "sample_gated"),
                         (fitting, "compile_nutpie"), (fitting, "fit_spec"), (fit_store, "fit_spec"),
                         (family_folds, "sample_gated"), (family_folds, "compile_nutpie"),
                         (family_folds.FoldSampler, "sample")):
        monkeypatch.setattr(module, name, sampled)


def test_check_computes_the_checks_once_and_keeps_them_with_the_fit(folder, fold_draws, monkeypatch, capsys):
    assert main(["check", str(folder), "--folds", str(FOLDS), "--no-progress", "--allow-failed"]) == 0
    saved = json.loads((folder / "checks.json").read_text())
    fit = Fit.load(folder)
    assert saved["computed_for"] == {"fingerprint": fit.fingerprint, "posterior_digest": fit.tree.attrs["posterior_digest"],
                                     "code_digest": fitting.code_digest(), "folds": FOLDS}
    assert set(saved["checks"]) == {"new_model_in_known_family", "new_family"}
    new_family = saved["checks"]["new_family"]
    assert new_family["folds"] == FOLDS and new_family["n"] + len(new_family["not_predictable"]) == \
        fit.rows["family"].nunique()
    assert len(fold_draws) == FOLDS and all(set(np.unique(w)) <= {0.0, 1.0} for w in fold_draws)
    held = family_folds.family_folds(fit.rows, FOLDS, fit.spec.sampling.seed)
    for k, weight in enumerate(fold_draws):
        np.testing.assert_array_equal(weight, (held != k).to_numpy(dtype=float))  # the fold's families weighted 0
        fold = Fit.load(folder / "checks" / f"fold{k + 1}")  # a complete fit folder
        assert json.loads(fold.tree.attrs[LIKELIHOOD_WEIGHT]) == weight.tolist()
    assert "new_family: " in capsys.readouterr().out
    # Again: read, not computed (nothing samples, and the fold fits are not asked for).
    _no_sampler(monkeypatch)
    monkeypatch.setattr(check_step, "predictive_checks", lambda *a, **k: pytest.fail("computed again"))
    assert main(["check", str(folder), "--folds", str(FOLDS), "--no-progress", "--allow-failed"]) == 0
    assert "(saved with this fit and code: reused)" in capsys.readouterr().out


def test_report_on_a_fit_whose_checks_are_computed_runs_no_sampler(folder, fold_draws, monkeypatch, capsys):
    check_step.run_checks(Fit.load(folder), FOLDS)
    saved = json.loads((folder / "checks.json").read_text())["checks"]
    _no_sampler(monkeypatch)
    monkeypatch.setattr(checks, "new_family_pit", lambda *a, **k: pytest.fail("fold fits in a report"))
    assert main(["report", str(folder), "--no-progress", "--allow-failed"]) == 0
    out = capsys.readouterr().out
    assert "No predictive checks saved" not in out
    text = (folder / "report.md").read_text()
    verdict = "passes" if saved["new_family"]["passed"] else "FAILS"
    assert f"`new_family` **{verdict}" in text or f"`new_family` **fails narrowly" in text
    assert f"n = {saved['new_family']['n']}" in text
    assert json.loads((folder / "checks.json").read_text())["checks"] == saved  # read, not rewritten
    assert "checks.json" not in json.loads((folder / "report.json").read_text())["files"]


def test_report_without_checks_has_the_cheap_one_and_names_the_command(folder, tmp_path, monkeypatch, capsys):
    bare = tmp_path / "fit"
    shutil.copytree(folder, bare, ignore=shutil.ignore_patterns("checks*", "report*"))
    _no_sampler(monkeypatch)
    assert main(["report", str(bare), "--no-progress", "--allow-failed"]) == 0
    out = capsys.readouterr().out
    assert f"`bayes-sauce check {bare}` computes them all" in out
    text = (bare / "report.md").read_text()
    assert "`new_family` **was not computed**" in text and f"`bayes-sauce check {bare}` computes it" in text
    assert "`new_model_in_known_family` **" in text and not (bare / "checks").exists()
    assert not (bare / "checks.json").exists()


def test_saved_checks_are_read_only_for_the_same_fit_code_and_folds(folder, fold_draws, monkeypatch):
    fit = Fit.load(folder)
    check_step.run_checks(fit, FOLDS)
    assert check_step.saved_checks(fit) is not None and check_step.saved_checks(fit, FOLDS) is not None
    assert check_step.saved_checks(fit, FOLDS + 1) is None
    other = Fit.load(folder)
    other.tree.attrs["posterior_digest"] = "another draw set"
    assert check_step.saved_checks(other) is None
    monkeypatch.setattr(check_step, "code_digest", lambda: "another version")
    assert check_step.saved_checks(fit) is None


def test_fold_fits_are_saved_and_reused_and_predict_as_new_families(prior_fit, tmp_path, fold_draws):
    first = family_folds.new_family_pit(prior_fit, tmp_path / "checks", FOLDS)
    assert len(fold_draws) == FOLDS
    again = family_folds.new_family_pit(prior_fit, tmp_path / "checks", FOLDS)
    assert len(fold_draws) == FOLDS  # reused from checks/, not sampled again
    pd.testing.assert_frame_equal(first, again)
    rows = prior_fit.rows
    assert sorted(first["family"]) == sorted(rows["family"].unique()) and first["pit"].dropna().between(0, 1).all()
    held = family_folds.family_folds(rows, FOLDS, prior_fit.spec.sampling.seed)
    for _, row in first.iterrows():  # seen: the base developer has a model among the rows left in the fold
        base = family_folds.base_developers(rows)[row["family"]]
        assert row["developer_seen"] == (base in set(rows.loc[held != row["fold"] - 1, "developer"]))


def test_float32_draws_keep_every_reported_number(prior_fit):
    stored = Fit(spec=prior_fit.spec, rows=prior_fit.rows, excluded=prior_fit.excluded,
                 tree=rounded_as_stored(prior_fit.tree), diagnostics=prior_fit.diagnostics)
    exact, rounded = (build_tables(fit, ols_reference(fit)) for fit in (prior_fit, stored))
    for name, table in exact.items():
        for column in table.columns:
            if pd.api.types.is_float_dtype(table[column]):
                keep = np.ones(len(table), bool)
                if column == "width_vs_prior" and "unit" in table:
                    # prior draws with beta near 0 overflow a multiplier 10**(effect / beta); which draws overflow
                    # (and are left out of the width) turns on the last bit of beta: not a reported number's precision
                    keep = (table["unit"] != "x").to_numpy().copy()
                    # and a component the data lack (no self-reported rows: the protocol's share) has an interval of
                    # round-off, whose width against the prior's is round-off too
                    keep &= ((table["hi"] - table["lo"]).abs() > 1e-9).to_numpy()
                np.testing.assert_allclose(rounded[name][column].to_numpy()[keep], table[column].to_numpy()[keep],
                                           rtol=1e-4, atol=1e-9, err_msg=f"{name}.{column}")
            else:
                assert rounded[name][column].equals(table[column]), f"{name}.{column}"


def test_fold_weights_non_centre_only_what_a_fold_leaves_without_data(prior_fit):
    """The fit's compiled model reads its own model object's data (not fit.fitted_model's, rebuilt on load): weights
    set on the wrong one made every effect look data-free, and every fold was sampled non-centred (R-hat 1.77)."""
    model = build_model(prior_fit.spec, prior_fit.design)  # another object than prior_fit.fitted_model
    compiled = sampling.compile_nutpie(model)
    tree = prior_fit.tree.copy()
    tree.attrs["centring"] = centring.to_json(centring.constant(model, 0.5))
    fit = Fit(spec=prior_fit.spec, rows=prior_fit.rows, excluded=prior_fit.excluded, tree=tree,
              diagnostics=prior_fit.diagnostics)
    everything = np.ones(len(fit.rows))
    assert all((w == 0.5).all() for w in family_folds.fold_weights(fit, compiled, everything).values())
    assert all((w == 0).all() for w in family_folds.fold_weights(fit, compiled, 0 * everything).values())
    first_family = (fit.rows["family"] == fit.rows["family"].iloc[0]).to_numpy()
    family = family_folds.fold_weights(fit, compiled, np.where(first_family, 0.0, 1.0))["family_level"]
    assert 0 < (family == 0).sum() < len(family) and set(family) == {0.0, 0.5}
    weights_read = next(v for v in compiled.shared_var_keys if v.name == LIKELIHOOD_WEIGHT).get_value()
    assert (weights_read == 1).all()  # put back
