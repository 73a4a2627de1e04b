"""Curated dataset: agreement with the paper, regeneration, validation messages and filters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_sauce.cli.main import main
from bayes_sauce.data.curation import build_annotations
from bayes_sauce.data.derive import derive
from bayes_sauce.data.filters import Filters
from bayes_sauce.data.load import load
from bayes_sauce.data.read import DataValidationError, read_input, validate
from bayes_sauce.data.schema import ANNOTATIONS_PATH, CURATED_PATH
from bayes_sauce.data.summary import compute_range_ratio, stata_percentile

from .conftest import AUTHORS_CSV, RAW_DIR

PAPER_MAJOR_COUNTS = {
    "DeepSeek": 5, "Qwen": 42, "Meta": 17, "Google": 19, "Microsoft": 13,
    "OpenAI": 2, "Anthropic": 2, "xAI": 1, "01-AI": 14, "Nvidia": 7,
}


@pytest.fixture(scope="module")
def shipped():
    return load().models


def test_shipped_dataset_matches_paper_counts(shipped):
    assert len(shipped) == 809
    assert shipped["cohort"].value_counts().to_dict() == {"2022q4-2023q3": 29, "2023q4-2024q2": 134, "2024q3-2025q1": 646}
    majors = shipped.loc[shipped["is_major"], "developer_group"].value_counts().to_dict()
    assert majors == PAPER_MAJOR_COUNTS
    assert sum(majors.values()) == 122
    others = shipped["developer_group"].value_counts()
    assert (others["Other-Small"], others["Other-Med"], others["Other-Large"]) == (215, 468, 4)
    assert shipped["developer_raw"].nunique() == 256
    assert shipped["mmlu_pro"].min() == pytest.approx(0.1049, abs=5e-5)
    assert shipped["mmlu_pro"].median() == pytest.approx(0.347, abs=5e-4)
    assert shipped["mmlu_pro"].max() == pytest.approx(0.861, abs=5e-5)
    assert round(compute_range_ratio(shipped["log10_flops"])) == 1321
    assert int(shipped["tokens_inherited"].sum()) == 554


def test_shipped_file_equals_its_regeneration(raw_authors_frame):
    regenerated = derive(validate(read_input(AUTHORS_CSV)), build_annotations(RAW_DIR))
    shipped = pd.read_csv(CURATED_PATH, dtype={"hf_id": str})
    pd.testing.assert_frame_equal(
        shipped, regenerated.astype({"cohort": object}), check_dtype=False, check_exact=False, rtol=1e-12
    )
    shipped_ann = pd.read_csv(ANNOTATIONS_PATH, dtype={"oll_moe": "boolean"})
    pd.testing.assert_frame_equal(shipped_ann, build_annotations(RAW_DIR), check_dtype=False)


def test_derived_columns_agree_with_authors_columns(raw_authors_frame):
    authors_frame = raw_authors_frame
    models = load(AUTHORS_CSV).models
    np.testing.assert_allclose(models["log10_flops"], authors_frame["Log(FLOPs)"].astype(float), atol=1e-6)
    np.testing.assert_allclose(models["ln_flops_1e18"], authors_frame["Ln(FLOPs)"].astype(float), atol=1e-5)
    assert (models["cohort"].to_numpy() == authors_frame["Three Time Split"].to_numpy()).all()
    labels = authors_frame["Dummy for Top Company"].replace(
        {"Other, Small": "Other-Small", "Other, Med": "Other-Med", "Other, Large": "Other-Large",
         "Deepseek": "DeepSeek", "X-AI": "xAI"})
    folded = labels.isin(["Mistral", "Tencent"])
    assert (models.loc[~folded, "developer_group"].to_numpy() == labels[~folded].to_numpy()).all()
    assert set(models.loc[folded, "developer_group"]) <= {"Other-Small", "Other-Med", "Other-Large"}


def test_stata_percentile_definition():
    x = np.arange(1, 21, dtype=float)  # n=20: p5 -> n*p = 1 (integer) -> mean of 1st and 2nd
    assert stata_percentile(x, 5) == 1.5
    assert stata_percentile(x, 7) == 2.0  # 1.4 -> next order statistic
    assert stata_percentile(x, 95) == 19.5


# --- validation: each rule names the row (file line) or the column -------------------------------

def _small(authors_frame, n=6):
    return authors_frame.head(n).copy()


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda f: f.drop(columns=["Parameters (Billions)"]), "Parameters (Billions)"),
        (lambda f: f.assign(**{"Parameters (Billions)": ["7", "abc", "7", "7", "7", "7"]}), "line(s) 3"),
        (lambda f: f.assign(**{"Parameters (Billions)": ["7", "7", "0", "7", "7", "7"]}), "'params_b' must be positive; line(s) 4"),
        (lambda f: f.assign(**{"Total Dataset Tokens": ["-5", "", "", "", "", ""]}), "'tokens_total_b' must be positive; line(s) 2"),
        (lambda f: f.assign(**{"Total Dataset Tokens": "", "Basemodel Dataset Tokens": ["", "1", "1", "1", "1", "1"]}),
         "line(s) 2 have neither"),
        (lambda f: f.assign(**{"MMLU Pro Raw Score": ["0.3", "0.3", "0.3", "0.3", "1.2", "0.3"]}), "'mmlu_pro' must lie in [0, 1]; line(s) 6"),
        (lambda f: f.assign(**{"Raw MATH Level 5 Score": ["-0.1", "0", "0", "0", "0", "0"]}), "'math_l5' must lie in [0, 1]; line(s) 2"),
        (lambda f: f.assign(Model=["a", "b", "a", "c", "d", "e"]), "duplicate model id(s) ['a'] in line(s) 2, 4"),
        (lambda f: f.assign(**{"Month of Model Release": ["45413", "45413", "May 2024?", "45413", "45413", "45413"]}),
         "not in a known format in line(s) 4"),
        (lambda f: f.assign(**{"Dummy for Top Company": ["01-AI", "Mistal", "01-AI", "01-AI", "01-AI", "01-AI"]}),
         "unknown developer label(s) ['Mistal']"),
        (lambda f: f.assign(**{"Model Developer (str)": ["01-ai", "", "01-ai", "01-ai", "01-ai", "01-ai"]}),
         "'developer_raw' is empty in line(s) 3"),
    ],
    ids=["missing-column", "non-numeric", "non-positive-params", "non-positive-tokens", "no-tokens",
         "score-above-1", "math-below-0", "duplicate-id", "bad-date", "unknown-label", "empty-developer"],
)
def test_validation_errors_name_rows_and_columns(authors_frame, write_csv, mutate, expected):
    path = write_csv(mutate(_small(authors_frame)))
    with pytest.raises(DataValidationError) as err:
        load(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_cli_reports_invalid_data_and_exits_nonzero(authors_frame, write_csv, capsys):
    bad = _small(authors_frame).assign(**{"MMLU Pro Raw Score": "high"})
    assert main(["data", "--data", str(write_csv(bad))]) == 2
    assert "'mmlu_pro' is not numeric" in capsys.readouterr().err


def test_scores_at_chance_floor_are_legal_data(authors_frame, write_csv):
    frame = _small(authors_frame).assign(**{"MMLU Pro Raw Score": ["0.1", "0.05", "0.3", "0.3", "0.3", "0.3"]})
    models = load(write_csv(frame)).models
    assert len(models) == 6
    assert models["mmlu_pro_norm"].iloc[1] < 0


def test_iso_dates_accepted_and_outside_window_excluded_with_reason(authors_frame, write_csv):
    frame = _small(authors_frame).assign(**{"Month of Model Release": ["2024-05-01", "2025-06-01", "45413", "45413", "45413", "45413"]})
    dataset = load(write_csv(frame))
    assert len(dataset.models) == 5
    row = dataset.excluded.iloc[0]
    assert row["model_id"] == frame["Model"].iloc[1]
    assert "outside the window 2022-10..2025-03" in row["reason"]
    unwindowed = load(write_csv(frame, "b.csv"), Filters(window=None)).models
    assert unwindowed["cohort"].iloc[1] == "2025q2-2025q4"  # the first nine-month cohort after the paper's


@pytest.mark.parametrize(
    "filters, expected_kept, reason",
    [
        (Filters(majors_only=True), 122, "majors_only"),
        (Filters(leaderboard_only=True), 798, "leaderboard_only"),
        (Filters(no_size_estimates=True), 802, "no_size_estimates"),
        (Filters(total_tokens_only=True), 255, "total_tokens_only"),
    ],
)
def test_filters_report_every_exclusion(filters, expected_kept, reason):
    dataset = load(filters=filters)
    assert len(dataset.models) == expected_kept
    assert len(dataset.excluded) == 809 - expected_kept
    assert dataset.excluded["reason"].str.contains(reason).all()


def test_other_bins_follow_developer_mean_compute(authors_frame, write_csv):
    frame = _small(authors_frame, 3).assign(**{
        "Dummy for Top Company": "Other, Small", "Model Developer (str)": ["tiny", "tiny", "big"],
        "Parameters (Billions)": ["0.01", "0.01", "500"], "Total Dataset Tokens": ["10", "10", "20000"],
    })
    groups = load(write_csv(frame)).models.set_index("developer_raw")["developer_group"]
    assert groups["tiny"].iloc[0] == "Other-Small"  # ln(6*0.01*10) < 12
    assert groups["big"] == "Other-Large"  # ln(6*500*20000) > 15.5


def test_cli_data_prints_summary_and_writes_figure(tmp_path, capsys):
    assert main(["data", "--out", str(tmp_path), "--majors-only"]) == 0
    printed = capsys.readouterr().out
    assert "Models kept: 122" in printed
    assert "687  not one of the ten major developers" in printed
    assert (tmp_path / "score_vs_compute.png").stat().st_size > 10_000
    assert len(pd.read_csv(tmp_path / "excluded.csv")) == 687
