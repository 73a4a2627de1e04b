"""A user's newer models: the period rule after the paper's window, filter flags on every command, new
developers and the whole chain (`run --all-dates`, `report`, `predict`) on a file with models of 2025-2026."""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest

from bayes_sauce.cli.main import build_parser, main
from bayes_sauce.cli.options import filters
from bayes_sauce.data.filters import Filters
from bayes_sauce.data.load import load
from bayes_sauce.data.schema import CURATED_PATH
from bayes_sauce.fit.fit import Fit
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.periods import COHORTS, cohort_bounds, cohort_labels
from bayes_sauce.quantities import headline
from bayes_sauce.spec.schema import load_spec
from .conftest import authors_schema
from .stand_in import prior_sampling

# Models released after the paper's window (2025-04 .. 2026-06), in the authors' schema. Their sizes are
# of the kind such models have; the scores are made up for the test (self-reported: no Hugging Face id).
NEW_MODELS = [
    # Model, developer, label, params (B), total tokens (B), base tokens (B), release, MMLU-Pro
    ("Qwen__Qwen3-8B-Base", "Qwen", "Qwen", "8.19", "36000", "", "2025-04-01", "0.52"),
    ("meta-llama__Llama-next-70B", "meta-llama", "Meta", "70", "30000", "", "45931", "0.60"),  # Excel day: 2025-10
    ("aurora-lab__Aurora-32B", "aurora-lab", "Other", "32", "20000", "", "2025-07-01", "0.50"),
    ("aurora-lab__Aurora-32B-Instruct", "aurora-lab", "Other", "32", "", "20000", "2026-01-01", "0.55"),
    ("tinyco__Tiny-0.5B", "tinyco", "Other", "0.5", "8000", "", "2026-03-01", "0.20"),
    ("Qwen__Qwen-next-14B", "Qwen", "Qwen", "14.8", "40000", "", "2026-06-01", "0.62"),
]
NEW_IDS = [m[0] for m in NEW_MODELS]
NEW_COHORTS = ["2025q2-2025q4", "2026q1-2026q3"]


def test_cohorts_continue_the_papers_outside_its_window():
    months = pd.Series(pd.PeriodIndex(["2021-09", "2021-10", "2022-09", "2022-10", "2024-06", "2024-07", "2025-03",
                                       "2025-04", "2025-12", "2026-01", "2026-09", "2026-10"], freq="M"))
    assert cohort_labels(months).tolist() == [
        "2020q4-2021q3", "2021q4-2022q3", "2021q4-2022q3",  # twelve months, like the paper's first
        "2022q4-2023q3", "2023q4-2024q2", "2024q3-2025q1", "2024q3-2025q1",  # the paper's
        "2025q2-2025q4", "2025q2-2025q4", "2026q1-2026q3", "2026q1-2026q3", "2026q4-2027q2",  # nine months
    ]
    for label, start, end in COHORTS:
        assert cohort_bounds(label) == (pd.Period(start, "M"), pd.Period(end, "M"))
    assert cohort_bounds("2026q1-2026q3") == (pd.Period("2026-01", "M"), pd.Period("2026-09", "M"))


def test_filter_flags_replace_only_the_filters_they_name():
    spec = load_spec(DEFAULT_SPEC)
    majors = Filters(majors_only=True)
    parse = build_parser().parse_args
    assert filters(parse(["fit", "--all-dates"]), majors) == Filters(window=None, majors_only=True)
    assert filters(parse(["fit", "--leaderboard-only"]), majors) == Filters(majors_only=True, leaderboard_only=True)
    assert filters(parse(["fit"]), majors) == majors
    assert filters(parse(["fit", "--window", "2024-01", "2026-06"]), None).window == ("2024-01", "2026-06")
    with pytest.raises(SystemExit):  # --window and --all-dates contradict each other
        parse(["fit", "--window", "2024-01", "2026-06", "--all-dates"])
    # "All dates" survives the spec's round trip through a fit's attrs, and has its own fingerprint.
    from bayes_sauce.fit.fit import fingerprint
    from bayes_sauce.spec.schema import spec_from_dict

    unwindowed = spec.with_filters(Filters(window=None))
    assert spec_from_dict(unwindowed.to_dict()).data.filters.window is None
    assert fingerprint(unwindowed, "x") != fingerprint(spec, "x")


