"""Bad input, case by case (issue 19): each gives exit 2 (3 for a fit that fails the gate, 130 for Ctrl-C), one
message naming the file and the row (by its line in the file) or the key, and no file written outside the output
folder. Then generated malformed files: property-based fuzzing of the CSV reader and the spec parser.

The data and spec cases fail before anything is fitted. The fit-folder cases share one tiny fit (synthetic rows,
one chain of 30 draws, so it fails the gate: R-hat needs two chains); the report of it is marked slow.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_sauce.cli.main import main
from bayes_sauce.data.read import DataValidationError, read_input, validate
from bayes_sauce.data.schema import CURATED_COLUMNS, CURATED_PATH
from bayes_sauce.fit.fit import Fit
from bayes_sauce.paths import DEFAULT_SPEC, RESULTS_DIR
from bayes_sauce.spec.schema import SpecError, read_spec_dict, read_toml, spec_from_dict

from .stand_in import prior_sampling
from .synthetic import synthetic_models

N_ROWS = 12
BAD = 5  # the row every data case spoils: line 7 of the file (the header is line 1)
LINE = BAD + 2


def _curated_text() -> list[str]:
    """The header and the first N_ROWS rows of the shipped file, as lines of text."""
    return CURATED_PATH.read_text().splitlines()[:N_ROWS + 1]


def _cell(column: str, value: str) -> Callable[[list[str]], str]:
    """A data case: one cell of the spoiled row set to ``value`` (written with the csv module's quoting)."""

    def make(lines: list[str]) -> str:
        rows = list(csv.reader(lines))
        rows[BAD + 1][rows[0].index(column)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue()

    return make


def _lines(edit: Callable[[list[str]], list[str]]) -> Callable[[list[str]], str]:
    return lambda lines: "\n".join(edit(list(lines))) + "\n"


def _blank_lines(text: str, after: int) -> str:
    """Two blank lines after the first ``after`` lines of the text."""
    lines = text.splitlines()
    return "\n".join(lines[:after] + ["", ""] + lines[after:]) + "\n"


def _two_cells(**values: str) -> Callable[[list[str]], str]:
    def make(lines: list[str]) -> str:
        text = lines
        for column, value in values.items():
            text = _cell(column, value)(text).splitlines()
        return "\n".join(text) + "\n"

    return make


# (case, file content from the clean lines, what the message must say). Row numbers are file lines.
DATA_CASES = [
    ("bare year", _cell("release_month", "2024"), rf"'release_month'.* line\(s\) {LINE} .*'2024'"),
    ("month 13", _cell("release_month", "2024-13"), rf"'release_month'.* line\(s\) {LINE}"),
    ("month in words", _cell("release_month", "May 2024"), rf"'release_month'.* line\(s\) {LINE}"),
    ("no such day", _cell("release_month", "2024-02-30"), rf"'release_month'.* line\(s\) {LINE}"),
    ("serial day in exponent form", _cell("release_month", "4.5e4"), rf"'release_month'.* line\(s\) {LINE}"),
    ("fractional serial day", _cell("release_month", "45000.5"), rf"'release_month'.* line\(s\) {LINE}"),
    ("date with a time", _cell("release_month", "2024-05-01T00:00"), rf"'release_month'.* line\(s\) {LINE}"),
    ("empty date", _cell("release_month", ""), rf"'release_month'.* line\(s\) {LINE}"),
    ("params inf", _cell("params_b", "inf"), rf"'params_b' must be finite; line\(s\) {LINE}"),
    ("params 1e400", _cell("params_b", "1e400"), rf"'params_b' must be finite; line\(s\) {LINE}"),
    ("params nan", _cell("params_b", "nan"), rf"'params_b' is not numeric in line\(s\) {LINE}"),
    ("params negative", _cell("params_b", "-1"), rf"'params_b' must be positive; line\(s\) {LINE}"),
    ("params zero", _cell("params_b", "0"), rf"'params_b' must be positive; line\(s\) {LINE}"),
    ("params with a thousands comma", _cell("params_b", "1,000"), rf"'params_b' is not numeric in line\(s\) {LINE}"),
    ("tokens inf", _cell("tokens_total_b", "inf"), rf"'tokens_total_b' must be finite; line\(s\) {LINE}"),
    ("no tokens", _two_cells(tokens_total_b="", tokens_base_b=""), rf"line\(s\) {LINE} have neither"),
    ("score as a percentage", _cell("mmlu_pro", "45%"), rf"'mmlu_pro' is not numeric in line\(s\) {LINE}"),
    ("score above one", _cell("mmlu_pro", "1.5"), rf"'mmlu_pro' must lie in \[0, 1\]; line\(s\) {LINE}"),
    ("math inf", _cell("math_l5", "inf"), rf"'math_l5' must be finite; line\(s\) {LINE}"),
    ("empty model id", _cell("model_id", " "), rf"'model_id' is empty in line\(s\) {LINE}"),
    ("unknown developer label", _cell("developer_label", "Mistal"), rf"'Mistal'.*line\(s\) {LINE}"),
    ("duplicate model id", lambda lines: _cell("model_id", next(csv.reader([lines[BAD + 2]]))[0])(lines),
     rf"duplicate model id.* line\(s\) {LINE}, {LINE + 1}"),
    ("blank lines before the bad row", lambda lines: _blank_lines(_cell("params_b", "abc")(lines), after=3),
     rf"'params_b' is not numeric in line\(s\) {LINE + 2}"),
    ("a row with an extra field", _lines(lambda ls: ls[:BAD + 1] + [ls[BAD + 1] + ",x"] + ls[BAD + 2:]),
     rf"line {LINE} has {len(CURATED_COLUMNS) + 1} fields, the header \(line 1\) has {len(CURATED_COLUMNS)}"),
    ("a short row", _lines(lambda ls: ls[:BAD + 1] + [ls[BAD + 1].rsplit(",", 3)[0]] + ls[BAD + 2:]),
     rf"line {LINE} has {len(CURATED_COLUMNS) - 3} fields"),
    ("a quote that does not close", _lines(lambda ls: ls[:BAD + 1] + ['"' + ls[BAD + 1]] + ls[BAD + 2:]),
     rf"line {LINE}: broken quoting"),
    ("duplicate column", _lines(lambda ls: [ls[0] + ",params_b"] + [x + ",1" for x in ls[1:]]),
     r"column\(s\) \['params_b'\] appear more than once in the header \(line 1\)"),
    ("missing column", _lines(lambda ls: [",".join(r[:11] + r[12:]) for r in csv.reader(ls)]),
     r"missing required column\(s\) \['params_b'\]"),
    ("semicolons", _lines(lambda ls: [";".join(r) for r in csv.reader(ls)]), r"separated by ';'"),
    ("tabs", _lines(lambda ls: ["\t".join(r) for r in csv.reader(ls)]), r"separated by tabs"),
    ("empty file", lambda lines: "", r"the file is empty"),
    ("header only", lambda lines: lines[0] + "\n\n", r"the file has a header but no rows"),
    ("latin-1 byte", lambda lines: "\n".join(lines).replace("01-ai", "caf\udce9", 1),
     r"line 2 is not UTF-8 text \(byte 0xe9\)"),
    ("gzip", lambda lines: "\x1f\udc8b\x08", r"gzip-compressed"),
    ("binary", lambda lines: "".join(chr(0xDC80 + i) for i in range(40)), r"line 1 is not UTF-8 text"),
]


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


def _files(*roots: Path) -> set[Path]:
    return {p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def run_cli(tmp_path, monkeypatch, capsys):
    """Run the CLI from an empty working folder; return (exit code, stderr, files written outside ``out``)."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)

    def run(args: list[str], out: Path) -> tuple[int, str, set[Path]]:
        before = _files(tmp_path, RESULTS_DIR)
        code = main(args)
        err = capsys.readouterr().err
        after = _files(tmp_path, RESULTS_DIR)
        return code, err, {p for p in after - before if out not in p.parents}

    return run


@pytest.mark.parametrize(("make", "message"), [c[1:] for c in DATA_CASES], ids=[c[0] for c in DATA_CASES])
def test_bad_data_file_is_refused_naming_the_line(tmp_path, run_cli, make, message):
    path = _write(tmp_path / "models.csv", make(_curated_text()))
    out = tmp_path / "out"
    code, err, stray = run_cli(["data", "--data", str(path), "--out", str(out)], out)
    assert code == 2 and not stray and not out.exists()
    assert err.startswith(f"bayes-sauce data: {path}: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


@pytest.mark.parametrize(("args", "message"), [
    (["calibrate", "--datasets", "0"], "argument --datasets: needs an integer of at least 1, got '0'"),
    (["calibrate", "--workers", "-1"], "argument --workers: needs an integer of at least 1, got '-1'"),
    (["run", "--folds", "1"], "argument --folds: needs an integer of at least 2, got '1'"),
])
def test_a_count_below_its_minimum_is_a_usage_error(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        main([*args, "--out", str(out)])
    assert stop.value.code == 2 and message in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["data", "--data", "{tmp}"], "is a folder, not a CSV file"),
    (["data", "--data", "{tmp}/nothing.csv"], "nothing.csv: file not found"),
    (["data", "--window", "2030-01", "2030-12"], r"no rows left after the filters \(window 2030-01..2030-12\): \d+ "
                                                 "released outside the window"),
    (["replicate", "--window", "2025-03", "2022-10"], "--window 2025-03 2022-10: the window starts after it ends"),
    (["replicate", "--data", "{three}", "--bootstrap", "0"], r"\d model\(s\) are too few for the paper's regression"),
    (["replicate", "--data", "{one_group}", "--bootstrap", "0"], "every model is in one developer_group"),
])
def test_bad_data_for_a_command_is_a_data_error(tmp_path, run_cli, args, message):
    rows = pd.read_csv(CURATED_PATH, dtype=str, keep_default_na=False)
    rows.drop_duplicates("developer_group").head(3).to_csv(tmp_path / "three.csv", index=False)
    rows[rows["developer_group"] == "Qwen"].to_csv(tmp_path / "one_group.csv", index=False)
    names = {"tmp": tmp_path, "three": tmp_path / "three.csv", "one_group": tmp_path / "one_group.csv"}
    out = tmp_path / "out"
    code, err, stray = run_cli([a.format(**names) for a in args] + ["--out", str(out)], out)
    assert code == 2 and not stray and not out.exists()
    assert re.search(message, err) and "ols.toml" not in err, err


SPEC_EDITS = [  # (case, text replaced in models/hierarchical.toml, by what, the key named, the message)
    ("NaN prior", 'sigma_family = { dist = "HalfNormal", sigma = 1.0 }', 'sigma_family = { dist = "HalfNormal", '
     "sigma = nan }", "priors.sigma_family.sigma", "finite number"),
    ("infinite prior", "beta = { dist = \"Normal\", mu = 0.5, sigma = 0.5 }",
     'beta = { dist = "Normal", mu = -inf, sigma = 0.5 }', "priors.beta.mu", "finite number"),
    ("prior given as text", "beta = { dist = \"Normal\", mu = 0.5, sigma = 0.5 }",
     'beta = { dist = "Normal", mu = 0.5, sigma = "0.5" }', "priors.beta.sigma", "valid number"),
    ("NaN model constant", "failure_logit_mean = -4.5", "failure_logit_mean = nan", "model.failure_logit_mean",
     "finite number"),
    ("draws as text", "draws = 1500", 'draws = "100"', "sampling.draws", "valid integer"),
    ("draws as a float", "draws = 1500", "draws = 100.0", "sampling.draws", "valid integer"),
    ("yes for a flag", 'window = ["2022-10", "2025-03"]', 'window = ["2022-10", "2025-03"]\nmajors_only = "yes"',
     "data.filters.majors_only", "valid boolean"),
    ("1 for a flag", "mundlak = true", "mundlak = 1", "model.mundlak", "valid boolean"),
    ("name climbing out of results/", 'name = "hierarchical"', 'name = "../../x"', "name", "should match pattern"),
    ("name with a slash", 'name = "hierarchical"', 'name = "a/b"', "name", "should match pattern"),
    ("reversed window", 'window = ["2022-10", "2025-03"]', 'window = ["2025-03", "2022-10"]', "data.filters.window",
     "starts after it ends"),
    ("unknown key", "mundlak = true", "mundlak = true\nmundlack = true", "model.mundlack", "unknown key"),
]


@pytest.mark.parametrize(("old", "new", "key", "message"), [c[1:] for c in SPEC_EDITS], ids=[c[0] for c in SPEC_EDITS])
def test_bad_spec_is_refused_before_fitting_naming_the_key(tmp_path, run_cli, old, new, key, message):
    text = DEFAULT_SPEC.read_text()
    assert old in text
    spec = _write(tmp_path / "spec.toml", text.replace(old, new, 1))
    out = tmp_path / "out"
    code, err, stray = run_cli(["fit", str(spec), "--out", str(out), "--draws", "5"], out)
    assert code == 2 and not stray and not out.exists()
    assert f"{spec}: key '{key}': " in err and message in err, err


@pytest.mark.parametrize(("content", "message"), [
    ("\x00\udcff", r"not a text file \(byte 0xff is not UTF-8\)"),
    ("name = [", "not valid TOML"),
    ("", r"key 'name': Field required"),
])
def test_unreadable_spec_file_is_a_spec_error(tmp_path, run_cli, content, message):
    spec = _write(tmp_path / "spec.toml", content)
    out = tmp_path / "out"
    code, err, stray = run_cli(["fit", str(spec), "--out", str(out)], out)
    assert code == 2 and not stray and re.search(message, err), err


def test_sweep_variant_with_nan_scale_or_no_rows_is_refused_before_fitting(tmp_path, run_cli):
    base = f'base = "{DEFAULT_SPEC}"\n'
    nan = _write(tmp_path / "nan.toml", base + "[variants.x]\nscale_priors = { beta = nan }\n")
    empty = _write(tmp_path / "empty.toml", base + '[variants.late]\ndata = { filters = { window = ["2030-01", '
                                                  '"2030-12"] } }\n')
    out = tmp_path / "out"
    code, err, stray = run_cli(["sensitivity", str(nan), "--out", str(out)], out)
    assert code == 2 and not stray and "variant 'x': key 'scale_priors.beta': the factor must be a positive" in err
    code, err, stray = run_cli(["sensitivity", str(empty), "--out", str(out)], out)
    assert code == 2 and not stray and not out.exists()
    assert "variant 'late': key 'data.filters': " in err and "no rows left after the filters" in err, err


def test_ctrl_c_ends_with_one_line_and_exit_130(monkeypatch, capsys):
    from bayes_sauce.cli import analysis

    def interrupted(args):
        signal.raise_signal(signal.SIGINT)  # as Ctrl-C on a terminal: Python raises KeyboardInterrupt

    monkeypatch.setattr(analysis, "cmd_data", interrupted)
    # A shell that starts a job in the background ignores SIGINT in it; a terminal's Ctrl-C gets the default.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert main(["data"]) == 130
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert capsys.readouterr().err.strip() == "bayes-sauce: interrupted; completed fits are kept, a partly written one is not"


def test_ctrl_c_inside_compiled_code_is_an_interruption_not_an_internal_error(monkeypatch, capsys):
    """numba answers a KeyboardInterrupt raised during its call with a SystemError caused by it (seen in the slow
    Ctrl-C test when the signal landed while the pilot's curvature was computed)."""
    from bayes_sauce.cli import analysis

    def interrupted_in_numba(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as err:
            raise SystemError("CPUDispatcher(<function numba_funcified_fgraph>) returned a result with an exception "
                              "set") from err

    monkeypatch.setattr(analysis, "cmd_data", interrupted_in_numba)
    assert main(["data"]) == 130
    assert capsys.readouterr().err.strip() == "bayes-sauce: interrupted; completed fits are kept, a partly written one is not"


# --- fit folders: one tiny fit that fails the gate (one chain) --------------------------------------------------

@pytest.fixture(scope="module")
def failed_fit(tmp_path_factory):
    """`bayes-sauce fit` of the default spec on 40 synthetic rows, one chain of 30 draws, its draws the prior's
    (tests/stand_in.py; the real gate judges them): (data file, fit folder)."""
    root = tmp_path_factory.mktemp("fit")
    data = root / "data.csv"
    synthetic_models(40, seed=3).to_csv(data, index=False)
    folder = root / "fit"
    with prior_sampling():
        status = main(["fit", "--data", str(data), "--out", str(folder), "--draws", "30", "--tune", "30", "--chains",
                       "1", "--no-progress"])
    assert status == 3
    return data, folder


def test_one_chain_fit_says_r_hat_needs_two_chains(failed_fit):
    diagnostics = json.loads((failed_fit[1] / "diagnostics.json").read_text())
    assert diagnostics["max_rhat"] is None and not diagnostics["passed"]
    assert "R-hat needs at least two chains (got 1)" in diagnostics["failures"][0]


PREDICT = ["--developer", "Meta", "--date", "2024-06", "--params", "8", "--tokens", "15000"]


@pytest.mark.parametrize("command", [["predict", "{fit}", *PREDICT, "--out", "{out}/p.csv"], ["psense", "{fit}"],
                                     ["explain", "{model}", "{fit}"]])
def test_commands_that_read_a_failed_fit_state_the_gate_and_refuse_it(failed_fit, tmp_path, run_cli, capsys, command):
    fit = tmp_path / "fit"
    shutil.copytree(failed_fit[1], fit)
    model = pd.read_csv(fit / "models.csv")["model_id"].iloc[0]
    out = tmp_path / "out"
    code, err, stray = run_cli([a.format(fit=fit, out=out, model=model) for a in command], out)
    assert code == 2 and not stray and not out.exists()
    assert sorted(p.name for p in fit.iterdir()) == sorted(p.name for p in failed_fit[1].iterdir())
    assert "diagnostics gate FAILED (R-hat needs at least two chains" in err and "--allow-failed" in err, err


def test_compare_states_the_gate_of_a_reused_fit_and_refuses_it(failed_fit, tmp_path, run_cli, capsys):
    data, folder = failed_fit
    out = tmp_path / "cmp"
    shutil.copytree(folder, out / "fits" / "hierarchical")
    code, err, stray = run_cli(["compare", str(DEFAULT_SPEC), "--data", str(data), "--out", str(out), "--draws", "30",
                                "--tune", "30", "--chains", "1"], out)
    assert code == 2 and not stray and "diagnostics gate FAILED" in err and "--allow-failed" in err, err
    assert not (out / "loo.csv").exists()


def test_a_different_fit_is_not_written_over_an_existing_one(failed_fit, tmp_path, run_cli):
    data, folder = failed_fit
    fit = tmp_path / "fit"
    shutil.copytree(folder, fit)
    stamp = (fit / "posterior.nc").stat().st_mtime_ns
    code, err, stray = run_cli(["fit", "--data", str(data), "--out", str(fit), "--draws", "31", "--tune", "30",
                                "--chains", "1"], fit)
    assert code == 2 and not stray and (fit / "posterior.nc").stat().st_mtime_ns == stamp
    assert "holds a different fit" in err and "--replace" in err and "--out DIR" in err


def test_a_saved_fit_is_reused_only_with_the_same_settings_data_and_code(failed_fit, monkeypatch):
    from bayes_sauce.data.load import load
    from bayes_sauce.fit import fit_store
    from bayes_sauce.fit.fit import fingerprint
    from bayes_sauce.fit.workflow import bayes_spec

    data, folder = failed_fit
    spec = bayes_spec(DEFAULT_SPEC, draws=30, tune=30, chains=1)

    def reusable_fit(spec):
        return fit_store.saved_fit(folder, fingerprint(spec, load(data, spec.data.filters.to_filters()).sha256))

    assert reusable_fit(spec).fingerprint == Fit.load(folder).fingerprint
    assert reusable_fit(spec.with_sampling(draws=31)) is None
    monkeypatch.setattr(fit_store, "code_digest", lambda: "another version")
    assert reusable_fit(spec) is None


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


FOLDER_CASES = [  # (case, how the copy is spoiled, the file named, the message)
    ("truncated posterior", lambda f: _truncate(f / "posterior.nc"), "posterior.nc", "unreadable"),
    ("posterior of something else", lambda f: pd.DataFrame({"a": [1]}).to_xarray().to_netcdf(
        f / "posterior.nc", engine="h5netcdf"), "posterior.nc", "not a posterior written by bayes-sauce"),
    ("diagnostics not JSON", lambda f: (f / "diagnostics.json").write_text('{"passed": tr'), "diagnostics.json",
     "unreadable"),
    ("diagnostics without the gate", lambda f: (f / "diagnostics.json").write_text('{"failures": []}'),
     "diagnostics.json", "does not say whether the diagnostics gate passed"),
    ("models.csv missing", lambda f: (f / "models.csv").unlink(), "", r"missing \['models.csv'\]"),
    ("models.csv cut short", lambda f: (f / "models.csv").write_text("\n".join(
        (f / "models.csv").read_text().splitlines()[:4])), "models.csv", "rows do not match the posterior's models"),
    ("models.csv not text", lambda f: (f / "models.csv").write_bytes(b"\x00\xff"), "models.csv", "unreadable"),
    ("excluded.csv not text", lambda f: (f / "excluded.csv").write_bytes(b"\x00\xff"), "excluded.csv", "unreadable"),
    ("no folder", lambda f: shutil.rmtree(f), "", "no fit folder there"),
]


@pytest.mark.parametrize("command", ["report", "predict"])
@pytest.mark.parametrize(("spoil", "file", "message"), [c[1:] for c in FOLDER_CASES], ids=[c[0] for c in FOLDER_CASES])
def test_damaged_fit_folder_is_named_not_a_traceback(failed_fit, tmp_path, run_cli, command, spoil, file, message):
    fit = tmp_path / "fit"
    shutil.copytree(failed_fit[1], fit)
    spoil(fit)
    extra = [*PREDICT, "--out", str(tmp_path / "out" / "p.csv")] if command == "predict" else []
    code, err, stray = run_cli([command, str(fit), "--allow-failed", *extra], tmp_path / "out")
    assert code == 2 and not stray, err
    assert f"{fit / file}" in err and re.search(message, err), err


def test_predict_csv_names_the_bad_line(failed_fit, tmp_path, run_cli):
    rows = tmp_path / "new.csv"
    rows.write_text("model,params_b,tokens_b,developer,release_month\na,8,15000,Meta,2024-06\n\nb,-1,15000,Meta,2024-06\n")
    out = tmp_path / "out"
    code, err, stray = run_cli(["predict", str(failed_fit[1]), "--allow-failed", "--csv", str(rows), "--out",
                                str(out / "p.csv")], out)
    assert code == 2 and not stray and "line(s) 4: params_b must be a positive number" in err, err


@pytest.mark.slow
def test_report_of_a_one_chain_fit_is_tagged_and_goes_with_a_refit(failed_fit, tmp_path, capsys):
    data, folder = failed_fit
    fit = tmp_path / "fit"
    shutil.copytree(folder, fit)
    with prior_sampling():  # the refit samples its prior (the report samples nothing)
        assert main(["report", str(fit)]) == 3  # written, flagged, exit 3 without --allow-failed
        assert "max R-hat n/a (one chain)" in (fit / "report.md").read_text()
        tag = json.loads((fit / "report.json").read_text())
        assert tag == {"fingerprint": Fit.load(fit).fingerprint, "gate_passed": False, "files": tag["files"]}
        # checks.json is the check step's (`bayes-sauce check`), which this folder never ran
        assert {"report.md", "report.html"} <= set(tag["files"]) and "checks.json" not in tag["files"]
        assert main(["fit", "--data", str(data), "--out", str(fit), "--draws", "31", "--tune", "30", "--chains", "1",
                     "--replace", "--no-progress"]) == 3
    assert sorted(p.name for p in fit.iterdir()) == ["diagnostics.json", "excluded.csv", "models.csv", "posterior.nc"]


# --- fuzzing -----------------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.lists(st.sampled_from(list('abc019.,;"\'\n\r\t -eE+') + ["inf", "nan", "é", "\x00", "2024-05", "45413"]),
                max_size=12).map("".join)
_SYNTHETIC = synthetic_models(8, seed=1)


def _read(path: Path) -> pd.DataFrame:
    return validate(read_input(path), str(path))


@FUZZ
@given(st.binary(max_size=300) | TEXT.map(lambda t: ("model_id,params_b\n" + t).encode("utf-8", "surrogatepass")))
def test_fuzz_any_bytes_are_read_or_refused_with_a_data_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.csv"
        path.write_bytes(content)
        with pytest.raises(DataValidationError, match=re.escape(str(path))):
            _read(path)  # no file of a few hundred bytes has every required column


@FUZZ
@given(row=st.integers(0, len(_SYNTHETIC) - 1), column=st.sampled_from(list(_SYNTHETIC.columns)), value=TEXT,
       blank_lines=st.integers(0, 2))
def test_fuzz_one_spoiled_cell_is_accepted_or_named_by_its_line(row, column, value, blank_lines):
    frame = _SYNTHETIC.copy()
    frame.loc[row, column] = value
    text = io.StringIO()
    # Every field quoted, as a CSV writer must quote a value holding a line break (pandas leaves a bare \r unquoted,
    # which any reader, ours included, takes for the end of a line).
    frame.to_csv(text, index=False, lineterminator="\n", quoting=csv.QUOTE_ALL)
    lines = text.getvalue().split("\n")
    lines[1:1] = [""] * blank_lines  # blank lines after the header move every row's line down
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.csv"
        path.write_text("\n".join(lines))
        try:
            out = _read(path)
        except DataValidationError as err:
            line = row + 2 + blank_lines
            assert re.search(rf"line(\(s\))? ([\d, ]+, )?{line}\b", str(err)), (str(err), line)
            return
    assert len(out) == len(frame)  # nothing dropped


def _leaves(tree: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in tree.items():
        out += _leaves(value, (*prefix, key)) if isinstance(value, dict) else [(*prefix, key)]
    return out


_BASE = read_spec_dict(DEFAULT_SPEC)
VALUES = (st.integers(-3, 3000) | st.floats(allow_nan=True, allow_infinity=True) | st.booleans()
          | st.text(max_size=12) | st.sampled_from(["100", "0.5", "yes", "nan", "../x", "Normal", "2024-01"])
          | st.lists(st.sampled_from(["2022-10", "2025-03", 1]), max_size=3) | st.just({"dist": "Normal"}))


def _get(tree: dict, path: tuple):
    for key in path:
        tree = tree[key]
    return tree


@FUZZ
@given(path=st.sampled_from(_leaves(_BASE)), value=VALUES)
def test_fuzz_spec_leaf_is_kept_as_given_or_refused_naming_its_key(path, value):
    raw = json.loads(json.dumps(_BASE))
    parent = _get(raw, path[:-1])
    parent[path[-1]] = value
    try:
        spec = spec_from_dict(raw, "fuzz.toml")
    except SpecError as err:
        named = re.findall(r"key '([^']+)'", str(err))
        assert named and all(n == "<root>" or n.split(".")[0] == path[0] for n in named), (str(err), path)
        return
    kept = _get(spec.to_dict(), path)
    if isinstance(value, float):
        assert kept == value and value == value and abs(value) != float("inf")  # finite, unchanged
    elif isinstance(value, list):
        assert list(kept) == value
    else:
        assert kept == value and type(kept) is type(value) or (type(value) is int and type(kept) is float)


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_spec_file_bytes_are_parsed_or_a_spec_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.toml"
        path.write_bytes(content)
        try:
            raw = read_toml(path)
        except SpecError as err:
            assert str(path) in str(err)
            return
        with pytest.raises(SpecError):  # a few random bytes never make a whole spec
            spec_from_dict(raw, str(path))
