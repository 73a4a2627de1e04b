"""Shared fixtures: frames in the authors' schema (built from the shipped file), small CSVs, and one `run` whose fits
sample their prior (``run_dir``); and a guard: NUTS runs only in tests marked ``nuts`` (sampling itself under test)
or ``slow``, so a fast test that would fit for real fails and names the stand-in instead."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytensor
import pytest

from bayes_sauce.data.schema import AUTHORS_COLUMNS, CURATED_PATH
from bayes_sauce.paths import PROJECT_ROOT

# PyTensor records where each graph node was created (a walk up the stack per node, a fifth of the time of the many
# small models the tests build and differentiate: 149 s against 119 s for test_families, test_developer_time and
# test_noise_density); the record is for debugging a graph, and no test reads it.
pytensor.config.traceback__limit = 0

_SAMPLING_ALLOWED = [False]  # whether the running test (setup and teardown included) may run NUTS


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _SAMPLING_ALLOWED[0] = any(item.get_closest_marker(name) for name in ("nuts", "slow"))
    return (yield)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which writes the groups into the test ids
def pytest_collection_modifyitems(config, items):
    """For ``pytest -n N --dist loadgroup`` (pytest-xdist): the tests that share a fixture built once per session or
    module (``run_dir``; a module's own fits) go to one worker together, so no fixture is built twice; the others
    are spread one by one."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        if "run_dir" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group("run_dir"))
            continue
        definitions = item._fixtureinfo.name2fixturedefs
        if any(defs[-1].scope == "module" and defs[-1].func.__module__.startswith("tests.")
               for name in item.fixturenames if (defs := definitions.get(name))):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture(scope="session", autouse=True)
def _nuts_only_where_marked():
    """Real sampling (``fit.sampling._sample``, which the stand-in never reaches) fails outside marked tests."""
    from bayes_sauce.fit import sampling

    real = sampling._sample

    def guarded(*args, **kwargs):
        if not _SAMPLING_ALLOWED[0]:
            raise AssertionError("a fast test ran NUTS: sample the prior instead (tests/stand_in.py), or mark the test "
                                 "`nuts` where sampling itself is under test")
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sampling, "_sample", guarded)
        yield


RAW_DIR = PROJECT_ROOT.parent / "shared" / "data_raw"
AUTHORS_CSV = RAW_DIR / "mertens2026_replication" / "dataset_for_github.csv"


def authors_schema(curated: pd.DataFrame) -> pd.DataFrame:
    """Curated rows written in the authors' schema, as text (release months as Excel serial days)."""
    frame = curated[list(AUTHORS_COLUMNS.values())].rename(columns={v: k for k, v in AUTHORS_COLUMNS.items()})
    month = pd.PeriodIndex(curated["release_month"], freq="M").to_timestamp()
    frame["Month of Model Release"] = (month - pd.Timestamp("1899-12-30")).days.astype(str)
    return frame.astype(str).replace({"nan": ""})


@pytest.fixture(scope="session")
def authors_frame() -> pd.DataFrame:
    """The shipped dataset in the authors' released schema (text), for tests of that schema."""
    return authors_schema(pd.read_csv(CURATED_PATH, dtype=str, keep_default_na=False))


@pytest.fixture(scope="session")
def raw_authors_frame() -> pd.DataFrame:
    """The authors' released file itself: only tests of the regeneration from the raw sources need it."""
    if not AUTHORS_CSV.exists():
        pytest.skip(f"raw authors' file not found at {AUTHORS_CSV} (shared/ sits beside the clone)")
    return pd.read_csv(AUTHORS_CSV, dtype=str, keep_default_na=False)


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write a frame to a CSV in tmp_path and return its path."""

    def _write(frame: pd.DataFrame, name: str = "data.csv") -> Path:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return _write


def _authors_subsample(path: Path) -> None:
    """~80 shipped rows in the authors' schema: a few per developer group plus the paper's named models."""
    from bayes_sauce.quantities.headline import PAPER_MODELS

    curated = pd.read_csv(CURATED_PATH, dtype=str, keep_default_na=False)
    named = curated["model_id"].isin(PAPER_MODELS.values())
    authors_schema(curated[named | curated.groupby("developer_group").cumcount().lt(6)]).to_csv(path, index=False)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """`bayes-sauce run` on ~80 rows, once per session, with prior draws standing in for NUTS (tests/stand_in.py):
    every stage, the gate, the fold fits and the report as a user gets them; (results folder, exit status)."""
    from bayes_sauce.cli.main import main

    from .stand_in import prior_sampling

    root = tmp_path_factory.mktemp("run")
    data = root / "authors.csv"
    _authors_subsample(data)
    with prior_sampling():
        status = main(["run", "--data", str(data), "--out", str(root / "results"), "--draws", "100", "--tune", "150",
                       "--chains", "2", "--bootstrap", "20", "--folds", "2", "--no-progress"])
    return root / "results", status
