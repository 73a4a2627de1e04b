"""Every bad value at the door (issue 33): option ranges checked by the parser (exit 2), every spec combination the
schema allows builds (the rest are refused with a reason), prior numbers the sampler cannot work with refused,
compute that overflows refused with its line; sampler panics, OS errors and Ctrl-C during sampling end in one line;
long work says where it is in a pipe, and a data set beyond any measured says what to expect."""

from __future__ import annotations

import errno
import glob
import itertools
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from typing import get_args

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_sauce.cli import analysis, options
from bayes_sauce.cli.main import build_parser, main
from bayes_sauce.data.read import LINE, DataValidationError, validate
from bayes_sauce.fit import fit as fitting
from bayes_sauce.fit import sampling
from bayes_sauce.model.build import build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC, PROJECT_ROOT
from bayes_sauce.periods import TIMES
from bayes_sauce.spec.schema import ModelSpec, SamplingSpec, SpecError, merge, read_spec_dict, spec_from_dict

from .synthetic import synthetic_dataset, synthetic_models

# --- option ranges ----------------------------------------------------------------------------------------------

OPTION_CASES = [  # (command line, the parser's message)
    ("fit --draws 0", "argument --draws: needs an integer of at least 1, got '0'"),
    ("fit --draws -5", "argument --draws: needs an integer of at least 1, got '-5'"),
    ("fit --draws 1.5", "argument --draws: needs an integer of at least 1, got '1.5'"),
    ("fit --chains -1", "argument --chains: needs an integer of at least 1, got '-1'"),
    ("fit --tune 0", "argument --tune: needs an integer of at least 1, got '0'"),
    ("fit --seed -1", "argument --seed: needs an integer of at least 0 and at most 4294967295, got '-1'"),
    ("fit --seed 4294967296", "argument --seed: needs an integer of at least 0 and at most 4294967295"),
    ("fit --target-accept 1", "argument --target-accept: needs a number between 0 and 1 (both excluded), got '1'"),
    ("fit --target-accept nan", "argument --target-accept: needs a number between 0 and 1"),
    ("run --folds 1", "argument --folds: needs an integer of at least 2, got '1'"),
    ("run --bootstrap 1", "argument --bootstrap: needs 0 (no bootstrap) or at least 2 replicates, got '1'"),
    ("run --level 0", "argument --level: needs a number between 0 and 1 (both excluded), got '0'"),
    ("replicate --level 1.5", "argument --level: needs a number between 0 and 1 (both excluded), got '1.5'"),
    ("replicate --level -0.5", "argument --level: needs a number between 0 and 1"),
    ("replicate --level inf", "argument --level: needs a number between 0 and 1"),
    ("replicate --bootstrap -1", "argument --bootstrap: needs an integer of at least 0, got '-1'"),
    ("replicate --seed -1", "argument --seed: needs an integer of at least 0"),
    ("check DIR --folds 0", "argument --folds: needs an integer of at least 2, got '0'"),
    ("psense --threshold -1", "argument --threshold: needs a positive number, got '-1'"),
    ("psense --threshold 0", "argument --threshold: needs a positive number, got '0'"),
    ("sensitivity SWEEP --workers 0", "argument --workers: needs an integer of at least 1, got '0'"),
    ("sensitivity SWEEP --draws 0", "argument --draws: needs an integer of at least 1, got '0'"),
    ("calibrate --datasets 0", "argument --datasets: needs an integer of at least 1, got '0'"),
    ("calibrate --seed -1", "argument --seed: needs an integer of at least 0"),
    ("compare --max-refits -1", "argument --max-refits: needs an integer of at least 0, got '-1'"),
    ("compare --chains 0", "argument --chains: needs an integer of at least 1, got '0'"),
    ("backtest --cutoff 2024q3 --level 1.5", "argument --level: needs a number between 0 and 1"),
    ("backtest --cutoff 2024q3 --tune -1", "argument --tune: needs an integer of at least 1, got '-1'"),
    ("explain MODEL --relatives -1", "argument --relatives: needs an integer of at least 0, got '-1'"),
    ("predict --level 1.5", "argument --level: needs a number between 0 and 1 (both excluded), got '1.5'"),
]


