"""Simulation-based calibration: ranks, coverage and the verdict; simulations from the spec's own model;
the Dask runner's cache; and that the machinery flags a deliberate misfit and nothing when the models agree."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bayes_sauce.calibration.coverage import FAMILY_ALPHA, coverage_table, uniformity_p_value
from bayes_sauce.calibration.ranks import RUNNING_BEST, rank_of, ranked_key
from bayes_sauce.quantities.keys import MODEL, PAPER, Key
from bayes_sauce.calibration.runner import CalibrationResult, _check_settings, run_calibration
from bayes_sauce.calibration.fitting import truth_fit
from bayes_sauce.calibration.simulate import BLOCK, observed_values, simulate_posterior, simulate_prior
from bayes_sauce.cli.main import main
from bayes_sauce.data.dataset import Dataset
from bayes_sauce.fit.fit import FitError
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.reporting.calibration import write_outputs
from bayes_sauce.spec.schema import load_spec, spec_from_dict

from .synthetic import synthetic_dataset


def family_dataset(n: int = 60, seed: int = 1) -> Dataset:
    """Synthetic rows in families of three (a root, two fine-tunes by the same developer) of each developer."""
    ds = synthetic_dataset(n, seed=seed)
    m = ds.models.sort_values(["developer", "log10_flops"]).reset_index(drop=True)
    pos = m.groupby("developer").cumcount()
    m["is_root"] = (pos % 3 == 0).to_numpy()
    m["family"] = m.groupby(m["developer"] + "/" + (pos // 3).astype(str))["model_id"].transform("first")
    return Dataset(models=m, excluded=ds.excluded, source=ds.source, sha256=ds.sha256)


def small_spec(**model):
    """The default spec without the mixtures (they need more data than a test has), few draws."""
    d = load_spec(DEFAULT_SPEC).to_dict()
    d["model"].update({"finetunes": "normal", "failures": "none", "accuracy_noise": False, **model})
    d["sampling"].update(draws=200, tune=400, chains=2)
    return spec_from_dict(d)


def test_rank_of_the_truth_is_uniform_when_it_comes_from_the_draws_distribution():
    rng = np.random.default_rng(0)
    pits = [rank_of(rng.normal(), rng.normal(size=99), rng)[1] for _ in range(500)]
    assert uniformity_p_value(np.array(pits)) > 0.05
    rank, pit = rank_of(1.0, np.array([0.0, 1.0, 1.0, 2.0]), np.random.default_rng(1))
    assert 1 <= rank <= 3 and 0 < pit < 1  # ties broken at random between the tied positions


def test_coverage_table_flags_only_skewed_ranks_after_bonferroni():
    rng = np.random.default_rng(3)
    n = 60
    pit = np.r_[rng.uniform(size=n), rng.uniform(size=n) ** 4, rng.uniform(size=n)]
    ranks = pd.DataFrame({"quantity": np.repeat(["ok", "skewed", "also_ok"], n), "kind": "parameter", "pit": pit,
                          "covered_50": rng.uniform(size=3 * n) < 0.5, "covered_90": rng.uniform(size=3 * n) < 0.9})
    table = coverage_table(ranks).set_index("quantity")
    assert table.loc["skewed", "calibrated"] == False  # noqa: E712
    assert table.loc[["ok", "also_ok"], "calibrated"].all()
    assert table["p_threshold"].iloc[0] == pytest.approx(FAMILY_ALPHA / 3)
    assert (table["coverage_90_lo"] <= table["coverage_90"]).all() and (table["coverage_90"] <= table["coverage_90_hi"]).all()


def test_infinite_values_are_ranked_and_undefined_ones_counted_not_ranked():
    rng = np.random.default_rng(4)
    assert rank_of(np.inf, np.array([1.0, np.inf, np.inf, 3.0]), rng)[0] in (2, 3, 4)  # tied with the infinite draws
    assert rank_of(-np.inf, np.array([1.0, 2.0]), rng)[0] == 0
    n = 40
    ranks = pd.DataFrame({"quantity": "q", "kind": "headline", "pit": np.r_[rng.uniform(size=n), [np.nan] * 3],
                          "covered_50": [True, False] * (n // 2) + [np.nan] * 3,
                          "covered_90": [True] * n + [np.nan] * 3})
    row = coverage_table(ranks).iloc[0]
    assert row["n_datasets"] == n and row["n_undefined"] == 3
    assert row["coverage_50"] == 0.5 and row["coverage_90"] == 1.0


def test_report_compares_fits_that_passed_and_failed_the_gate(tmp_path):
    rng = np.random.default_rng(5)
    n = 30
    passed = np.arange(n) < 10
    ranks = pd.DataFrame({"dataset": np.arange(n), "quantity": "beta", "kind": "parameter",
                          "pit": np.where(passed, rng.uniform(size=n), rng.uniform(size=n) ** 6),
                          "covered_50": True, "covered_90": True, "gate_passed": passed})
    datasets = pd.DataFrame({"dataset": np.arange(n), "status": "fitted", "gate_passed": passed, "seconds": 1.0,
                             "sample_s": 0.5, "divergences": 0})
    d = load_spec(DEFAULT_SPEC).to_dict()
    result = CalibrationResult(out=tmp_path, ranks=ranks, datasets=datasets, wall_s=1.0, fitted=list(range(n)),
                               settings={"fitted_spec": d, "simulator_spec": d, "seed": 1, "parameters_from": "prior"})
    write_outputs(result, "x")
    text = (tmp_path / "calibration.md").read_text()
    section = text.split("## By the diagnostics gate")[1]
    assert "within the 10 data sets whose fit passed" in section
    row = next(line for line in section.splitlines() if line.startswith("| beta"))
    p_passed, p_failed = (float(cell) for cell in row.strip("|").split("|")[2::2])
    assert p_passed > 0.01 > p_failed  # the skewed ranks are the failed fits'


PAIR = ("Llama-2-70B", "DeepSeek-V3")


@pytest.mark.parametrize(("key", "expected"), [
    (Key("shapley", PAPER, "compute"), "shapley_compute"),
    (Key("shapley", MODEL, "family"), "shapley_family__model_view"),
    (Key("within_firm_spread", PAPER, spread="p90_p10"), "within_firm_spread_p90_p10"),
    (Key("within_firm_spread", PAPER, subject="Qwen", spread="p90_p10"), None),
    (Key("within_firm_spread", MODEL, spread="p90_p10", variant="beta_at_median"), None),
    (Key("frontier_share", PAPER, "compute", pair=PAIR), "frontier_compute_share__Llama-2-70B__DeepSeek-V3"),
    (Key("frontier_share", MODEL, "compute", pair=("a-model", "another")),
     Key("frontier_share", MODEL, "compute", pair=RUNNING_BEST).id),
    (Key("frontier_share", PAPER, "time", pair=PAIR), None),
    (Key("progress_multiplier", PAPER, subject="2024q3-2025q1"), None),  # the last period: the same as last_vs_first
    (Key("progress_multiplier", PAPER, subject="2023q4-2024q2"), "progress_multiplier__2023q4-2024q2"),
    (Key("developer_multiplier", PAPER, subject="Qwen"), None),
])
def test_ranked_headline_keys(key, expected):
    ranked = ranked_key(key, "2024q3-2025q1")
    assert (None if ranked is None else ranked.id) == expected


def test_a_data_set_is_fixed_by_its_index_and_comes_from_the_models_observed_variable():
    spec = small_spec()
    design, _ = prepare(spec, family_dataset())
    alone = simulate_prior(spec, design, [3], seed=5)[0]
    among = simulate_prior(spec, design, [0, 3], seed=5)[1]
    assert alone.index == among.index == 3
    np.testing.assert_array_equal(alone.score, among.score)
    assert alone.params["beta"].item() == among.params["beta"].item()
    # The family structure's own logits go in as they were drawn; a binomial spec gets the counts of the scores.
    np.testing.assert_array_equal(observed_values(spec, design, alone), alone.logit)
    binomial = load_spec(MODELS_DIR / "developer_pooling.toml")
    b_design, _ = prepare(binomial, family_dataset())
    counts = observed_values(binomial, b_design, alone)
    np.testing.assert_array_equal(counts, np.round(alone.score * 12_032).astype(int))


def test_parameters_from_a_posterior_simulate_and_give_a_truth(tmp_path):
    spec = small_spec()
    # A Fit whose posterior is prior draws stands in for a fitted posterior (no sampling in a fast test).
    fit = sample_prior(spec, family_dataset(), draws=BLOCK, seed=2)
    sims = simulate_posterior(fit, [0, 1], seed=4)
    assert [s.index for s in sims] == [0, 1]
    assert list(sims[0].params["developer_level_raw"].dims[:2]) == ["chain", "draw"]
    design = fit.design
    truth = truth_fit("posterior-test", spec, design, sims[0], observed_values(spec, design, sims[0]))
    # Its model effects are what the simulated logits leave: the model was given the simulated data.
    derived = truth.evaluate(["mu", "component__family"])
    np.testing.assert_allclose(truth.posterior["model_effect"].values.ravel(), sims[0].logit
                               - derived["mu"].values.ravel() - derived["component__family"].values.ravel())


def test_data_sets_made_with_other_settings_are_refused_or_replaced(tmp_path):
    _check_settings(tmp_path, {"seed": 1}, replace=False)
    (tmp_path / "datasets" / "000").mkdir(parents=True)
    with pytest.raises(FitError, match="seed"):
        _check_settings(tmp_path, {"seed": 2}, replace=False)
    _check_settings(tmp_path, {"seed": 2}, replace=True)
    assert not (tmp_path / "datasets").exists()
    assert json.loads((tmp_path / "settings.json").read_text()) == {"seed": 2}


def test_calibrate_is_a_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["calibrate", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--datasets", "--from-posterior", "--scheduler", "--workers", "--out", "--draws", "--seed"):
        assert flag in out


def _calibrate(tmp_path, fitter, simulator=None, n=20):
    rows = prepare(fitter, family_dataset())[0].models
    return run_calibration(fitter, rows, n, 11, tmp_path, simulator=simulator, workers=1, echo=lambda _: None)


@pytest.mark.slow  # xfail until finetunes = "normal" lost its damaged component at weight 1e-12 (a second mode)
def test_agreeing_simulator_and_model_flag_nothing_and_a_rerun_fits_nothing(tmp_path):
    spec = small_spec()
    result = _calibrate(tmp_path, spec, n=12)
    assert (result.datasets["status"] == "fitted").all()
    write_outputs(result, spec.name)
    coverage = pd.read_csv(tmp_path / "coverage.csv")
    assert {"beta", "sigma_developer", "shapley_compute", "within_firm_spread_p90_p10"} <= set(coverage["quantity"])
    assert coverage["calibrated"].all(), coverage.loc[~coverage["calibrated"], ["quantity", "rank_p_value"]]
    assert "All" in (tmp_path / "calibration.md").read_text() and (tmp_path / "calibration.png").exists()
    assert _calibrate(tmp_path, spec, n=12).fitted == []  # cached per data set


@pytest.mark.slow
def test_a_fitted_prior_that_contradicts_the_simulator_flags_beta(tmp_path):
    # A structural misfit was tried first: developer levels rising with compute (Mundlak coefficient ~3),
    # fitted without the Mundlak term. On these 60 models beta stayed calibrated over 24 data sets (rank test not rejecting):
    # with three families per developer the developers' own levels absorb the correlation, so beta is learnt
    # within developers. A prior that puts beta near 1.5 when the simulator draws it around 0.5 cannot hide.
    fitter = small_spec().to_dict()
    fitter["priors"]["beta"] = {"dist": "Normal", "mu": 1.5, "sigma": 0.05}
    result = _calibrate(tmp_path, spec_from_dict(fitter), simulator=small_spec(), n=8)
    coverage = coverage_table(result.ranks).set_index("quantity")
    assert not coverage.loc["beta", "calibrated"]
    assert coverage.loc["beta", "mean_pit"] < 0.3  # the fitted beta sits above the truth