def test_compare_backtest_and_sweeps_take_the_flags_over_their_specs(tmp_path, capsys):
    from bayes_sauce.cli.evaluation import _bayes_specs
    from bayes_sauce.cli.options import filter_overrides
    from bayes_sauce.paths import MODELS_DIR
    from bayes_sauce.spec.schema import spec_from_dict
    from bayes_sauce.spec.sweep import read_sweep

    parse = build_parser().parse_args
    specs = _bayes_specs([DEFAULT_SPEC, MODELS_DIR / "quarter_rw.toml"],
                         parse(["compare", "--all-dates", "--leaderboard-only"]), "compare")
    assert {s.data.filters.to_filters() for s in specs.values()} == {Filters(window=None, leaderboard_only=True)}
    assert "Rows: all dates, leaderboard_only" in capsys.readouterr().out
    # A sweep: the flags replace the base's filters; each subsample variant keeps its own.
    sweep = read_sweep(MODELS_DIR / "sensitivity" / "default.toml", None,
                       filter_overrides(parse(["sensitivity", "x.toml", "--all-dates"])))
    by_name = {v.name: spec_from_dict(v.spec).data.filters for v in sweep.variants}
    assert by_name["default"].window is None and by_name["majors_only"].majors_only
    assert by_name["majors_only"].window is None
    # backtest scores every method on one set of rows: a spec filtering otherwise is refused before fitting.
    majors = tmp_path / "majors.toml"
    majors.write_text(DEFAULT_SPEC.read_text().replace("[data.filters]", "[data.filters]\nmajors_only = true"))
    assert main(["backtest", str(majors), "--cutoff", "2024q3", "--out", str(tmp_path / "bt")]) == 2
    assert "filter the rows otherwise than the OLS baseline" in capsys.readouterr().err
    assert not (tmp_path / "bt").exists()


def test_a_new_base_model_named_its_own_base_founds_a_family(authors_frame, write_csv):
    rows = pd.DataFrame([
        {"Model": "Qwen__Qwen3-8B-Base", "base_model": "Qwen/Qwen3-8B-Base", "Total Dataset Tokens": "36000"},
        {"Model": "somelab__Qwen3-8B-tuned", "base_model": "Qwen/Qwen3-8B-Base", "Basemodel Dataset Tokens": "36000"},
        {"Model": "otherlab__Qwen3-8B-merge", "base_model": "", "Basemodel Dataset Tokens": "36000"},
    ]).assign(**{"Model Developer (str)": lambda f: f["Model"].str.split("__").str[0], "Dummy for Top Company": "Other",
                 "Parameters (Billions)": "8.19", "Month of Model Release": "2025-06-01", "MMLU Pro Raw Score": "0.5"})
    frame = pd.concat([authors_frame.head(40), rows], ignore_index=True).fillna("")
    models = load(write_csv(frame), Filters(window=None)).models.set_index("model_id")
    new = models.loc[rows["Model"], ["family", "family_source", "is_root", "family_root_in_data"]]
    assert new.loc["Qwen__Qwen3-8B-Base"].tolist() == ["Qwen__Qwen3-8B-Base", "user", True, True]
    assert new.loc["somelab__Qwen3-8B-tuned"].tolist() == ["Qwen__Qwen3-8B-Base", "user", False, True]
    # A family the user declares is not one inference assigns to: a fine-tune joins it by its own base_model.
    assert new.loc["otherlab__Qwen3-8B-merge", "family_source"] == "none"
    assert models.loc[rows["Model"], "cohort"].eq("2025q2-2025q4").all()


def _newer_file(path) -> None:
    """~70 shipped rows in the authors' schema (a few per group and the paper's named models) plus NEW_MODELS."""
    curated = pd.read_csv(CURATED_PATH, dtype=str, keep_default_na=False)
    named = curated["model_id"].isin(headline.PAPER_MODELS.values())
    old = authors_schema(curated[named | curated.groupby("developer_group").cumcount().lt(5)])
    new = pd.DataFrame([dict(zip(["Model", "Model Developer (str)", "Dummy for Top Company", "Parameters (Billions)",
                                  "Total Dataset Tokens", "Basemodel Dataset Tokens", "Month of Model Release",
                                  "MMLU Pro Raw Score"], m)) for m in NEW_MODELS])
    pd.concat([old, new], ignore_index=True).fillna("").to_csv(path, index=False)


@pytest.fixture(scope="module")
def newer_run(tmp_path_factory):
    """`run --all-dates` on the newer file, its fits sampling their prior (tests/stand_in.py): nothing here asks what
    the posterior is, only where each stage puts the newer models; (data, results, exit status, printed text)."""
    root = tmp_path_factory.mktemp("newer")
    data = root / "newer.csv"
    _newer_file(data)
    out = root / "results"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), prior_sampling():
        status = main(["run", "--data", str(data), "--all-dates", "--out", str(out), "--draws", "100", "--tune", "150",
                       "--chains", "2", "--bootstrap", "10", "--folds", "2", "--no-progress", "--allow-failed"])
    return data, out, status, printed.getvalue()


