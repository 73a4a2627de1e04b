"""`predict --base-model`: a new fine-tune joins its base's fitted family; bad input refused at the door; the held-out
check of fine-tunes; `explain`'s expected score, base developer and file names.

One module fixture: the default spec's prior draws on the shipped rows (``sample_prior``: a Fit whose posterior is
the prior), with its pointwise log-likelihood, saved as a fit folder for the command-line tests. Prior draws make
the numbers meaningless; what is checked is where each draw comes from (the same family level, fine-tuner effect
and mixture as the fit's own rows), which rows are refused and why, and that the check's summaries count right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from arviz_stats import eti

from bayes_sauce.cli.main import main
from bayes_sauce.data.load import load
from bayes_sauce.intervals import QUANTILE_METHOD, median_interval
from bayes_sauce.model.new_rows import PredictionError, dataset_frame
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.predictive.base_models import EXCLUDED, NOT_A_BASE, UNKNOWN, resolve_bases
from bayes_sauce.predictive.finetune_check import finetune_check, held_out_frame, summarise
from bayes_sauce.predictive.new_models import KNOWN, NEW, new_model_rows
from bayes_sauce.predictive.predict import predict, predict_models
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.quantities.explain import explain, file_stem
from bayes_sauce.reporting.explanation import explanation_text
from bayes_sauce.spec.schema import load_spec

QWEN = "Qwen__Qwen2.5-7B"  # a family of the shipped data with its root (Qwen/Qwen2.5-7B) and dozens of fine-tunes


@pytest.fixture(scope="module")
def prior_fit():
    spec = load_spec(DEFAULT_SPEC)
    fit = sample_prior(spec, load(None, spec.data.filters.to_filters()), draws=60, seed=5)
    pm.compute_log_likelihood(fit.tree, model=fit.fitted_model, progressbar=False)
    return fit


@pytest.fixture(scope="module")
def fit_dir(prior_fit, tmp_path_factory):
    """The prior fit as a fit folder (a sample_stats group added: a fit folder has one)."""
    tree = prior_fit.tree.copy()
    tree["sample_stats"] = xr.Dataset({"diverging": xr.zeros_like(prior_fit.posterior["beta"], dtype=bool)})
    folder = tmp_path_factory.mktemp("prior") / "fit"
    type(prior_fit)(spec=prior_fit.spec, rows=prior_fit.rows, excluded=prior_fit.excluded, tree=tree,
                    diagnostics=prior_fit.diagnostics).save(folder)
    return folder


def _user(**columns) -> pd.DataFrame:
    return pd.DataFrame([columns])


# --- which family a base model is -------------------------------------------------------------------------------

def test_a_base_is_found_by_repo_family_model_or_leaderboard_id_and_through_the_lineage():
    rows = load().models
    families = sorted(rows["family"].unique())
    instruct = rows.set_index("model_id").loc["Qwen__Qwen2.5-7B-Instruct"]
    names = ["Qwen/Qwen2.5-7B", "qwen__qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct", instruct["hf_id"],
             "meta-llama/Meta-Llama-3.1-8B-Instruct"]
    found = resolve_bases(names, rows, families, None)
    assert [found[n].family for n in names[:4]] == [QWEN] * 4
    assert found["Qwen/Qwen2.5-7B-Instruct"].how.startswith("model") and found[instruct["hf_id"]].how.startswith(
        "leaderboard id")
    # Not a row of the data: the leaderboard extract leads from it to its base's family, as for a base_model column.
    llama = found["meta-llama/Meta-Llama-3.1-8B-Instruct"]
    assert llama.how == "lineage" and llama.family in families and "Llama-3.1-8B" in llama.family


def test_unknown_excluded_and_non_base_names_are_refused_with_the_reason():
    rows = load().models
    families = sorted(rows["family"].unique())
    size = rows.groupby("family")["model_id"].transform("size")
    orphan = rows[(rows["family_source"] == "none") & (size == 1)].iloc[0]
    kept = rows[rows["model_id"] != "Qwen__Qwen2.5-7B"]
    excluded = pd.DataFrame({"model_id": ["Qwen__Qwen2.5-7B"], "reason": ["majors_only filter"]})
    found = resolve_bases(["Qwen/Qwen3-8B-Base", orphan["model_id"], "zz/no-such-model-anywhere"], rows, families,
                          None)
    assert found["Qwen/Qwen3-8B-Base"].kind == UNKNOWN and "closest: " in found["Qwen/Qwen3-8B-Base"].problem
    assert "Qwen__Qwen2" in found["Qwen/Qwen3-8B-Base"].problem
    assert found[orphan["model_id"]].kind == NOT_A_BASE and "not a base model" in found[orphan["model_id"]].problem
    # A model of unknown lineage that other models name as their base stands for their family (as in the data).
    named = rows[(rows["family_source"] == "none") & (size >= 2)].iloc[0]
    assert resolve_bases([named["model_id"]], rows, families, None)[named["model_id"]].family == named["family"]
    assert found["zz/no-such-model-anywhere"].refused(new_family=False)
    assert not found["zz/no-such-model-anywhere"].refused(new_family=True)
    # A base the fit excluded (its family gone with it): refused whatever the flag, with the reason.
    gone = resolve_bases(["Qwen/Qwen2.5-7B"], kept[kept["family"] != QWEN], [f for f in families if f != QWEN],
                         excluded)["Qwen/Qwen2.5-7B"]
    assert gone.kind == EXCLUDED and "majors_only filter" in gone.problem and gone.refused(new_family=True)


# --- user rows ----------------------------------------------------------------------------------------------------

def test_a_fine_tune_takes_its_base_s_compute_period_and_developer(prior_fit):
    fit = prior_fit
    rows = new_model_rows(pd.concat([_user(base_model="Qwen/Qwen2.5-7B", developer="some-new-lab"),
                                     _user(base_model="Qwen/Qwen2.5-7B", developer="some-new-lab", params_b="3",
                                           release_month="2026-05")]), fit)
    fam, design = fit.design.families, fit.design
    f = design.coords["family"].index(QWEN)
    root = fit.rows.set_index("model_id").loc[QWEN]
    assert rows["predicted_as"].tolist() == [KNOWN, KNOWN] and rows["family"].tolist() == [QWEN, QWEN]
    assert rows["base_developer"].tolist() == ["Qwen", "Qwen"] and rows["is_finetune"].all()
    assert rows["period"].tolist() == [design.coords["period"][fam.period_idx[f]]] * 2  # the family's, not 2026's
    assert rows["log10_flops"].iloc[0] == pytest.approx(fam.x_c[f] + design.c0)
    # A pruned model gives its size; its tokens are its base's.
    assert rows["log10_flops"].iloc[1] == pytest.approx(np.log10(6 * 3e9 * root["tokens_b"] * 1e9))
    assert rows["extrapolation"].tolist() == ["", ""]  # a fine-tune's date does not enter


@pytest.mark.parametrize(("columns", "message"), [
    ({"params_b": "inf"}, "params_b must be finite"),
    ({"tokens_b": "-inf"}, "tokens_b must be a positive number"),
    ({"release_month": "2024"}, "release_month must be a date"),
    ({"release_month": "2024-13"}, "release_month must be a date"),
    ({"is_closed": "maybe"}, "is_closed must be true or false, got \\['maybe'\\]"),
    ({"params_b": "1e300", "tokens_b": "1e300"}, "overflows"),
    ({"params": "7"}, "unknown column\\(s\\) \\['params'\\]"),
    ({"base_model": "Qwen/Qwen2.5-7B", "params_b": None, "tokens_b": None, "flops": "many"},
     "flops must be a positive number"),
])
def test_bad_input_is_refused_as_the_data_reader_refuses_it(prior_fit, columns, message):
    row = {"params_b": "7", "tokens_b": "2000", "developer": "Meta", "release_month": "2024-05"} | columns
    with pytest.raises(PredictionError, match=message):
        new_model_rows(_user(**{k: v for k, v in row.items() if v is not None}), prior_fit)


def test_missing_columns_are_named(prior_fit):
    with pytest.raises(PredictionError, match=r"my.csv: missing column\(s\) \['release_month'\]"):
        new_model_rows(_user(params_b="7", tokens_b="2000", developer="Meta"), prior_fit, source="my.csv")
    with pytest.raises(PredictionError, match=r"missing column\(s\) \['developer'\]"):
        new_model_rows(_user(base_model="Qwen/Qwen2.5-7B"), prior_fit)


def test_extrapolation_past_the_data_is_noted(prior_fit):
    top = prior_fit.rows["log10_flops"].max()
    rows = new_model_rows(pd.concat([
        _user(flops=f"{10 ** (top + 2.4):.6g}", developer="Meta", release_month="2024-05"),
        _user(params_b="7", tokens_b="2000", developer="Meta", release_month="2099-01"),
        _user(base_model="Qwen/Qwen2.5-7B", developer="lab", release_month="2099-01")]), prior_fit,
        extend_last_cohort=True)
    notes = rows["extrapolation"].tolist()
    assert notes[0].startswith("compute 2.4 decades above the fit's largest")
    assert "after the fit's last cohort" in notes[1] and "months" not in notes[0]
    assert notes[2] == ""


# --- the draws ------------------------------------------------------------------------------------------------------

def test_the_user_path_predicts_a_fine_tune_as_the_fit_s_own_rows_do(prior_fit):
    """A fine-tune asked for by its base (user path) and the same row of the data (dataset path) get the same family
    level, fine-tuner effect and within-family compute in every draw; the fine-tuner's fitted effect is used."""
    fit = prior_fit
    fam = fit.design.families
    sampled = set(np.asarray(fit.design.coords["finetuner"])[fam.finetunes_per_finetuner >= 2])
    tune = fit.rows[(fit.rows["family"] == QWEN) & ~fit.rows["is_root"] & fit.rows["developer"].isin(sampled)].iloc[0]
    user = new_model_rows(_user(model="u", base_model="Qwen/Qwen2.5-7B", developer=tune["developer"].lower(),
                                params_b=str(tune["params_b"]), tokens_b=str(tune["tokens_b"])), fit)
    data = dataset_frame(fit.rows[fit.rows["model_id"] == tune["model_id"]], fit.spec.data.time).assign(model="d")
    draws = predict(fit, pd.concat([user, data], ignore_index=True), seed=3)
    np.testing.assert_allclose(draws["mean"].isel(new_model=0), draws["mean"].isel(new_model=1), rtol=1e-12)
    assert draws["finetuner_effect"].values.tolist() == ["fitted", "fitted"]
    effect = fit.posterior["finetuner_effect"].sel(finetuner=tune["developer"])
    root = dataset_frame(fit.rows[fit.rows["model_id"] == QWEN], fit.spec.data.time).assign(model="r")
    level = predict(fit, root, seed=3)["mean"].isel(new_model=0)  # the family's level at the root's compute
    within = fit.posterior["beta_within"] * (tune["log10_flops"] - fit.rows.set_index("model_id").loc[QWEN, "log10_flops"])
    np.testing.assert_allclose(draws["mean"].isel(new_model=0), level + effect + within, rtol=1e-9)


