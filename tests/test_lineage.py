"""Model lineage: known answers on the shipped data, the shipped extract against its source, and each
derivation rule on small synthetic tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from bayes_sauce.cli.main import main
from bayes_sauce.data.curation import OLL_FILE
from bayes_sauce.data.lineage import derive_lineage, name_tag
from bayes_sauce.data.lineage_tables import (
    FAMILY_COLUMNS,
    FAMILY_SOURCES,
    LineageTables,
    build_leaderboard_lineage,
    read_curated,
    read_leaderboard_lineage,
    read_tags,
)
from bayes_sauce.data.load import load
from bayes_sauce.data.summary import family_summary, family_table, icc_oneway, residual_icc

from .conftest import RAW_DIR


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return load().models.set_index("model_id", drop=False)


# ------------------------------------------------------------------------------------ shipped data


def test_shipped_extract_equals_its_regeneration():
    source = RAW_DIR / OLL_FILE
    if not source.exists():
        pytest.skip(f"raw leaderboard file not found at {source}")
    pd.testing.assert_frame_equal(read_leaderboard_lineage(), build_leaderboard_lineage(source), check_dtype=False)


def test_every_row_has_a_lineage_and_most_belong_to_a_family(shipped):
    assert shipped["family"].notna().all() and (shipped["family"] != "").all()
    assert set(shipped["family_source"]) <= set(FAMILY_SOURCES)
    in_family_or_root = (shipped["family"] != shipped["model_id"]) | shipped["is_root"]
    assert in_family_or_root.mean() >= 0.85
    assert (shipped.loc[shipped["is_root"], "family"] == shipped.loc[shipped["is_root"], "model_id"]).all()
    assert shipped.loc[shipped["family_source"] == "none", "family"].eq(
        shipped.loc[shipped["family_source"] == "none", "model_id"]).all()


def test_qwq_32b_belongs_to_the_qwen25_32b_family(shipped):
    assert shipped.loc["Qwen__QwQ-32B", "family"] == "Qwen__Qwen2.5-32B"
    assert shipped.loc["Qwen__QwQ-32B-Preview", "family"] == "Qwen__Qwen2.5-32B"


def test_qwen25_7b_family_has_its_root_in_the_data(shipped):
    family = shipped[shipped["family"] == "Qwen__Qwen2.5-7B"]
    assert len(family) > 50
    assert family["family_root_in_data"].all()
    assert shipped.loc["Qwen__Qwen2.5-7B", "is_root"]
    assert shipped.loc["Qwen__Qwen2.5-7B-Instruct", "family"] == "Qwen__Qwen2.5-7B"


def test_llama31_8b_fine_tunes_are_not_put_in_the_llama3_8b_family(shipped):
    # Llama-3-8B and Llama-3.1-8B share parameters (8.03B) and tokens (15T): only the name tells them apart.
    for model in ("BlackBeenie__Neos-Llama-3.1-8B", "allura-org__L3.1-8b-RP-Ink"):
        assert shipped.loc[model, "family"] == "meta-llama__Llama-3.1-8B"
    tags = read_tags()
    tagged = shipped["model_id"].map(lambda m: name_tag(m.replace("__", "/"), tags))
    assert not (shipped["family"] == "meta-llama__Meta-Llama-3-8B")[tagged == "llama-3.1"].any()
    # without a tag, (8.03B, 15T) is ambiguous between the two: no family is guessed
    assert shipped.loc["grimjim__Llama-Nephilim-Metamorphosis-v2-8B", "family_source"] == "none"


def test_a_merge_without_a_resolvable_base_is_its_own_family(shipped):
    # the leaderboard lists it as a merge of itself; 3.4B matches no Qwen2.5 size within 5%
    row = shipped.loc["Sakalti__light-3B"]
    assert (row["family"], row["family_source"], row["is_root"], row["family_root_in_data"]) == (
        "Sakalti__light-3B", "none", False, False)


def test_models_missing_from_the_leaderboard_file(shipped):
    # not on the leaderboard and nothing in the name or size points to a family
    for model in ("GPT-4.5", "Lawnakk__BBALAW1.0"):
        assert shipped.loc[model, "family_source"] == "none"
        assert shipped.loc[model, "family"] == model
    # not on the leaderboard, but its name and size do point to one
    assert shipped.loc["YOYO-AI__Qwen2.5-14B-YOYO-V4", "family"] == "Qwen__Qwen2.5-14B"
    assert shipped.loc["YOYO-AI__Qwen2.5-14B-YOYO-V4", "family_source"] == "inferred_name_size"


def test_official_instruct_variants_join_their_base_family(shipped):
    assert shipped.loc["meta-llama__Llama-3.2-1B-Instruct", "family"] == "meta-llama__Llama-3.2-1B"
    assert shipped.loc["meta-llama__Llama-3.2-1B-Instruct", "family_source"] == "official_variant"
    assert shipped.loc["01-ai__Yi-1.5-34B-Chat", "family"] == "01-ai__Yi-1.5-34B"
    # renamed repos are one family: Meta-Llama-3.1-8B (old name) and Llama-3.1-8B
    assert shipped.loc["meta-llama__Llama-3.1-70B-Instruct", "family"] == "meta-llama__Llama-3.1-70B"


def test_family_summary_and_icc_on_shipped_data(shipped):
    text = family_summary(shipped.reset_index(drop=True))
    assert "Largest families" in text and "Qwen__Qwen2.5-7B" in text
    icc = residual_icc(shipped.reset_index(drop=True))
    assert icc["family"] > icc["developer_group"]
    table = family_table(shipped.reset_index(drop=True))
    assert table.iloc[0]["family"] == "Qwen__Qwen2.5-7B" and table["n_models"].sum() == len(shipped)


def test_cli_data_writes_the_families_figure(tmp_path, capsys):
    assert main(["data", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Residual ICC" in printed and "rows are not in the leaderboard file" in printed
    assert (tmp_path / "families.png").stat().st_size > 10_000
    points = pd.read_csv(tmp_path / "families.csv")
    assert {"family", "model_id", "mmlu_pro", "root_mmlu_pro"} <= set(points.columns)


# ------------------------------------------------------------------------------------ synthetic rules


def _board(*rows: tuple) -> pd.DataFrame:
    """A leaderboard extract: (repo, declared base, params, type, official), base 'X (Merge)' marks a merge."""
    frame = pd.DataFrame(rows, columns=["repo", "base", "params_b", "type", "official"])
    merge = frame["base"].str.endswith(" (Merge)")
    return pd.DataFrame({
        "eval_name": frame["repo"].str.replace("/", "_") + "_bfloat16",
        "repo": frame["repo"],
        "base_model": frame["base"].str.removesuffix(" (Merge)"),
        "base_is_merge": merge,
        "params_b": frame["params_b"],
        "type": frame["type"],
        "official": frame["official"],
        "mmlu_pro": 0.3,
    })


BOARD = _board(
    ("acme/Base-7B", "acme/Base-7B", 7.0, "pretrained", True),
    ("acme/Base-7B-Instruct", "acme/Base-7B-Instruct", 7.0, "chat", True),
    ("zeta/Other-7B", "zeta/Other-7B", 7.0, "pretrained", True),
    ("acme/Base-3B", "acme/Base-3B", 3.0, "pretrained", True),
    ("fan/Base-7B-sft", "acme/Base-7B", 7.0, "fine_tuned", False),
    ("fan/Base-7B-ft-of-instruct", "acme/Base-7B-Instruct", 7.0, "fine_tuned", False),
    ("merger/Base-7B-slerp", "merger/Base-7B-slerp (Merge)", 7.0, "merge", False),
    ("merger/mystery-7b", "merger/mystery-7b (Merge)", 7.0, "merge", False),
    ("merger/mystery-3b", "merger/mystery-3b (Merge)", 3.0, "merge", False),
    ("merger/Base-7B-upscaled", "merger/Base-7B-upscaled (Merge)", 9.0, "merge", False),
    ("merger/Frankenmerge-20B", "merger/Frankenmerge-20B (Merge)", 20.0, "merge", False),
    ("fan/old-name-ft", "acme/Old-Base-7B", 7.0, "fine_tuned", False),
)
TAGS = [("base", re.compile(r"base")), ("other", re.compile(r"other"))]
CURATED = pd.DataFrame({"name": ["acme/Old-Base-7B"], "relation": ["alias"], "target": ["acme/Base-7B"],
                        "source": ["test"], "note": [""]})
TABLES = LineageTables(BOARD, CURATED, TAGS)


def _models(repos: list[str], params: list[float], tokens: list[float], on_board: bool = True,
            inherited: bool = True) -> pd.DataFrame:
    orgs = [r.split("/")[0] for r in repos]
    return pd.DataFrame({
        "model_id": [r.replace("/", "__") for r in repos],
        "hf_id": [r.replace("/", "_") + "_bfloat16" if on_board else r.replace("/", "_") + "_new" for r in repos],
        "developer_raw": orgs,
        "developer": orgs,
        "developer_group": "Other-Small",
        "params_b": params,
        "tokens_b": tokens,
        "tokens_base_b": tokens,
        "tokens_inherited": [inherited] * len(repos),
        "ln_flops_1e18": np.log(6 * np.asarray(params) * np.asarray(tokens)),
        "mmlu_pro": np.linspace(0.2, 0.6, len(repos)),
        "math_l5": 0.1,
        "release_month": "2024-06",
    })


def _lineage(models: pd.DataFrame, tables: LineageTables = TABLES) -> pd.DataFrame:
    """The family columns of each row, by model id."""
    return pd.concat([models["model_id"], derive_lineage(models, tables)[FAMILY_COLUMNS]], axis=1).set_index("model_id")


# Pretraining runs have tokens of their own (a model whose tokens are inherited is a derivative, never a root).
BASES = _models(["acme/Base-7B", "zeta/Other-7B", "acme/Base-3B"], [7.0, 7.0, 3.0], [2000, 2000, 1000], inherited=False)


def test_declared_base_and_own_root():
    models = pd.concat([BASES, _models(["fan/Base-7B-sft"], [7.0], [2000])], ignore_index=True)
    out = _lineage(models)
    assert out.loc["fan__Base-7B-sft"].tolist() == ["acme__Base-7B", "declared", True, False]
    assert out.loc["acme__Base-7B"].tolist() == ["acme__Base-7B", "own_root", True, True]


def test_declared_base_outside_the_data_is_the_family_root_not_in_data():
    out = _lineage(_models(["fan/Base-7B-sft"], [7.0], [2000]))
    assert out.loc["fan__Base-7B-sft"].tolist() == ["acme__Base-7B", "declared", False, False]


def test_instruct_variant_of_a_base_and_a_fine_tune_of_it():
    models = pd.concat([BASES, _models(["acme/Base-7B-Instruct", "fan/Base-7B-ft-of-instruct"], [7.0, 7.0],
                                       [2000, 2000])], ignore_index=True)
    out = _lineage(models)
    assert out.loc["acme__Base-7B-Instruct", ["family", "family_source"]].tolist() == ["acme__Base-7B", "official_variant"]
    # declared to the instruct model, which is a variant of the base: the weakest step is reported
    assert out.loc["fan__Base-7B-ft-of-instruct", ["family", "family_source"]].tolist() == ["acme__Base-7B",
                                                                                          "official_variant"]


def test_merges_resolved_by_name_and_size_or_by_size_and_tokens():
    models = pd.concat([BASES, _models(["merger/Base-7B-slerp", "merger/mystery-7b", "merger/mystery-3b"],
                                       [7.1, 7.0, 3.0], [2000, 2000, 1000])], ignore_index=True)
    out = _lineage(models)
    # the name's tag picks Base-7B over Other-7B, which has the same size and tokens
    assert out.loc["merger__Base-7B-slerp", ["family", "family_source"]].tolist() == ["acme__Base-7B",
                                                                                    "inferred_name_size"]
    # no tag and two families with the same size and tokens: nothing is guessed
    assert out.loc["merger__mystery-7b", ["family", "family_source"]].tolist() == ["merger__mystery-7b", "none"]
    # no tag, but only one family of that size and token count
    assert out.loc["merger__mystery-3b", ["family", "family_source"]].tolist() == ["acme__Base-3B",
                                                                                 "inferred_size_tokens"]


def test_unresolvable_merges_get_their_own_family():
    models = pd.concat([BASES, _models(["merger/Frankenmerge-20B", "merger/Base-7B-upscaled"], [20.0, 9.0],
                                       [2000, 2000])], ignore_index=True)
    out = _lineage(models)
    for model in ("merger__Frankenmerge-20B", "merger__Base-7B-upscaled"):  # the upscaled one is 29% off in size
        assert out.loc[model].tolist() == [model, "none", False, False]


def test_a_matching_tag_needs_a_matching_token_count():
    out = _lineage(pd.concat([BASES, _models(["merger/Base-7B-slerp"], [7.0], [94])], ignore_index=True))
    assert out.loc["merger__Base-7B-slerp", "family_source"] == "none"


def test_row_missing_from_the_leaderboard():
    models = pd.concat([BASES, _models(["new/Frankenmerge-20B", "new/Base-7B-2025"], [20.0, 7.0], [2000, 2000],
                                       on_board=False)], ignore_index=True)
    out = _lineage(models)
    assert out.loc["new__Frankenmerge-20B"].tolist() == ["new__Frankenmerge-20B", "none", False, False]
    assert out.loc["new__Base-7B-2025", ["family", "family_source"]].tolist() == ["acme__Base-7B", "inferred_name_size"]


def test_renamed_repo_alias_joins_one_family():
    out = _lineage(pd.concat([BASES, _models(["fan/old-name-ft"], [7.0], [2000])], ignore_index=True))
    assert out.loc["fan__old-name-ft", "family"] == "acme__Base-7B"


def test_user_base_model_and_family_columns_override_where_they_differ():
    models = pd.concat([BASES, _models(["merger/Frankenmerge-20B", "fan/Base-7B-sft", "merger/mystery-7b"],
                                       [20.0, 7.0, 7.0], [2000, 2000, 2000])], ignore_index=True)
    models["base_model"] = [None, None, None, "acme/Base-7B-Instruct", None, None]
    models["family"] = [None, None, None, None, "acme__Base-7B", "my__family"]
    out = _lineage(models)
    assert out.loc["merger__Frankenmerge-20B"].tolist() == ["acme__Base-7B", "user", True, False]
    assert out.loc["fan__Base-7B-sft", ["family", "family_source"]].tolist() == ["acme__Base-7B", "declared"]
    assert out.loc["merger__mystery-7b"].tolist() == ["my__family", "user", False, False]


def test_user_family_column_in_an_authors_schema_file(authors_frame, write_csv):
    frame = authors_frame.head(4).copy()
    frame["family"] = ["", "", "my__family", ""]
    models = load(write_csv(frame)).models
    assert models.loc[2, ["family", "family_source"]].tolist() == ["my__family", "user"]
    assert (models.loc[[0, 1, 3], "family_source"] != "user").all()


def test_shipped_tag_table_separates_the_traps():
    tags = read_tags()
    assert name_tag("x/Llama-3.1-8B-Instruct-merge", tags) == "llama-3.1"
    assert name_tag("x/L3.1-8b-RP-Ink", tags) == "llama-3.1"
    assert name_tag("x/Meta-Llama-3-8B-Instruct", tags) == "llama-3"
    assert name_tag("x/L3-8B-Lunaris-v1", tags) == "llama-3"
    assert name_tag("nlpguy/Mistral-NeMo-Minitron-Upscale-v1", tags) == "minitron"
    assert name_tag("x/MN-12B-Lyra", tags) == "mistral-nemo"
    assert name_tag("x/Nemotron-Mini-4B", tags) == "nemotron"
    assert name_tag("google/gemma-2b-it", tags) == "gemma"
    assert name_tag("google/gemma-2-2b-it", tags) == "gemma-2"
    assert name_tag("Qwen/Qwen2-57B-A14B", tags) == "qwen2"
    assert name_tag("x/Phi-4-QwQ", tags) == "phi-4"


def test_curated_table_has_a_source_for_every_fact():
    curated = read_curated()
    assert (curated["source"] != "").all() and curated["name"].is_unique
    assert set(curated["relation"]) <= {"alias", "base", "developer"}


def test_icc_oneway_known_values():
    # two groups with means 0 and 10 and no within-group spread: all variance is between groups
    assert icc_oneway(np.array([0.0, 0.0, 10.0, 10.0]), np.array(["a", "a", "b", "b"])) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(400), 5)
    values = rng.normal(0, 1, 400)[groups] + rng.normal(0, 1, len(groups))  # true ICC 0.5
    assert icc_oneway(values, groups) == pytest.approx(0.5, abs=0.06)
