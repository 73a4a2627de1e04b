"""Sensitivity sweeps: validation before fitting, cache keys, Dask fits (distributed and local), tables, psense."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_sauce.cli.main import main
from bayes_sauce.fit.fit import fingerprint
from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.quantities.headline import KEY_QUANTITIES
from bayes_sauce.reporting.sweep import write_outputs
from bayes_sauce.sensitivity.sweep import CACHE_MARKER, robustness, run_sweep
from bayes_sauce.spec.schema import SpecError, spec_from_dict
from bayes_sauce.spec.sweep import read_sweep

from .synthetic import synthetic_models


def write_sweep(folder: Path, body: str, base: Path = DEFAULT_SPEC) -> Path:
    path = folder / "sweep.toml"
    path.write_text(f'base = "{base}"\n{body}')
    return path


@pytest.mark.parametrize(("body", "expected"), [
    ('[variants.typo]\nmodel = { developer_distt = "student_t" }', ["variant 'typo'", "key 'model.developer_distt'", "unknown key"]),
    ('[variants.neg]\npriors = { beta = { dist = "Normal", mu = 0, sigma = -1 } }', ["variant 'neg'", "key 'priors.beta'", "positive"]),
    ('[variants.bad_scale]\nscale_priors = { betta = 2 }', ["variant 'bad_scale'", "key 'scale_priors.betta'", "unknown prior"]),
    ('[variants.zero]\nscale_priors = { beta = 0 }', ["variant 'zero'", "key 'scale_priors.beta'", "positive number"]),
    ('[variants.time]\ndata = { time = "week" }', ["variant 'time'", "key 'data.time'"]),
    ('schedule = "x"', ["key 'schedule'", "unknown key"]),
    ('[variants.default]\nmodel = { developers = "pooled" }', ["variant 'default'", "reserved"]),
])
def test_invalid_sweep_fails_before_fitting_naming_variant_and_key(tmp_path, body, expected):
    path = write_sweep(tmp_path, f'[variants.ok]\nscale_priors = {{ beta = 2 }}\n{body}')
    with pytest.raises(SpecError) as err:
        read_sweep(path)
    assert str(path) in str(err.value)
    for text in expected:
        assert text in str(err.value)


def test_cli_rejects_an_invalid_sweep_with_exit_2_and_fits_nothing(tmp_path, capsys):
    path = write_sweep(tmp_path, '[variants.typo]\nmodel = { likelihod = "binomial" }')
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "variant 'typo'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_variants_merge_scale_priors_and_sampling_in_order(tmp_path):
    path = write_sweep(tmp_path, "[sampling]\ndraws = 50\ntune = 60\n"
                                 "[variants.wide]\nscale_priors = { beta = 2, nu_developer = 2 }\nsampling = { draws = 70 }\n"
                                 '[variants.t]\nmodel = { mundlak = false }\n'
                                 "[variants.majors]\ndata = { filters = { majors_only = true } }\n")
    sweep = read_sweep(path, {"seed": 5})
    default, wide, t, majors = sweep.variants
    assert [v.name for v in sweep.variants] == ["default", "wide", "t", "majors"]
    assert [v.kind for v in sweep.variants] == ["default", "prior", "model", "subsample"]
    assert default.spec["priors"]["beta"] == {"dist": "Normal", "mu": 0.5, "sigma": 0.5}
    assert wide.spec["priors"]["beta"] == {"dist": "Normal", "mu": 0.5, "sigma": 1.0}
    assert wide.spec["priors"]["nu_developer"] == {"dist": "Gamma", "alpha": 2.0, "beta": 0.05}  # rate halved
    # base < the sweep's [sampling] < the variant's own < the command line's
    assert (default.spec["sampling"]["draws"], default.spec["sampling"]["tune"]) == (50, 60)
    assert wide.spec["sampling"]["draws"] == 70 and wide.spec["sampling"]["seed"] == 5
    assert t.spec["model"]["mundlak"] is False and majors.spec["data"]["filters"]["majors_only"]


def test_shipped_sweeps_are_valid_and_cover_the_issue():
    sweep = read_sweep(MODELS_DIR / "sensitivity" / "default.toml")
    names = {v.name for v in sweep.variants}
    for prior in ("beta", "sigma_developer", "sigma_family", "sigma_finetuner", "failure_rate", "period"):
        assert {f"{prior}_x0.5", f"{prior}_x2"} <= names
    assert {"no_mundlak", "no_failures", "normal_finetunes", "developer_pooling", "logit_normal", "pooled", "quarter",
            "month", "majors_only", "leaderboard_only", "no_size_estimates", "total_tokens_only", "math_l5"} <= names
    assert len(read_sweep(MODELS_DIR / "sensitivity" / "smoke.toml").variants) == 2


def test_fingerprint_changes_with_spec_data_and_seed_only():
    spec = read_sweep(MODELS_DIR / "sensitivity" / "smoke.toml").variants[0].spec

    def key(raw, sha="a" * 64):
        return fingerprint(spec_from_dict(raw), sha)

    assert key(spec) == key(dict(reversed(spec.items())))
    assert key(spec) == key({**spec, "description": "reworded", "name": "renamed"})
    assert key(spec) != key(spec, "b" * 64)
    assert key(spec) != key({**spec, "sampling": {**spec["sampling"], "seed": 1}})
    assert key(spec) != key({**spec, "priors": {**spec["priors"], "beta": {"dist": "Normal", "mu": 0.5, "sigma": 1.0}}})


def test_robustness_lists_variants_whose_median_leaves_the_default_interval():
    rows = [("default", "default", 0.8, 0.7, 0.9, True), ("beta_x2", "prior", 0.82, 0.6, 1.0, True),
            ("pooled", "model", 0.95, 0.9, 1.0, True), ("bad", "model", 2.0, 1.9, 2.1, False)]
    table = pd.DataFrame([{"variant": v, "kind": k, "quantity": "compute_slope", "median": m, "lo": lo, "hi": hi,
                           "paper": 0.789, "unit": "logit", "gate_passed": ok, "error": ""}
                          for v, k, m, lo, hi, ok in rows])
    rob = robustness(table).set_index("kind")
    assert rob.loc["prior", "outside"] == "" and rob.loc["model", "outside"] == "pooled"
    assert rob.loc["model", "n_variants"] == 1  # the variant that failed the gate does not count
    assert rob.loc["model", "default_lo"] == 0.7


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """Three variants on tiny synthetic data, fitted on a distributed LocalCluster of 2 workers (via --scheduler):
    a default long enough to pass the gate and a prior variant too short to pass it (a variant whose filters
    leave no rows is refused before anything is fitted: tests/test_bad_inputs.py).

    The base is the developer structure with the paper's fixed groups: the synthetic data have no developer effects, so a developer scale
    would sit in its funnel and no short fit would pass the gate.
    """
    from distributed import LocalCluster

    folder = tmp_path_factory.mktemp("sweep")
    data = folder / "data.csv"
    synthetic_models(60, seed=0).to_csv(data, index=False)
    base = folder / "base.toml"
    base.write_text((MODELS_DIR / "developer_pooling.toml").read_text().replace('developers = "pooled_groups"',
                                                                                 'developers = "fixed_groups"'))
    path = write_sweep(folder, "[sampling]\ndraws = 1000\ntune = 1000\nchains = 4\n"
                               "[variants.beta_x2]\nscale_priors = { beta = 2 }\nsampling = { draws = 20, tune = 20 }\n", base)
    sweep = read_sweep(path)
    lines: list[str] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run_sweep(sweep, data, folder / "out", scheduler=cluster.scheduler_address, echo=lines.append)
    return sweep, data, result, lines


@pytest.mark.slow
def test_distributed_sweep_records_failures_and_the_rest_go_on(swept):
    _, _, result, lines = swept
    status = result.variants.set_index("variant")["status"]
    assert status.to_dict() == {"default": "passed", "beta_x2": "failed gate"}
    table = result.table
    assert set(table.columns) >= {"variant", "quantity", "median", "lo", "hi", "paper", "gate_passed", "error"}
    slope = table[table["quantity"] == "compute_slope"].set_index("variant")
    assert list(slope.index) == ["default", "beta_x2"] and slope.loc["default", "lo"] < slope.loc["default", "hi"]
    assert slope.loc["default", "paper"] == pytest.approx(0.789, abs=1e-3)
    assert "diagnostics gate failed" in slope.loc["beta_x2", "error"] and not slope.loc["beta_x2", "gate_passed"]
    assert any(line.startswith("[2/2 done]") for line in lines) and any("started" in line for line in lines)
    folder = Path(result.variants.set_index("variant").loc["default", "folder"])
    assert json.loads((folder / "diagnostics.json").read_text())["passed"]
    assert {"posterior.nc", "models.csv", "excluded.csv", "psense.csv", CACHE_MARKER} <= {p.name for p in folder.iterdir()}


@pytest.mark.slow
def test_psense_of_each_fit_covers_parameters_and_headline_quantities(swept):
    psense = swept[2].psense
    default = psense[psense["variant"] == "default"].set_index("variable")
    assert default.loc["beta", "kind"] == "parameter" and default.loc["compute_slope", "kind"] == "quantity"
    assert np.isfinite(default.loc[["beta", "sigma_model", "shapley_compute"], ["prior", "likelihood"]].to_numpy()).all()
    assert default["prior_sensitive"].dtype == bool
    assert "period_effect[" not in " ".join(default.index[default["prior"].isna()])  # constants dropped


@pytest.mark.slow
def test_outputs_written_and_a_rerun_fits_only_what_is_not_cached(swept):
    sweep, data, result, _ = swept
    paths = write_outputs(result)
    assert {p.name for p in paths} == {"sensitivity.csv", "variants.csv", "robustness.csv", "psense.csv",
                                       "sensitivity.png", "sensitivity.md"}
    posteriors = sorted(result.out.glob("*/posterior.nc"))
    stamps = [p.stat().st_mtime_ns for p in posteriors]
    # Resumed: the cached fits are reused, nothing is refitted.
    rerun = run_sweep(sweep, data, result.out, workers=1, echo=lambda _: None)
    assert rerun.fitted == []
    assert [p.stat().st_mtime_ns for p in posteriors] == stamps
    pd.testing.assert_frame_equal(rerun.table, result.table)
    assert set(KEY_QUANTITIES) & set(rerun.table["quantity"])