def test_the_mixture_applies_to_a_fine_tune_beside_other_members(prior_fit):
    """P(damaged), P(failure): a fine-tune of a fitted family has them (also of a family of one: the new model is
    compared with its member), a fitted model of a family of one predicted as itself does not, nor a new pretraining
    run; the three shares are the mixture's weights, the same for every compared fine-tune in a draw."""
    fit = prior_fit
    size = fit.rows.groupby("family")["model_id"].transform("size")
    alone = fit.rows[(size == 1) & fit.rows["is_root"]].iloc[0]
    rows = pd.concat([
        new_model_rows(pd.concat([_user(base_model="Qwen/Qwen2.5-7B", developer="lab"),
                                  _user(base_model=alone["model_id"], developer="lab"),
                                  _user(params_b="7", tokens_b="2000", developer="Meta", release_month="2024-05")]), fit),
        dataset_frame(fit.rows[fit.rows["model_id"] == alone["model_id"]], fit.spec.data.time).assign(is_finetune=True),
    ], ignore_index=True)
    draws = predict(fit, rows, seed=1)
    p_failure, p_damaged = draws["p_failure"].mean(("chain", "draw")).values, draws["p_damaged"].mean(("chain", "draw")).values
    assert (p_failure[:2] > 0).all() and (p_damaged[:2] > 0).all()
    assert p_failure[2] == p_damaged[2] == 0 and p_failure[3] == p_damaged[3] == 0
    np.testing.assert_array_equal(draws["p_failure"].isel(new_model=0), draws["p_failure"].isel(new_model=1))