@pytest.mark.parametrize(("line", "message"), OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_an_option_out_of_range_is_a_usage_error(tmp_path, capsys, line, message):
    with pytest.raises(SystemExit) as stop:
        main([*line.split(), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("line", ["fit --seed 0", "fit --seed 4294967295", "fit --draws 1", "replicate --bootstrap 0",
                                  "replicate --bootstrap 2", "replicate --level 0.5", "psense --threshold 0.1",
                                  "fit --target-accept 0.95"])
def test_the_edges_of_each_range_are_accepted(line):
    build_parser().parse_args(line.split())


def test_a_seed_beyond_what_the_samplers_take_is_refused_in_a_spec_too():
    with pytest.raises(SpecError, match="sampling.seed"):
        spec_from_dict(merge(read_spec_dict(DEFAULT_SPEC), {"sampling": {"seed": 2**32}}))


# --- spec combinations ------------------------------------------------------------------------------------------

def _choices() -> dict[str, tuple]:
    """Every value each model option of the schema takes (its Literal's values, or both booleans)."""
    out = {}
    for name, field in ModelSpec.model_fields.items():
        if field.annotation is bool:
            out[name] = (True, False)
        elif get_args(field.annotation):
            out[name] = get_args(field.annotation)
    return out


CHOICES = _choices()
BASE = read_spec_dict(DEFAULT_SPEC)


def _allowed(model: dict, time_: str):
    """The spec of these options, or None where validation refuses the combination (with a reason naming the model
    section)."""
    try:
        return spec_from_dict(merge(BASE, {"model": model, "data": {"time": time_}}))
    except SpecError as err:
        assert "key 'model'" in str(err), err
        return None


def _build(model: dict, time_: str):
    """The spec of these options built on 40 synthetic rows, or None where validation refuses the combination."""
    spec = _allowed(model, time_)
    if spec is None:
        return None
    design, _ = prepare(spec, synthetic_dataset(40, seed=3, filters=spec.data.filters.to_filters()))
    return build_model(spec, design)


def _pairs(combination: tuple) -> set:
    return set(itertools.combinations(enumerate(combination), 2))


def _covering(combinations: list[tuple]) -> list[tuple]:
    """Few of the combinations that between them hold every pair of values any combination holds (greedy: each
    pick holds the most pairs not yet held), so each two options' interaction is built once."""
    left, chosen = set().union(*map(_pairs, combinations)), []
    while left:
        best = max(combinations, key=lambda c: len(_pairs(c) & left))
        chosen.append(best)
        left -= _pairs(best)
    return chosen


def test_families_with_fixed_groups_is_refused_with_the_reason():
    with pytest.raises(SpecError, match="structure = 'families' draws each family around its developer's level"):
        spec_from_dict(merge(BASE, {"model": {"developers": "fixed_groups", "mundlak": False}}))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.fixed_dictionaries({name: st.sampled_from(values) for name, values in CHOICES.items()}),
       time_=st.sampled_from(TIMES))
def test_every_combination_the_schema_allows_builds(model, time_):
    _build(model, time_)  # builds, or is refused at validation with a reason


@pytest.mark.slow  # ~10 s, most of it validating the whole product
def test_every_combination_is_allowed_or_refused_and_every_pair_of_options_builds():
    """Validation over the whole product (cheap); the models built for a set of allowed combinations that holds
    every pair of option values some allowed combination holds (building the 1,728 of 2026-12-07 took six minutes)."""
    # developer_time is held at none: each of its values is built (cohort and quarter periods) by
    # tests/test_developer_time.py, and with it the product is three times as long
    choices = {**CHOICES, "developer_time": ("none",)}
    allowed = [(*values, time_) for values in itertools.product(*choices.values()) for time_ in TIMES
               if _allowed(dict(zip(choices, values)), time_) is not None]
    # 2026-12-07: 704 model combinations (576 before failures = "everywhere", 288 before protocol_offset) x 3 times
    assert len(allowed) == 2112
    covering = _covering(allowed)
    assert len(covering) < 60  # 16 on 2026-12-07
    for *values, time_ in covering:
        assert _build(dict(zip(choices, values)), time_) is not None


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.fixed_dictionaries({name: st.sampled_from(values) for name, values in CHOICES.items()}))
def test_an_allowed_combination_has_a_finite_density_where_sampling_starts(model):
    built = _build(model, "cohort")
    if built is not None:
        point = built.initial_point()
        assert np.isfinite(built.compile_logp(mode="FAST_COMPILE")(point))
        assert np.all(np.isfinite(built.compile_dlogp(mode="FAST_COMPILE")(point)))


# --- prior numbers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("prior", "key", "message"), [
    ('damaged_share = { dist = "Beta", alpha = 1e-300, beta = 9.0 }', "priors.damaged_share",
     r"Beta's alpha = 1e-300 is outside \[0.01, 10000\]"),
    ('sigma_family = { dist = "HalfNormal", sigma = 1e300 }', "priors.sigma_family", r"sigma = 1e\+300 is outside"),
    ('beta = { dist = "Normal", mu = 1e5, sigma = 0.5 }', "priors.beta", r"mu = 100000 is outside \[-1000, 1000\]"),
    ('damaged_shift = { dist = "Gamma", alpha = 4.0, beta = 1e-9 }', "priors.damaged_shift", "beta = 1e-09 is outside"),
])
def test_prior_numbers_the_sampler_cannot_work_with_are_refused_naming_the_key(tmp_path, capsys, prior, key, message):
    name = prior.split(" = ", 1)[0]
    lines = [prior if line.startswith(f"{name} = ") else line for line in DEFAULT_SPEC.read_text().splitlines()]
    spec = tmp_path / "spec.toml"
    spec.write_text("\n".join(lines) + "\n")
    assert main(["fit", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"key '{key}'" in err and re.search(message, err), err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_model_samples_with_a_prior_at_the_edge_of_the_allowed_range(tmp_path):
    """Beta(0.01, 9) for the damaged share (Beta(1e-30, 9) made nutpie panic): sampling starts and ends."""
    priors = {"damaged_share": {"dist": "Beta", "alpha": 0.01, "beta": 9.0},
              "sigma_finetuner": {"dist": "HalfNormal", "sigma": 1e-4}}
    spec = spec_from_dict(merge(BASE, {"priors": priors})).with_sampling(draws=20, tune=20, chains=2)
    fit = fitting.fit_spec(spec, synthetic_dataset(40, seed=3, filters=spec.data.filters.to_filters()),
                           progress=False, extras=False, fallback=False)  # the fallback would double the draws
    assert fit.posterior.sizes["draw"] == 20


# --- compute that overflows ---------------------------------------------------------------------------------------

def test_compute_beyond_floating_point_range_is_refused_with_its_line(tmp_path, capsys):
    rows = synthetic_models(12, seed=1)
    rows.loc[4, "params_b"] = "1e300"
    with pytest.raises(DataValidationError, match=r"the training compute 6 N D of line\(s\) 6 is beyond"):
        validate(rows.set_axis(pd.Index(range(2, 14), name=LINE)), "x.csv")
    path = tmp_path / "models.csv"
    rows.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["data", "--data", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "line(s) 6 is beyond floating-point range (params_b [1e+300]" in err, err
    assert not out.exists()


# --- the error boundary -----------------------------------------------------------------------------------------

class PanicException(BaseException):
    """As pyo3 names a Rust panic raised into Python."""


@pytest.mark.parametrize(("error", "line"), [
    (PanicException("called `Result::unwrap()` on an `Err` value: Invalid initial point\nStack backtrace:"),
     "bayes-sauce data: the sampler stopped with an internal error (called `Result::unwrap()` on an `Err` value: "
     "Invalid initial point); the model's log density could not be evaluated where sampling starts: check the "
     "spec's priors and the data"),
    (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "results/x/posterior.nc"),
     "bayes-sauce data: results/x/posterior.nc: No space left on device (the disk is full: free some space, or "
     "write elsewhere)"),
    (PermissionError(errno.EACCES, os.strerror(errno.EACCES), "results"),
     "bayes-sauce data: results: Permission denied (check its permissions, or use another path)"),
])
def test_a_panic_or_an_os_error_is_one_line_and_exit_2(monkeypatch, capsys, error, line):
    def fail(args):
        raise error

    monkeypatch.setattr(analysis, "cmd_data", fail)
    assert main(["data"]) == 2
    assert capsys.readouterr().err.strip() == line


WARNS = """
import sys, warnings
from bayes_sauce.cli import analysis, main

def warn(args):  # as matplotlib and ArviZ do
    warnings.warn("Glyph 8722 (MINUS SIGN) missing from font(s) DejaVu Sans.", UserWarning)
    return 0

analysis.cmd_data = warn
sys.exit(main.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_library_warnings_stay_off_the_terminal_unless_verbose(verbose):
    done = subprocess.run([sys.executable, "-c", WARNS, *verbose, "data"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONWARNINGS": ""})
    assert done.returncode == 0 and ("Glyph 8722" in done.stderr) == bool(verbose), done.stderr


# --- Ctrl-C during sampling ---------------------------------------------------------------------------------------

@pytest.mark.nuts  # run_nuts itself, nutpie's answer stubbed: nothing is sampled
def test_a_short_trace_from_nutpie_is_an_interruption_not_a_fit(monkeypatch):
    """nutpie answers Ctrl-C by returning the draws it has (none while tuning): run_nuts must not go on with them."""
    import nutpie

    with pm.Model() as model:
        pm.Normal("x")
    empty = xr.DataTree.from_dict({"posterior": xr.Dataset({"x": (("chain", "draw"), np.zeros((2, 0)))})})
    monkeypatch.setattr(nutpie, "sample", lambda *args, **kwargs: empty)
    with pytest.raises(KeyboardInterrupt):
        sampling.run_nuts(model, SamplingSpec(draws=10, tune=10, chains=2), [], compiled=object())


@pytest.mark.nuts  # run_nuts itself, nutpie's answer stubbed: nothing is sampled
def test_ctrl_c_that_nutpie_swallows_after_its_last_draw_is_still_an_interruption(monkeypatch):
    """A SIGINT landing while nutpie converts a complete trace is caught by nutpie, which returns the whole trace."""
    import nutpie

    with pm.Model() as model:
        pm.Normal("x")
    full = xr.DataTree.from_dict({"posterior": xr.Dataset({"x": (("chain", "draw"), np.zeros((2, 10)))})})

    def swallowing(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here
        except KeyboardInterrupt:
            pass
        return full

    monkeypatch.setattr(nutpie, "sample", swallowing)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # pytest-xdist's workers ignore SIGINT
    try:
        with pytest.raises(KeyboardInterrupt):
            sampling.run_nuts(model, SamplingSpec(draws=10, tune=10, chains=2), [], compiled=object())
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.nuts  # run_nuts itself, the pilot and nutpie stubbed: nothing is sampled
def test_ctrl_c_that_a_finalizer_swallows_during_the_pilot_stops_before_sampling(monkeypatch):
    """A SIGINT landing in a finalizer (numba's type disposal, while the pilot's curvature is computed) is printed as
    "Exception ignored" and lost; the slow Ctrl-C test then sampled its million draws on. run_nuts notes it and stops
    before the main sampling."""
    import nutpie

    with pm.Model() as model:
        pm.Normal("x")

    def swallowing_pilot(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here
        except KeyboardInterrupt:
            pass  # as a finalizer does
        return {}

    def sampled(*args, **kwargs):
        raise AssertionError("sampled after an interruption")

    monkeypatch.setattr(sampling, "pilot_weights", swallowing_pilot)
    monkeypatch.setattr(sampling.centring, "groups", lambda model: ["family_level"])  # so that a pilot runs
    monkeypatch.setattr(nutpie, "sample", sampled)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # pytest-xdist's workers ignore SIGINT
    try:
        with pytest.raises(KeyboardInterrupt):
            sampling.run_nuts(model, SamplingSpec(draws=10, tune=10, chains=2), [], compiled=object())
    finally:
        signal.signal(signal.SIGINT, previous)


INTERRUPTED = "bayes-sauce: interrupted; completed fits are kept, a partly written one is not"


@pytest.mark.slow
@pytest.mark.parametrize(("draws", "tune"), [
    (100, 1_000_000),
    (1_000_000, 50),
], ids=["tuning", "drawing"])
def test_ctrl_c_during_sampling_exits_130_and_writes_nothing(tmp_path, draws, tune):
    data = tmp_path / "data.csv"
    synthetic_models(40, seed=3).to_csv(data, index=False)
    out = tmp_path / "results" / "fit"
    process = subprocess.Popen(
        [sys.executable, "-m", "bayes_sauce.cli.main", "fit", "--data", str(data), "--out", str(out), "--draws",
         str(draws), "--tune", str(tune), "--chains", "2"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def sampling_started() -> bool:  # nutpie's chains run in threads it names
        names = []
        for comm in glob.glob(f"/proc/{process.pid}/task/*/comm"):
            try:
                names.append(open(comm).read())
            except OSError:
                continue
        return any(name.startswith("nutpie-worker") for name in names)

    deadline = time.time() + 600
    while not sampling_started():
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.1)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert err.strip().endswith(INTERRUPTED) and "internal error" not in err, err
    assert not out.exists() and [p.name for p in (tmp_path / "results").iterdir()] == []


# --- progress and expectations ------------------------------------------------------------------------------------

def test_long_work_prints_a_line_every_few_seconds_in_a_pipe(capsys):
    with options.heartbeat("fitting", every=0.05):
        time.sleep(0.3)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 2 and lines[0] == "  ... fitting: 0 min 00 s so far", lines
    with options.heartbeat("fitting", quiet=True, every=0.05):
        time.sleep(0.2)
    assert capsys.readouterr().err == ""


def test_data_beyond_the_largest_measured_fit_says_what_to_expect_before_sampling(monkeypatch, capsys):
    assert fitting.size_note(809, SamplingSpec()) is None
    note = fitting.size_note(50_000, SamplingSpec(draws=1500, tune=1000, chains=4))
    assert note.startswith("50,000 models is more than the largest fit measured (8,090 models: 12 min and 9 GiB")
    assert "expect roughly 2.0 h and 55 GiB of memory" in note

    def not_sampled(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fitting, "MEASURED_MODELS", 30)
    monkeypatch.setattr(fitting, "sample_gated", not_sampled)
    monkeypatch.setattr(fitting, "compile_nutpie", not_sampled)  # the note comes before the compile too
    spec = spec_from_dict(BASE)
    with pytest.raises(KeyboardInterrupt):
        fitting.fit_spec(spec, synthetic_dataset(40, seed=3, filters=spec.data.filters.to_filters()))
    assert "models is more than the largest fit measured (30 models" in capsys.readouterr().out  # fit_spec's echo


def test_the_shipped_specs_and_sweeps_pass_the_new_ranges():
    from bayes_sauce.spec.schema import load_spec
    from bayes_sauce.spec.sweep import read_sweep

    for path in sorted((PROJECT_ROOT / "models").glob("*.toml")):
        load_spec(path)
    for path in sorted((PROJECT_ROOT / "models" / "sensitivity").glob("*.toml")):
        read_sweep(path, {}, None)
