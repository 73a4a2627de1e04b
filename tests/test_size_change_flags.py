"""Pruned, upscaled and distilled models (``size_change``, from ``data/lineage_size_changes.csv``): which shipped rows
carry each flag, that the issue's named kinds (Minitron, Sheared-LLaMA, LLaMA-Pro, DeepSeek-R1-Distill) are caught by
name, and what the flag does: no model's compute changes, only the base developer of a family whose pretraining run
is inferred from its members (data/README.md, "Pruned, upscaled and distilled models")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_sauce.data.lineage import derive_lineage, size_changes
from bayes_sauce.data.lineage_tables import SIZE_CHANGES, UNKNOWN_BASE, LineageTables, read_size_changes
from bayes_sauce.data.load import load
from bayes_sauce.data.schema import CURATED_PATH
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.spec.schema import load_spec


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return load().models.set_index("model_id", drop=False)


def test_counts_of_each_flag_in_the_shipped_data(shipped):
    counts = shipped["size_change"].value_counts()
    assert counts.to_dict() == {"pruned": 21, "upscaled": 16, "distilled": 1}
    assert set(counts.index) == set(SIZE_CHANGES)
    curated = pd.read_csv(CURATED_PATH, dtype=str, keep_default_na=False)  # the flag is a column of models.csv
    assert (curated.set_index("model_id")["size_change"].replace("", np.nan).dropna()
            == shipped["size_change"].dropna()).all()


def test_the_named_kinds_are_caught(shipped):
    minitron = shipped["model_id"].str.contains("(?i)minitron")
    assert minitron.sum() == 8 and (shipped.loc[minitron, "size_change"] == "pruned").all()
    for model, change in (("princeton-nlp__Sheared-LLaMA-2.7B", "pruned"), ("TencentARC__LLaMA-Pro-8B-Instruct", "upscaled"),
                          ("Delta-Vector__Tor-8B", "pruned"), ("Delta-Vector__Darkens-8B", "pruned"),
                          ("Quazim0t0__Phi4.Turn.R1Distill.16bit", "distilled")):
        assert shipped.loc[model, "size_change"] == change
    # Tor-8B and Darkens-8B carry the Minitron-8B's size and distillation run
    assert (shipped.loc[["Delta-Vector__Tor-8B", "Delta-Vector__Darkens-8B"], ["params_b", "tokens_b"]].to_numpy()
            == shipped.loc["nvidia__Mistral-NeMo-Minitron-8B-Instruct", ["params_b", "tokens_b"]].to_numpy()).all()
    # a user's rows: by name, whatever the organisation; an exact-name pattern catches no other model
    names = pd.Series(["deepseek-ai__DeepSeek-R1-Distill-Qwen-7B", "nvidia__Llama-3.1-Minitron-4B-Width-Base",
                       "someone__Tor-8B-v2", "meta-llama__Llama-3.2-1B", "pruned-ai__Llama-Pro-Distilled"])
    found = size_changes(names, LineageTables.shipped())
    assert found.iloc[:2].tolist() == ["distilled", "pruned"] and found.iloc[2:4].isna().all()
    assert found.iloc[4] == "upscaled"  # the first pattern that matches wins: llama-pro before distil


def test_a_flag_changes_base_developers_only_where_they_are_inferred(shipped):
    rows = load().models
    tables = LineageTables.shipped()
    flagged = derive_lineage(rows, tables)
    unflagged = derive_lineage(rows, LineageTables(tables.leaderboard, tables.curated, tables.tags, []))
    for column in ("family", "family_source", "is_root", "family_root_in_data", "duplicate_of"):
        pd.testing.assert_series_equal(flagged[column], unflagged[column])
    moved = flagged["base_developer"] != unflagged["base_developer"]
    assert set(rows.loc[moved, "model_id"]) == {"oopere__pruned40-llama-1b", "oopere__pruned60-llama-1b",
                                                "dnhkng__RYS-XLarge-base"}
    assert (unflagged.loc[moved, "base_developer_source"] == "releaser").all()  # were their releaser's runs
    assert set(flagged.loc[moved, "base_developer"]) == {"Meta", UNKNOWN_BASE}


def test_no_models_compute_changes(shipped):
    """Compute is 6 N D with the model's own N and D, flagged or not; in the family structure a flagged model of a
    family whose root is a row takes the root's compute as its family's, its own through beta_within."""
    flagged = shipped[shipped["size_change"].notna()]
    np.testing.assert_allclose(flagged["flops"], 6e18 * flagged["params_b"] * flagged["tokens_b"], rtol=1e-5)
    design, _ = prepare(load_spec(DEFAULT_SPEC), load())
    models, fam = design.models.set_index("model_id"), design.families
    position = {m: i for i, m in enumerate(design.models["model_id"])}
    for model in ("princeton-nlp__Sheared-LLaMA-1.3B", "TencentARC__LLaMA-Pro-8B", "nvidia__Minitron-4B-Base"):
        i = position[model]
        family_x = fam.x_c[fam.family_idx[i]] + design.c0
        root = models.loc[models.loc[model, "family"], "log10_flops"]
        assert family_x == pytest.approx(root)  # its family's compute is its root's (its own, for a root)
        assert design.x_c[i] + design.c0 == pytest.approx(models.loc[model, "log10_flops"])


def test_a_kind_the_table_does_not_know_is_refused(tmp_path):
    path = tmp_path / "sizes.csv"
    pd.DataFrame({"size_change": ["pruned", "shrunk"], "pattern": ["a", "b"], "note": ["", ""]}).to_csv(path,
                                                                                                      index=False)
    with pytest.raises(ValueError, match=r"row\(s\) \[3\] need size_change pruned or upscaled or distilled"):
        read_size_changes(path)
