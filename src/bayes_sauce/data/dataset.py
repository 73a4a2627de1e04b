"""A dataset for one analysis: the rows it keeps, every row it dropped with the reason, and its source."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


def excluded_frame(ids: list[str], reasons: list[str]) -> pd.DataFrame:
    """The table of dropped rows: model_id and the reason."""
    return pd.DataFrame({"model_id": pd.Series(ids, dtype=str), "reason": pd.Series(reasons, dtype=str)})


@dataclass
class Dataset:
    """Rows kept for analysis, the rows dropped (with reasons) and where they came from."""

    models: pd.DataFrame
    excluded: pd.DataFrame = field(default_factory=lambda: excluded_frame([], []))
    source: str = ""
    sha256: str = ""

    def replace(self, models: pd.DataFrame, excluded: pd.DataFrame | None = None) -> Dataset:
        """The same source with other rows (and, optionally, more exclusions)."""
        return Dataset(models=models.reset_index(drop=True), source=self.source, sha256=self.sha256,
                       excluded=self.excluded if excluded is None else excluded)


def file_sha256(path: Path | str) -> str:
    """sha256 of a file's bytes (the data's identity in fit fingerprints and sweep caches)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