def test_run_all_dates_fits_the_newer_models_in_their_cohorts(newer_run):
    data, out, status, printed = newer_run
    assert status == 0
    for stage in ("ols", "hierarchical"):
        excluded = pd.read_csv(out / stage / "excluded.csv")
        assert not excluded["reason"].str.contains("window|cohort").any(), excluded
        assert not excluded["model_id"].isin(NEW_IDS).any()
    rows = pd.read_csv(out / "hierarchical" / "models.csv", dtype=str).set_index("model_id")
    assert set(NEW_IDS) <= set(rows.index)
    assert rows.loc[NEW_IDS, "cohort"].tolist() == ["2025q2-2025q4"] * 3 + ["2026q1-2026q3"] * 3
    fit = Fit.load(out / "hierarchical")
    assert fit.posterior["period"].values.tolist() == [c for c, _, _ in COHORTS] + NEW_COHORTS
    assert fit.spec.data.filters.window is None and fit.tree.attrs["filters"] == "all dates"
    # What was used is printed by each stage: the data summary, the replication and the fit.
    assert printed.count("Rows: all dates") >= 2 and "rows: all dates" in printed
    assert "2026q1-2026q3       3  (after the paper's window" in printed
    # New developers are named with the group the paper's rule gives them.
    assert "aurora-lab               Other-Med    (new; mean ln compute" in printed
    assert "tinyco                   Other-Small  (new;" in printed
    changes = pd.read_csv(out / "data" / "new_developers.csv").set_index("developer")
    assert changes.loc["aurora-lab", "models"] == "aurora-lab__Aurora-32B, aurora-lab__Aurora-32B-Instruct"
    assert changes.loc["aurora-lab", "n_rows"] == 2
    report = (out / "hierarchical" / "report.md").read_text()
    assert ("Periods: 5 cohorts: 2022q4-2023q3, 2023q4-2024q2, 2024q3-2025q1, 2025q2-2025q4, 2026q1-2026q3 "
            "(2025q2-2025q4, 2026q1-2026q3: outside the paper's window") in report
    assert json.loads(fit.tree.attrs["spec_json"])["data"]["filters"]["window"] is None
    # The span quantities run to 2026 now: not put beside the paper's (over 2022q4..2025q1); per-cohort ones are.
    for stage in ("ols", "hierarchical"):
        paper = pd.read_csv(out / stage / "headline.csv").set_index("quantity")["paper"]
        assert pd.isna(paper["progress_multiplier_last_vs_first"]), stage
        assert paper["progress_multiplier__2024q3-2025q1"] == pytest.approx(7.52), stage


def test_the_default_window_still_drops_them_with_a_reason(newer_run):
    data = newer_run[0]
    excluded = load(data).excluded.set_index("model_id")
    assert set(NEW_IDS) <= set(excluded.index)
    assert excluded.loc[NEW_IDS, "reason"].str.contains("outside the window 2022-10..2025-03").all()


def test_predict_a_2026_model_from_the_fit(newer_run, tmp_path, capsys):
    fit_dir = newer_run[1] / "hierarchical"
    out = tmp_path / "p.csv"
    args = ["predict", str(fit_dir), "--params", "8", "--tokens", "36000", "--developer", "Qwen", "--date", "2026-03",
            "--out", str(out), "--allow-failed"]
    assert main(args) == 0
    table = pd.read_csv(out)
    assert table.loc[0, "period"] == "2026q1-2026q3" and bool(table.loc[0, "developer_seen"])
    assert 0.1 < table.loc[0, "score_lo"] < table.loc[0, "score_median"] < table.loc[0, "score_hi"] < 1
    # A new developer of 2026, drawn from its group's pool.
    assert main([*args[:7], "brand-new-lab", "--group", "Other-Med", *args[8:]]) == 0
    assert not bool(pd.read_csv(out).loc[0, "developer_seen"])
    # After the last fitted cohort: refused with the way out, then allowed with it.
    late = [*args[:9], "2026-12", *args[10:]]
    capsys.readouterr()
    assert main(late) == 2
    err = capsys.readouterr().err
    assert "cohort 2026q4-2027q2, which the fit never saw" in err and "--extend-last-cohort" in err
    assert "models/quarter_rw.toml" in err
    assert main([*late, "--extend-last-cohort"]) == 0
    assert pd.read_csv(out).loc[0, "period"] == "2026q1-2026q3"
