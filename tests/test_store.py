"""The fit folder as a safe store (issue 33): --replace replaces only a fit, one writer at a time, diagnostics bound to
their posterior, staging folders of killed runs cleaned, folders following the umask, a full disk one line and the
old folder kept, report files written as a set. No sampling: the fits are fake (tests/fake_fit.py)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bayes_sauce import store
from bayes_sauce.cli.main import main
from bayes_sauce.data.load import load
from bayes_sauce.fit import fit_store
from bayes_sauce.fit.fit import FILES, Fit, FitError, check_target
from bayes_sauce.paths import PROJECT_ROOT
from bayes_sauce.reporting import report as reporting
from bayes_sauce.store import FolderError

from .fake_fit import fake_fit
from .synthetic import synthetic_models

PREDICT = ["--developer", "Meta", "--date", "2024-06", "--params", "8", "--tokens", "15000"]


@pytest.fixture(scope="module")
def fits():
    """Two different fake fits (other fingerprints, other draws)."""
    return fake_fit(0), fake_fit(1)


@pytest.fixture
def data(tmp_path) -> Path:
    path = tmp_path / "data.csv"
    synthetic_models(30, seed=3).to_csv(path, index=False)
    return path


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


# --- replace only a fit -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("replace", [[], ["--replace"]])
def test_a_folder_without_a_fit_is_never_replaced_and_replace_is_not_suggested(tmp_path, data, capsys, replace):
    folder = tmp_path / "thesis"
    (folder / "src").mkdir(parents=True)
    (folder / "thesis.tex").write_text("\\chapter{One}\n")
    (folder / "src" / "a.py").write_text("print(1)\n")
    before = _tree(folder)
    assert main(["fit", "--data", str(data), "--out", str(folder), "--draws", "5", *replace]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds files that are not a bayes-sauce fit (src/, thesis.tex)" in err, err
    assert "--replace" not in err and "choose another --out" in err
    assert _tree(folder) == before and _hidden(tmp_path) == []


def test_a_fit_beside_other_files_is_never_replaced(tmp_path, fits):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    (folder / "notes.txt").write_text("mine\n")
    before = _tree(folder)
    with pytest.raises(FitError, match=r"holds a fit and files bayes-sauce did not write \(notes.txt\)"):
        fits[1].save(folder, replace=True)
    assert _tree(folder) == before


def test_replace_says_what_it_removes_and_leaves_only_the_new_fit(tmp_path, fits, data, monkeypatch, capsys):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    fits[0].save(folder / "checks" / "fold1")
    (folder / "explain").mkdir()
    (folder / "explain" / "m.png").write_bytes(b"png")
    (folder / "predictions.csv").write_text("model,median\n")
    (folder / "headline.csv").write_text("quantity\n")
    (folder / "shapley.png").write_bytes(b"png")
    (folder / "report.json").write_text(json.dumps({"fingerprint": fits[0].fingerprint, "files": ["headline.csv",
                                                                                                  "shapley.png"]}))
    with pytest.raises(FitError, match="holds a different fit.*pass --replace"):
        check_target(folder, fits[1].fingerprint, replace=False)
    monkeypatch.setattr(fit_store, "fingerprint", lambda spec, sha: fits[1].fingerprint)
    monkeypatch.setattr(fit_store, "fit_spec", lambda spec, dataset, **kwargs: fits[1])
    fit_store.get_or_fit(fits[1].spec, load(data), folder, reuse=False, replace=True, echo=print)
    said = capsys.readouterr().out
    for name in ("checks/", "explain/", "predictions.csv", "headline.csv", "shapley.png", "report.json",
                 "posterior.nc"):
        assert name in said, said
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    assert Fit.load(folder).fingerprint == fits[1].fingerprint


def test_a_report_written_before_report_json_listed_its_files_goes_with_its_fit(tmp_path, fits):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    (folder / "report.json").write_text(json.dumps({"fingerprint": fits[0].fingerprint, "gate_passed": True}))
    for name in ("headline.csv", "shapley.png", "report.md"):
        (folder / name).write_text("old report\n")
    assert "shapley.png" in check_target(folder, fits[1].fingerprint, replace=True)
    (folder / "my_table.csv").write_text("mine\n")
    with pytest.raises(FitError, match=r"files bayes-sauce did not write \(my_table.csv\)"):
        check_target(folder, fits[1].fingerprint, replace=True)


# --- diagnostics bound to their posterior ---------------------------------------------------------------------------

def test_a_posterior_from_another_fit_is_refused_by_every_reader(tmp_path, fits, capsys):
    folder, other = tmp_path / "fit", tmp_path / "other"
    fits[0].save(folder)
    fits[1].save(other)
    assert Fit.load(folder).passed  # bound: loads
    shutil.copy(other / "posterior.nc", folder / "posterior.nc")
    with pytest.raises(FitError, match="diagnostics.json: it was not written with this posterior.nc"):
        Fit.load(folder)
    model = fits[0].rows["model_id"].iloc[0]
    out = tmp_path / "out"
    for command in (["report", str(folder)], ["predict", str(folder), *PREDICT, "--out", str(out / "p.csv")],
                    ["explain", model, str(folder), "--out", str(out)], ["psense", str(folder)]):
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert "it was not written with this posterior.nc" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_diagnostics_without_the_digest_are_not_trusted(tmp_path, fits):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    diagnostics = json.loads((folder / "diagnostics.json").read_text())
    del diagnostics["posterior_digest"]
    (folder / "diagnostics.json").write_text(json.dumps(diagnostics))
    with pytest.raises(FitError, match="checked draws not recorded"):
        Fit.load(folder)


def test_a_fit_is_reused_only_on_the_same_library_versions_and_cpu(tmp_path, fits, monkeypatch):
    folder = tmp_path / "fit"
    fits[0].tree.attrs.update(code_digest=fit_store.code_digest(), environment_digest=fit_store.environment_digest())
    fits[0].save(folder)
    assert fit_store.saved_fit(folder, fits[0].fingerprint) is not None
    monkeypatch.setattr(fit_store, "environment_digest", lambda: "another machine")
    assert fit_store.saved_fit(folder, fits[0].fingerprint) is None


# --- one writer at a time; kills --------------------------------------------------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from bayes_sauce.fit import fit as fitting
from tests.fake_fit import fake_fit

folder, ready, go = map(Path, sys.argv[1:4])
write_bytes = fitting.write_bytes

def slow_write(path, data):  # holds the lock inside the write until told to go on
    ready.write_text("writing")
    deadline = time.time() + 120
    while not go.exists() and time.time() < deadline:
        time.sleep(0.05)
    write_bytes(path, data)

fitting.write_bytes = slow_write
fit = fake_fit(int(sys.argv[4]))
fit.save(folder, replace=True)
print(fit.fingerprint)
"""


