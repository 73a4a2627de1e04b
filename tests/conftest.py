"""Shared fixtures: paths to the raw authors' file and small CSVs in the authors' schema."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bayes_sauce.data import PROJECT_ROOT

RAW_DIR = PROJECT_ROOT.parent / "shared" / "data_raw"
AUTHORS_CSV = RAW_DIR / "mertens2026_replication" / "dataset_for_github.csv"


@pytest.fixture(scope="session")
def authors_frame() -> pd.DataFrame:
    """The authors' released dataset as text (shared/ sits beside the clone in CI)."""
    if not AUTHORS_CSV.exists():
        pytest.skip(f"raw authors' file not found at {AUTHORS_CSV}")
    return pd.read_csv(AUTHORS_CSV, dtype=str, keep_default_na=False)


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write a frame to a CSV in tmp_path and return its path."""

    def _write(frame: pd.DataFrame, name: str = "data.csv") -> Path:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return _write
