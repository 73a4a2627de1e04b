"""Load a dataset: read, validate, derive and filter a models CSV (the shipped curated file by default)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from bayes_sauce.data.dataset import Dataset, file_sha256
from bayes_sauce.data.derive import derive
from bayes_sauce.data.filters import Filters, apply_filters
from bayes_sauce.data.read import DataValidationError, read_input, validate
from bayes_sauce.data.schema import CURATED_PATH


def derive_file(path: Path | str) -> pd.DataFrame:
    """Every row of a file, validated and with its derived columns (no filters)."""
    return derive(validate(read_input(path), str(path)))


def load(path: Path | str | None = None, filters: Filters = Filters()) -> Dataset:
    """Read, validate, derive and filter a dataset; the default is the shipped curated file."""
    return load_with_rows(path, filters)[0]


def load_with_rows(path: Path | str | None = None, filters: Filters = Filters()) -> tuple[Dataset, pd.DataFrame]:
    """``load``'s dataset and every derived row of the file before the filters (what `bayes-sauce data` summarises)."""
    source = Path(path) if path is not None else CURATED_PATH
    sha256 = file_sha256(source) if source.is_file() else ""  # no file: derive_file says so, naming it
    rows = _derived(str(source), sha256).copy()
    kept, excluded = filtered(rows, filters, source)
    return Dataset(models=kept, excluded=excluded, source=str(source), sha256=sha256), rows


@lru_cache(maxsize=4)
def _derived(path: str, sha256: str) -> pd.DataFrame:
    """``derive_file`` once per file content in a process (``run`` loads the same file at every stage)."""
    return derive_file(path)


def filtered(rows: pd.DataFrame, filters: Filters, source: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``apply_filters``, refusing filters that leave no rows (before anything is fitted), with the reasons."""
    kept, excluded = apply_filters(rows, filters)
    if kept.empty:
        reasons = "; ".join(f"{n} {reason}" for reason, n in excluded["reason"].value_counts().items())
        raise DataValidationError(f"{source}: no rows left after the filters ({filters.describe()}): {reasons}; "
                                  "widen the window (--window START END, --all-dates) or drop a filter")
    return kept, excluded


def write_curated(raw_path: Path, out_path: Path = CURATED_PATH) -> pd.DataFrame:
    """Regenerate the shipped curated file from the authors' CSV."""
    models = derive_file(raw_path)
    models.to_csv(out_path, index=False)
    return models
