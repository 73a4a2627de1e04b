"""Where the raw public sources live under ``shared/data_raw`` (read only by ``make data``), and their origins."""

from __future__ import annotations

from pathlib import Path

PUBLIC = Path("public_sources")
AUTHORS_FILE = Path("mertens2026_replication/dataset_for_github.csv")
AUTHORS_VERSION = "natalialanzoni/SecretSauce@ff37d12 dataset_for_github.xlsx (converted to CSV, values unchanged)"
OLL_FILE = PUBLIC / "oll_v2_contents_2025-02-20_causal-eval.csv"
OLL_VERSION = ("hlzhang109/causal-eval@b3b2df138d0dbc526fe66306e53cb8cb5c185169 Tables/open_llm_leaderboard.csv "
               "(open-llm-leaderboard/contents, submissions to 2025-02-20)")
OLL_LICENCE = "none stated (upstream: Hugging Face dataset open-llm-leaderboard/contents)"
NO_LICENCE = "none stated"