def _holder(folder: Path, tmp_path: Path, seed: int) -> tuple[subprocess.Popen, Path]:
    """A process saving fake fit ``seed`` into ``folder``, stopped inside its write (lock held) until ``go`` exists."""
    ready, go = tmp_path / "ready", tmp_path / "go"
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), str(ready), str(go), str(seed)],
                               cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while not ready.exists():
        assert process.poll() is None, process.communicate()
        assert time.time() < deadline
        time.sleep(0.05)
    return process, go


def test_two_writers_of_one_folder_the_second_is_refused_in_one_line(tmp_path, fits, data, capsys):
    folder = tmp_path / "fit"
    first, go = _holder(folder, tmp_path, seed=1)
    try:
        with pytest.raises(FolderError, match=rf"{folder}: bayes-sauce \(pid {first.pid}: .*\) is writing it"):
            fits[0].save(folder)
        assert main(["fit", "--data", str(data), "--out", str(folder), "--draws", "5", "--no-progress"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "is writing it; wait until it has finished" in err, err
    finally:
        go.write_text("go")
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert Fit.load(folder).fingerprint == out.strip() == fits[1].fingerprint
    assert _hidden(tmp_path) == []  # the lock file went with its holder
    fits[0].save(folder, replace=True)  # free again


def test_a_killed_writer_leaves_the_old_fit_and_the_next_writer_removes_its_staging(tmp_path, fits, capsys):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    before = _tree(folder)
    killed, _ = _holder(folder, tmp_path, seed=1)
    legacy = tmp_path / ".fit.k2j4abcd"  # a staging folder of the earlier code (tempfile.mkdtemp)
    legacy.mkdir()
    (legacy / "posterior.nc").write_bytes(b"x" * 1000)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert _tree(folder) == before and Fit.load(folder).fingerprint == fits[0].fingerprint
    left = [name for name in _hidden(tmp_path) if name.startswith(".fit.staging-")]
    assert len(left) == 1
    fits[1].save(folder, replace=True)
    err = capsys.readouterr().err
    assert f"Removed {tmp_path / left[0]}/" in err and f"Removed {legacy}/" in err and "interrupted run" in err
    assert _hidden(tmp_path) == [] and Fit.load(folder).fingerprint == fits[1].fingerprint
    mine = tmp_path / ".fit.backup01"  # named like the earlier code's staging, but the user's
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    fits[0].save(folder, replace=True)
    assert (mine / "notes.txt").read_text() == "mine\n"


def test_ctrl_c_while_writing_keeps_the_old_folder(tmp_path, fits, monkeypatch):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    before = _tree(folder)

    def interrupted(path, data):
        Path(path).write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr("bayes_sauce.fit.fit.write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fits[1].save(folder, replace=True)
    assert _tree(folder) == before and _hidden(tmp_path) == []


# --- permissions ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_folders_and_files_follow_the_umask(tmp_path, fits, umask):
    previous = os.umask(umask)
    try:
        fits[0].save(tmp_path / "fit")
    finally:
        os.umask(previous)
    assert (tmp_path / "fit").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (tmp_path / "fit" / "posterior.nc").stat().st_mode & 0o777 == 0o666 & ~umask


# --- a full disk ------------------------------------------------------------------------------------------------

def _full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_names_the_file_and_keeps_the_old_fit(tmp_path, fits, monkeypatch):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    before = _tree(folder)

    def half_then_full(self, path, *args, **kwargs):  # as pandas does: the file is there, the error has no name
        Path(path).write_text("model_id\n")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_full)
    with pytest.raises(FolderError) as caught:
        fits[1].save(folder, replace=True)
    assert str(caught.value) == (f"{folder}/models.csv: No space left on device (the disk is full: free some space, "
                                 f"or write elsewhere); nothing in {folder} was changed")
    def opened_then_full(path, data):
        open(path, "wb").close()
        _full()

    monkeypatch.setattr("bayes_sauce.fit.fit.write_bytes", opened_then_full)
    with pytest.raises(FolderError, match=f"{folder}/posterior.nc: No space left on device"):
        fits[1].save(folder, replace=True)
    assert _tree(folder) == before and _hidden(tmp_path) == []


def test_a_full_disk_during_a_command_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    monkeypatch.setattr(pd.DataFrame, "to_csv", lambda *a, **k: _full())
    assert main(["data", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left on device (the disk is full" in err, err
    assert not out.exists() and _hidden(tmp_path) == []


FILL = """
import sys
from pathlib import Path
from bayes_sauce.store import FolderError
from tests.fake_fit import fake_fit

try:
    fake_fit(0, draws=4000).save(Path(sys.argv[1]))
except FolderError as err:
    print(err)
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounting a small tmpfs needs root")
def test_a_really_full_disk_ends_in_a_line_not_a_segfault(tmp_path):
    """HDF5 writing posterior.nc into a full disk crashed the process at exit (exit 139) after its message."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        done = subprocess.run([sys.executable, "-c", FILL, str(disk / "fit")], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=300)
        left = sorted(p.name for p in disk.iterdir())
    finally:
        subprocess.run(["umount", str(disk)])
    assert done.returncode == 0, done.stderr  # -11 was the segfault
    assert f"{disk / 'fit'}/posterior.nc: No space left on device" in done.stdout, done.stdout
    assert left == []


# --- the report's files as a set --------------------------------------------------------------------------------

def _writer(files: dict[str, str], fail: BaseException | None = None):
    def write(out: Path) -> list[str]:
        for name, text in files.items():
            (out / name).write_text(text)
        if fail is not None:
            raise fail
        return list(files)
    return write


def test_report_files_reach_the_folder_as_a_set(tmp_path, fits):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    fit = Fit.load(folder)
    (folder / "predictions.csv").write_text("a prediction\n")
    reporting.write_report_files(fit, _writer({"a.csv": "old a", "b.png": "old b"}))
    assert json.loads((folder / "report.json").read_text())["files"] == ["a.csv", "b.png"]
    before = _tree(folder)
    for failure in (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), KeyboardInterrupt()):
        with pytest.raises((FolderError, KeyboardInterrupt)):
            reporting.write_report_files(fit, _writer({"a.csv": "new a"}, failure))
        assert _tree(folder) == before and _hidden(tmp_path) == []  # the old set, whole
    reporting.write_report_files(fit, _writer({"c.csv": "new c"}))
    after = _tree(folder)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    assert "a.csv" not in after and "b.png" not in after and after["c.csv"] == b"new c"  # the new set only
    assert after["predictions.csv"] == b"a prediction\n" and all(after[n] == before[n] for n in FILES)
    assert Fit.load(folder).fingerprint == fit.fingerprint


def test_write_report_writes_every_file_of_the_report_in_one_set(tmp_path, fits, monkeypatch):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    fit = Fit.load(folder)
    report = reporting.Report(fit=fit, tables={"headline": pd.DataFrame({"quantity": ["beta"]})}, figures={},
                              notes=[], markdown="# report\n", checks={"a": {"passed": True}})
    monkeypatch.setattr(reporting.html, "page", lambda *args: "<html></html>")
    paths = reporting.write_report(report)
    assert sorted(p.name for p in paths) == ["headline.csv", "report.html", "report.md"]
    assert json.loads((folder / "report.json").read_text()) == {
        "fingerprint": fit.fingerprint, "gate_passed": True, "files": ["headline.csv", "report.md", "report.html"]}
    before = _tree(folder)
    write_text = Path.write_text

    def full_at_the_page(path, text, *args, **kwargs):
        if path.name != "report.html":
            return write_text(path, text, *args, **kwargs)
        path.write_bytes(text.encode()[:3])
        _full()

    monkeypatch.setattr(Path, "write_text", full_at_the_page)
    with pytest.raises(FolderError, match="fit/report.html: No space left on device"):
        reporting.write_report(report)
    assert _tree(folder) == before


def test_a_report_is_not_written_onto_a_fit_that_replaced_its_own(tmp_path, fits):
    folder = tmp_path / "fit"
    fits[0].save(folder)
    fit = Fit.load(folder)
    fits[1].save(folder, replace=True)
    with pytest.raises(FitError, match="the fit was replaced while its report was being made"):
        reporting.write_report_files(fit, _writer({"a.csv": "a"}))
    assert not (folder / "a.csv").exists()


def test_the_working_folder_takes_a_set_of_files_but_is_never_swapped_for_a_fit(tmp_path, fits, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thesis.tex").write_text("mine\n")
    assert main(["data", "--out", "."]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"thesis.tex", "models.csv", "families.png"} <= names and not any(n.startswith(".") for n in names)
    assert (tmp_path / "thesis.tex").read_text() == "mine\n"
    fits[0].save(tmp_path / "fit")
    monkeypatch.chdir(tmp_path / "fit")
    with pytest.raises(FolderError, match="does not do to the working folder"):
        fits[1].save(Path("."), replace=True)
    assert Fit.load(tmp_path / "fit").fingerprint == fits[0].fingerprint


def test_a_set_whose_renames_a_kill_cut_short_is_finished_by_the_next_writer(tmp_path):
    folder = tmp_path / "out"
    staging = folder / ".staging-1-abcd"
    staging.mkdir(parents=True)
    (folder / "a.csv").write_text("new a")  # moved before the kill
    (staging / "b.csv").write_text("new b")  # not yet
    (folder / "b.csv").write_text("old b")
    (folder / "c.csv").write_text("old c")  # dropped by that run
    (folder / "mine.txt").write_text("mine")
    (folder / store.JOURNAL).write_text(json.dumps({"staging": staging.name, "move": ["a.csv", "b.csv"],
                                                    "remove": ["c.csv"]}))
    (folder / ".staging-2-ef01").mkdir()  # a killed run's staging, before its journal
    assert store.write_files(folder, _writer({"d.csv": "new d"})) == ["d.csv"]
    assert _tree(folder) == {"a.csv": b"new a", "b.csv": b"new b", "d.csv": b"new d", "mine.txt": b"mine"}
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv", "b.csv", "d.csv", "mine.txt"]


def test_store_lock_is_reentrant_and_released(tmp_path):
    folder = tmp_path / "x"
    with store.locked(folder):
        with store.locked(folder):
            assert store.lock_path(folder).exists()
        assert store.lock_path(folder).exists()
    assert not store.lock_path(folder).exists()