def test_new_fine_tuners_share_one_fresh_effect_and_an_unknown_base_needs_the_flag(prior_fit):
    fit = prior_fit
    frame = pd.concat([_user(base_model="Qwen/Qwen2.5-7B", developer=d) for d in ("lab-a", "lab-a", "lab-b")])
    draws = predict(fit, new_model_rows(frame, fit), seed=2)
    mean = draws["mean"].stack(sample=("chain", "draw")).values
    np.testing.assert_array_equal(mean[0], mean[1])
    assert np.abs(mean[0] - mean[2]).min() > 0 and draws["finetuner_effect"].values.tolist() == ["fresh"] * 3
    new = _user(base_model="Qwen/Qwen3-8B-Base", developer="lab-a", params_b="8.2", tokens_b="36000",
                release_month="2025-02")
    with pytest.raises(PredictionError, match="closest: .*; or pass --new-family"):
        new_model_rows(new, fit)
    with pytest.raises(PredictionError, match="release month 2025-02 is in cohort 2024q3-2025q1|extend-last-cohort"):
        new_model_rows(new.assign(release_month="2025-06"), fit, new_family=True)
    table = predict_models(fit, new, new_family=True)
    assert table.loc[0, "predicted_as"] == NEW and table.loc[0, "base_developer"] == "Qwen"  # its organisation's
    assert table.loc[0, "finetuner_effect"] == "fresh" and table.loc[0, "p_failure"] == 0  # a family of one
    assert table.loc[0, "score_lo"] < table.loc[0, "score_median"] < table.loc[0, "score_hi"]


