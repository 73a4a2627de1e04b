"""Defaults shared by every command: the seed and the interval level (one place each)."""

from __future__ import annotations

SEED = 20260207
INTERVAL_PROB = 0.90
BOOTSTRAP_REPLICATES = 1000
