"""Lineage, second round (issue 31): derivatives without a known base are fine-tunes of an inferred or unknown base,
never their releaser's pretraining run; Mistral's bases are Mistral AI's; duplicate uploads counted once; a rootless
family's compute is its most common value; pruned and upscaled models flagged. On the shipped data and on a user's
added rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_sauce.data.filters import exclude_for_analysis
from bayes_sauce.data.lineage_tables import BASE_SOURCES, SIZE_CHANGES, UNKNOWN_BASE, read_size_changes
from bayes_sauce.data.load import load
from bayes_sauce.model.design import base_developers, prepare
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.spec.schema import load_spec


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return load().models.set_index("model_id", drop=False)


def _derivative(models: pd.DataFrame) -> pd.Series:
    """Rows whose token count says they are derivatives: copied from a base, or fewer tokens than parameters."""
    return models["tokens_inherited"].astype(bool) | (models["tokens_b"] < models["params_b"])


# ------------------------------------------------------------------------------------ shipped data


def test_no_derivative_is_a_pretraining_run_or_makes_its_releaser_a_lab(shipped):
    derivative = _derivative(shipped) | shipped["size_change"].notna()
    assert not (shipped["is_root"] & _derivative(shipped)).any()
    releasers = shipped.loc[shipped["base_developer_source"] == "releaser", "family"]
    assert not derivative[shipped["family"].isin(set(releasers))].any()
    assert set(shipped["base_developer_source"]) <= set(BASE_SOURCES)
    # the fine-tuners the issue names are no base developers any more
    assert not {"hon9kon9ize", "Delta-Vector", "jeffmeloy", "pankajmathur", "oopere", "speakleash"} & set(
        base_developers(shipped))


@pytest.mark.parametrize("model, base", [
    ("jeffmeloy__Qwen2.5-7B-minperplexity-2", "Qwen"),  # 7.0B (untied embeddings aside, Qwen2.5-7B), 18T inherited
    ("pankajmathur__orca_mini_v8_1_70b", "Meta"),  # 70.6B, 15T: Llama 3, 3.1 or 3.3 70B, all Meta's
    ("oopere__pruned40-llama-3.2-1B", "Meta"),  # pruned: fewer parameters, Llama 3.2's 9T tokens and name
    ("Delta-Vector__Tor-8B", "Nvidia"),  # 94B tokens: a Minitron
    ("hon9kon9ize__CantoneseLLMChat-v0.5", UNKNOWN_BASE),  # 0.4B tokens for 6.1B parameters: not a pretraining run
])
def test_known_derivatives_are_fine_tunes_of_an_inferred_or_unknown_base(shipped, model, base):
    row = shipped.loc[model]
    assert not row["is_root"] and row["base_developer"] == base
    assert row["base_developer_source"] == ("unknown" if base == UNKNOWN_BASE else "inferred")


def test_mistral_and_mixtral_bases_are_mistral_ais(shipped):
    base = base_developers(shipped)
    assert base["mistral-community__Mistral-7B-v0.2"] == "mistralai"  # was speakleash (its most frequent developer)
    assert base["mistral-community__Mixtral-8x22B-v0.1"] == "mistralai"  # was HuggingFaceH4
    assert shipped.loc["speakleash__Bielik-11B-v2.3-Instruct", "family"] == "mistral-community__Mistral-7B-v0.2"


def test_duplicate_uploads_are_flagged_and_counted_once(shipped):
    dup = shipped[shipped["duplicate_of"].notna()]
    assert len(dup) == 6
    kept = shipped.loc[dup["duplicate_of"]]
    for column in ("developer_raw", "params_b", "mmlu_pro", "math_l5"):
        assert (dup[column].to_numpy() == kept[column].to_numpy()).all()
    assert (dup["release_month"].to_numpy() >= kept["release_month"].to_numpy()).all()
    assert shipped.loc["NAPS-ai__naps-gemma-2-27b-v0.1.0", "duplicate_of"] == "NAPS-ai__naps-gemma-2-27b-v-0.1.0"
    # identical scores of different developers near chance are coincidences, not duplicates
    assert pd.isna(shipped.loc["necva__IE-cont-Llama3.1-8B", "duplicate_of"])
    data = exclude_for_analysis(load(), "mmlu_pro", "cohort", logit=True)
    reasons = data.excluded.set_index("model_id")["reason"]
    assert set(dup.index) <= set(reasons.index) and not set(dup.index) & set(data.models["model_id"])
    assert reasons["pankajmathur__orca_mini_v9_2_14B"].startswith("duplicate upload of pankajmathur__orca_mini_phi-4")
    # the paper's replication keeps its sample
    assert len(exclude_for_analysis(load(), "mmlu_pro", "cohort", logit=True, duplicates=False).models) == 809


def test_pruned_and_upscaled_models_are_flagged(shipped):
    assert set(shipped["size_change"].dropna()) == set(SIZE_CHANGES)
    for model, change in (("princeton-nlp__Sheared-LLaMA-1.3B", "pruned"), ("nvidia__Minitron-4B-Base", "pruned"),
                          ("nvidia__Mistral-NeMo-Minitron-8B-Base", "pruned"), ("TencentARC__LLaMA-Pro-8B", "upscaled"),
                          ("dnhkng__RYS-Llama-3.1-8B-Instruct", "upscaled"), ("speakleash__Bielik-11B-v2", "upscaled")):
        assert shipped.loc[model, "size_change"] == change
    assert shipped.loc["Qwen__Qwen2.5-7B", "size_change"] != shipped.loc["Qwen__Qwen2.5-7B", "size_change"]  # NaN
    assert [kind for kind, _ in read_size_changes()] and {kind for kind, _ in read_size_changes()} <= set(SIZE_CHANGES)


def test_a_rootless_familys_compute_is_its_most_common_members(shipped):
    design, _ = prepare(load_spec(DEFAULT_SPEC), load())
    family = "meta-llama__Meta-Llama-3-8B"  # 19 models, its root not in the data
    members = design.models.loc[design.models["family"] == family, "log10_flops"]
    x = design.families.x_c[design.coords["family"].index(family)] + design.c0
    assert x == pytest.approx(members.round(9).mode().iloc[0])
    assert UNKNOWN_BASE in design.coords["developer"]  # a pseudo-developer with a paper group of its own
    assert len(design.group_of_developer) == len(design.coords["developer"])


# ------------------------------------------------------------------------------------ a user's added rows


def _added(authors_frame: pd.DataFrame, rows: list[tuple]) -> pd.DataFrame:
    """The shipped rows in the authors' schema plus ``rows`` (model, developer, params, total tokens, base tokens,
    MMLU-Pro, MATH), released in 2024-12 and not on the leaderboard."""
    new = pd.DataFrame(rows, columns=["Model", "Model Developer (str)", "Parameters (Billions)", "Total Dataset Tokens",
                                      "Basemodel Dataset Tokens", "MMLU Pro Raw Score", "Raw MATH Level 5 Score"])
    new = new.assign(**{"Dummy for Top Company": "Other", "Month of Model Release": "2024-12-01"}).astype(str)
    return pd.concat([authors_frame, new], ignore_index=True).fillna("")


def test_a_users_derivatives_get_an_inferred_or_unknown_base_and_duplicates_are_counted_once(authors_frame,
                                                                                                write_csv):
    frame = _added(authors_frame, [
        ("hobbyist__mystery-merge-3B", "hobbyist", 3.397, "", 18000, 0.33, 0.2),  # Qwen2.5's 18T tokens
        ("hobbyist__mystery-merge-3B-v2", "hobbyist", 3.397, "", 18000, 0.33, 0.2),  # the same upload again
        ("hobbyist__odd-5B", "hobbyist", 5.3, "", 777, 0.30, 0.1),  # tokens no known base has
        ("newlab__Fresh-7B", "newlab", 7.0, 6600, "", 0.35, 0.1),  # its own pretraining run (no base has 6.6T)
    ])
    models = load(write_csv(frame)).models.set_index("model_id")
    assert models.loc["hobbyist__mystery-merge-3B", ["base_developer", "base_developer_source", "is_root"]].tolist() \
        == ["Qwen", "inferred", False]
    assert models.loc["hobbyist__odd-5B", "base_developer"] == UNKNOWN_BASE
    assert models.loc["newlab__Fresh-7B", ["base_developer", "base_developer_source"]].tolist() == [
        "newlab", "releaser"]
    assert models.loc["hobbyist__mystery-merge-3B-v2", "duplicate_of"] == "hobbyist__mystery-merge-3B"
    design, data = prepare(load_spec(DEFAULT_SPEC), load(write_csv(frame)))
    assert "hobbyist" not in design.coords["developer"] and "newlab" in design.coords["developer"]
    assert "hobbyist__mystery-merge-3B-v2" in set(data.excluded["model_id"])


def test_a_users_rootless_family_takes_its_most_common_compute_not_the_mean(authors_frame, write_csv):
    # four uploads of one unreleased base's fine-tunes, one with its size mis-recorded (70B instead of 7B)
    frame = _added(authors_frame, [(f"fan{i}__tune-{i}", f"fan{i}", size, "", 2000, 0.30 + i / 100, 0.1)
                                   for i, size in enumerate([7.0, 7.0, 7.0, 70.0])])
    frame["family"] = np.where(frame["Model"].str.startswith("fan"), "myorg__unreleased-base", "")
    design, _ = prepare(load_spec(DEFAULT_SPEC), load(write_csv(frame)))
    x = design.families.x_c[design.coords["family"].index("myorg__unreleased-base")] + design.c0
    assert x == pytest.approx(np.log10(6 * 7e9 * 2000e9))  # the mean would be 0.25 decades higher