# --- the command --------------------------------------------------------------------------------------------------

def test_predict_command_with_a_base_model_and_its_bad_input(fit_dir, tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["predict", str(fit_dir), "--base-model", "Qwen/Qwen2.5-7B", "--developer", "some-new-lab",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert table.loc[0, "predicted_as"] == KNOWN and table.loc[0, "family"] == QWEN
    assert {"p_damaged", "p_failure", "score_median", "score_lo", "score_hi"} <= set(table.columns)
    assert "predicted as fine-tunes of a fitted family" in capsys.readouterr().out
    csv = tmp_path / "in.csv"
    pd.DataFrame({"model": ["a", "b"], "base_model": ["Qwen/Qwen2.5-7B", ""], "developer": ["lab", "Meta"],
                  "params_b": ["", "7000"], "tokens_b": ["", "90000"], "release_month": ["", "2024-05"]}).to_csv(
        csv, index=False)
    assert main(["predict", str(fit_dir), "--csv", str(csv), "--out", str(out)]) == 0
    assert pd.read_csv(out)["predicted_as"].tolist() == [KNOWN, NEW]
    assert "warning: b: extrapolated past the data: compute" in capsys.readouterr().err
    pd.read_csv(csv).assign(is_closed=["maybe", "no"]).to_csv(csv, index=False)
    assert main(["predict", str(fit_dir), "--csv", str(csv), "--out", str(out)]) == 2
    assert "line(s) 2: is_closed must be true or false, got ['maybe']" in capsys.readouterr().err
    pd.read_csv(csv).drop(columns="is_closed").assign(size="7B").to_csv(csv, index=False)
    assert main(["predict", str(fit_dir), "--csv", str(csv), "--out", str(out)]) == 2
    assert "unknown column(s) ['size']" in capsys.readouterr().err
    base = ["predict", str(fit_dir), "--developer", "Meta", "--out", str(out)]
    for args, message in ((["--params", "inf", "--tokens", "100", "--date", "2024-05"], "params_b must be finite"),
                          (["--params", "7", "--tokens", "100", "--date", "2024"], "release_month must be a date"),
                          (["--base-model", "Qwen/Qwen9-1B"], "no family of the fit")):
        assert main([*base, *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    for level in ("1.5", "0", "-0.5"):
        with pytest.raises(SystemExit) as stop:
            main([*base, "--base-model", "Qwen/Qwen2.5-7B", "--level", level])
        assert stop.value.code == 2 and "between 0 and 1" in capsys.readouterr().err


# --- the held-out check -------------------------------------------------------------------------------------------

def test_summarise_counts_coverage_and_errors():
    table = pd.DataFrame({"observed": [0.50, 0.40, 0.30, 0.60], "loo_median": [0.51, 0.40, 0.36, 0.50],
                          "loo_q05": [0.45, 0.35, 0.31, 0.40], "loo_q25": [0.49, 0.41, 0.33, 0.45],
                          "loo_q75": [0.52, 0.45, 0.37, 0.55], "loo_q95": [0.55, 0.50, 0.40, 0.62],
                          "base_score": [0.52, np.nan, 0.33, 0.50], "pit": [0.3, 0.1, 0.02, 0.9],
                          "pareto_k": [0.1, 0.8, 0.2, 0.3], "finetuner_effect": ["fitted", "fresh", "fitted", "fresh"]})
    s = summarise(table)
    assert s["n"] == 4 and s["coverage_90"] == 0.75 and s["coverage_50"] == 0.25  # model 3 is below its q05
    assert s["median_abs_error_points"] == pytest.approx(np.median([1, 0, 6, 10]))
    assert s["n_base_in_data"] == 3 and s["median_abs_error_points_base_in_data"] == pytest.approx(6)
    assert s["naive_base_score_median_abs_error_points"] == pytest.approx(3)
    assert s["pareto_k_above_0_7"] == 1 and s["by_finetuner_effect"]["fresh"]["n"] == 2


def test_held_out_check_asks_predict_for_every_fine_tune_of_a_family_of_two_or_more(prior_fit, fit_dir, capsys):
    fit = prior_fit
    summary, table = finetune_check(fit, seed=1)
    size = fit.rows.groupby("family")["model_id"].transform("size")
    expected = fit.rows.loc[~fit.rows["is_root"] & (size >= 2), "model_id"].tolist()
    assert table["model_id"].tolist() == expected == held_out_frame(fit)["model"].tolist()
    assert summary["n"] == len(expected) and ((table["pit"] >= 0) & (table["pit"] <= 1)).all()
    assert (table["loo_q05"] <= table["loo_median"]).all() and (table["loo_median"] <= table["loo_q95"]).all()
    roots = fit.rows[fit.rows["is_root"]].set_index("family")[fit.spec.data.outcome]
    np.testing.assert_allclose(table["base_score"], table["family"].map(roots))
    assert main(["predict-check", str(fit_dir), "--out", str(fit_dir.parent / "check")]) == 0
    assert "90% intervals hold" in capsys.readouterr().out
    assert (fit_dir.parent / "check" / "summary.json").exists()


# --- explain ------------------------------------------------------------------------------------------------------

def test_explain_shows_the_expected_score_and_credits_the_base_developer(prior_fit):
    fit = prior_fit
    tune = fit.rows[(fit.rows["family"] == QWEN) & (fit.rows["developer"] != "Qwen")].iloc[0]
    e = explain(fit, tune["model_id"], 3)
    parts = e.parts.set_index("part")
    assert e.developer == "Qwen" and e.finetuner == tune["developer"]
    expected = parts.loc["expected_score"]
    assert expected["lo"] < expected["median"] < expected["hi"]  # not the observed score with a zero-width interval
    np.testing.assert_allclose(parts.loc["finetuner_effect", ["median", "lo", "hi"]].astype(float),
                               median_interval(fit.posterior["finetuner_effect"].sel(finetuner=tune["developer"]),
                                               fit.prob).sel(quantile=["median", "lo", "hi"]).values)
    text = explanation_text(e, fit.prob, fit.spec.data.outcome)
    assert f"fine-tuned by {tune['developer']}" in text and "developer (Qwen)" in text
    assert "instead of Qwen's (the base model's developer" in text
    assert f"instead of {tune['developer']}'s" not in text
    assert "expected" in e.relatives.columns[e.relatives.columns.str.startswith("expected")][0]


def test_explain_file_names_keep_non_ascii_ids_apart():
    assert file_stem("org__模型") != file_stem("org__数据")
    assert file_stem("meta-llama__Llama-2-70b-hf") == "meta-llama__Llama-2-70b-hf"
    assert file_stem("org/a b").startswith("org-a-b-")


def test_median_interval_is_arviz_s_equal_tailed_interval():
    values = xr.DataArray(np.random.default_rng(0).standard_t(3, size=(4, 250, 3)), dims=("chain", "draw", "x"))
    ours = median_interval(values, 0.9)
    theirs = eti(values, prob=0.9, dim=["chain", "draw"], method=QUANTILE_METHOD)
    np.testing.assert_array_equal(ours.sel(quantile="lo"), theirs.isel(ci_bound=0))
    np.testing.assert_array_equal(ours.sel(quantile="hi"), theirs.isel(ci_bound=1))


def test_explain_a_hypothetical_fine_tune_beside_its_family(fit_dir, capsys):
    assert main(["explain", str(fit_dir), "--base-model", "Qwen/Qwen2.5-7B", "--developer", "some-new-lab",
                 "--relatives", "3"]) == 0
    out = capsys.readouterr().out
    assert "a new member of the family Qwen__Qwen2.5-7B (its level, base developer Qwen" in out
    assert "P(damaged fine-tune)" in out and "a fresh fine-tuner effect" in out
    listed = [line.split()[0] for line in out.split("from its base-model family")[1].strip().splitlines()[1:]]
    rows = pd.read_csv(fit_dir / "models.csv").set_index("model_id")
    assert len(listed) == 3 and (rows.loc[listed, "family"] == QWEN).all()
    assert main(["explain", "Qwen__Qwen2.5-7B", str(fit_dir), "--base-model", "Qwen/Qwen2.5-7B",
                 "--developer", "lab"]) == 2
    assert "not both" in capsys.readouterr().err
