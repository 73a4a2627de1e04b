"""Where the project's files live: the shipped data, the model specs and the default results folder."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
MODELS_DIR = PROJECT_ROOT / "models"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
RESULTS_DIR = Path("results")  # relative to where a command runs, as users expect
DEFAULT_SPEC = MODELS_DIR / "hierarchical.toml"
OLS_SPEC = MODELS_DIR / "ols.toml"
