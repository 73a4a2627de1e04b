"""Protocol pairs: the shipped table against its regeneration, the two Gemma-2 pairs the data hold under both
protocols, the offsets on the project's score scale, and the matching rules on small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_sauce.data.protocol_pairs import (
    MATCHES_PATH,
    PAIR_COLUMNS,
    build_protocol_pairs,
    pair_table,
    read_matches,
    read_protocol_pairs,
)
from bayes_sauce.data.schema import CURATED_PATH
from bayes_sauce.scale import scale_of

from .conftest import RAW_DIR


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    return read_protocol_pairs().set_index("repo", drop=False)


@pytest.fixture(scope="module")
def curated() -> pd.DataFrame:
    return pd.read_csv(CURATED_PATH, dtype={"hf_id": str})


def test_shipped_pairs_equal_their_regeneration(curated):
    if not (RAW_DIR / "public_sources").exists():
        pytest.skip(f"raw public sources not found at {RAW_DIR / 'public_sources'}")
    pd.testing.assert_frame_equal(read_protocol_pairs(), build_protocol_pairs(RAW_DIR, curated).fillna(""),
                                  check_dtype=False, check_exact=False, rtol=1e-12)


def test_gemma2_pairs_are_the_two_self_reported_rows_against_their_leaderboard_rows(pairs, curated):
    scores = curated.set_index("model_id")["mmlu_pro"]
    for repo, own, board, offset in (("google/gemma-2-9b-it", "Gemma-2-9B-it", "google__gemma-2-9b-it", 0.63),
                                     ("google/gemma-2-27b-it", "Gemma-2-27B-it", "google__gemma-2-27b-it", 0.54)):
        row = pairs.loc[repo]
        assert row["reported_mmlu_pro"] == scores[own] and row["harness_mmlu_pro"] == scores[board]
        assert row["logit_offset"] == pytest.approx(offset, abs=0.005)
        assert row["kind"] == "instruct" and row["excluded"] == ""


def test_offsets_are_differences_of_logits_of_normalised_scores(pairs):
    scale = scale_of("mmlu_pro")
    expected = scale.to_logit(pairs["reported_mmlu_pro"]) - scale.to_logit(pairs["harness_mmlu_pro"])
    np.testing.assert_allclose(pairs["logit_offset"], expected, rtol=1e-9)
    assert set(pairs["kind"]) == {"instruct", "base"}
    assert (pairs[["reported_source", "reported_row", "reported_version", "reported_licence", "harness_source",
                   "harness_row", "harness_version", "harness_licence"]] != "").all().all()


def test_every_shipped_match_is_in_the_table_and_every_drop_says_why(pairs):
    matches = read_matches()
    named = matches[matches["repo"] != ""]
    assert set(named["repo"]) == set(pairs["repo"])
    assert (matches.loc[matches["repo"] == "", "note"].str.len() > 10).all()


# ------------------------------------------------------------------------------------ rules on small tables


def _tables(**reports: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Reports ``row=score`` in one source, each matched to repo org/<row> except names ending in _2 (a second
    report of the same repo); harness scores for org/a, org/b, org/c."""
    reported = pd.DataFrame({"source": "s.csv", "row": list(reports), "score": list(reports.values()),
                             "setting": "0-shot CoT", "date": "2024-01", "version": "v", "licence": "CC BY 4.0"})
    harness = pd.DataFrame({"repo": ["org/a", "org/b", "org/c"], "key": ["org/a", "org/b", "org/c"],
                            "row": ["org_a_bf16", "org_b_bf16", "org_c_bf16"], "score": [0.40, 0.30, 0.30],
                            "source": "oll.csv", "version": "v", "licence": "none"})
    matches = pd.DataFrame({"source": "s.csv", "row": list(reports),
                            "repo": [f"org/{r.removesuffix('_2')}" for r in reports], "kind": "instruct",
                            "note": "by hand"})
    return reported, harness, matches


MODELS = pd.DataFrame({"model_id": ["org__a"]})


def test_first_report_is_used_and_the_others_listed():
    out = pair_table(*_tables(a=0.55, a_2=0.552), MODELS).set_index("repo")
    assert out.loc["org/a", "reported_mmlu_pro"] == 0.55 and out.loc["org/a", "other_reports"] == "s.csv:a_2=0.5520"
    assert out.loc["org/a", "model_id"] == "org__a" and out.loc["org/a", "excluded"] == ""
    assert list(out.reset_index().columns) == PAIR_COLUMNS


def test_disagreeing_reports_and_restated_leaderboard_scores_are_excluded():
    # org/b's harness raw 0.30 is 0.2222 normalised: a report of 0.222 restates it
    out = pair_table(*_tables(a=0.55, a_2=0.45, b=0.222, c=0.31), MODELS).set_index("repo")
    assert "disagree" in out.loc["org/a", "excluded"]
    assert "restated" in out.loc["org/b", "excluded"]
    assert out.loc["org/c", "excluded"] == ""  # close to the raw score: a genuine agreement, kept


@pytest.mark.parametrize("change, message", [
    (lambda r, h, m: (r, h, m.assign(repo="org/zz")), "not on the leaderboard: ['org/zz']"),
    (lambda r, h, m: (r.iloc[:0], h, m), "no MMLU-Pro score in the source"),
    (lambda r, h, m: (r, h, m.assign(kind=["instruct", "base"])), "two kinds"),
])
def test_bad_matches_are_named(change, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        pair_table(*change(*_tables(a=0.55, a_2=0.552)), MODELS)


def test_matches_file_needs_a_kind_and_a_note(tmp_path):
    bad = read_matches().head(2).assign(kind=["", "instruct"], note=["x", ""])
    bad.to_csv(path := tmp_path / MATCHES_PATH.name, index=False)
    with pytest.raises(ValueError, match=r"row\(s\) \[2, 3\]"):
        read_matches(path)
