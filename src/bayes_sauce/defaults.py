"""Defaults shared by every command: the seed and the interval level (one place each)."""

from __future__ import annotations

SEED = 20260207
INTERVAL_PROB = 0.90
BOOTSTRAP_REPLICATES = 1000
# The paper's release window, the default filter of every analysis (inclusive months).
PAPER_WINDOW = ("2022-10", "2025-03")
# Folds of base-model families for the cross-validated new-family predictive check.
NEW_FAMILY_FOLDS = 5
