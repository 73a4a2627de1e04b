"""Prediction, the inverse question, LOO on one scale, and a backtest where the truth is known.

Two small fits are shared by the module: the default model on synthetic models released up to 2024q3 (used for
predictions, the inverse question and the backtest), and a logit-normal random-walk variant on the same rows (used
for LOO on one scale and random-walk extrapolation). Their draws are the prior's (tests/stand_in.py): every check
here holds draw by draw, or for any distribution of the parameters; only the backtest's recovery of the truth needs
a posterior, and fits one (slow).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, gammaln
from scipy.stats import norm

from bayes_sauce.cli.main import main
from bayes_sauce.data.schema import pool_of_group
from bayes_sauce.fit.fit import fit_spec
from bayes_sauce.model.design import prepare
from bayes_sauce.model.new_rows import PredictionError, dataset_frame
from bayes_sauce.paths import DEFAULT_SPEC, OLS_SPEC
from bayes_sauce.predictive import backtest
from bayes_sauce.predictive.density import binomial_marginal, logit_normal_count_scale
from bayes_sauce.predictive.loo import comparison_table, loo_with_refits, marginal_log_likelihood
from bayes_sauce.predictive.new_models import new_model_rows
from bayes_sauce.predictive.predict import compute_needed, predict
from bayes_sauce.reporting.evaluation import backtest_markdown, loo_markdown
from bayes_sauce.reporting.plots import backtest_scores
from bayes_sauce.scale import scale_of
from bayes_sauce.spec.schema import load_spec, merge, read_spec_dict, spec_from_dict

from .stand_in import prior_sampling
from .synthetic import synthetic_dataset

SETTINGS = {"draws": 100, "tune": 150, "chains": 2, "seed": 3}
CUTOFF = "2024q3"
# synthetic_models' truth: eta = TRUE_ALPHA + TRUE_BETA * (log10 FLOPs - 23.5) + N(0, TRUE_SIGMA), no
# developer or time effects.
TRUE_ALPHA, TRUE_BETA, TRUE_SIGMA, TRUE_X0 = -1.0, 0.8, 0.5, 23.5


# The previous default's structure with the paper's outcome (a logit-normal likelihood needs the developers structure).
DEVELOPERS_LOGIT_NORMAL = {"structure": "developers", "likelihood": "logit_normal", "mundlak": False,
                           "finetunes": "normal", "failures": "none", "family_dist": "normal"}


def _spec(settings=SETTINGS, **overrides):
    return spec_from_dict(merge(read_spec_dict(DEFAULT_SPEC), overrides)).with_sampling(**settings)


@pytest.fixture(scope="module")
def split():
    dataset = synthetic_dataset(150, seed=4)
    return dataset, backtest.split(dataset, CUTOFF)


def _near_truth(spec, dataset):
    """The spec with its priors of the level, slope, developers and model noise concentrated at synthetic_models'
    truth: its prior draws lie where a posterior would, as PSIS-LOO needs (under the spec's own priors the draws'
    log-likelihoods spread over 1e5 and ArviZ's Pareto k is NaN) and the inverse question (a positive slope)."""
    design, _ = prepare(spec, dataset)
    near = {"alpha": {"dist": "Normal", "mu": TRUE_ALPHA + TRUE_BETA * (design.c0 - TRUE_X0), "sigma": 0.05},
            "beta": {"dist": "Normal", "mu": TRUE_BETA, "sigma": 0.05},
            "sigma_model": {"dist": "Gamma", "alpha": 100.0, "beta": 100.0 / TRUE_SIGMA},
            "sigma_developer": {"dist": "HalfNormal", "sigma": 0.05}, "group": {"dist": "Normal", "mu": 0.0, "sigma": 0.05}}
    d = spec.to_dict()
    d["priors"].update(near)
    return spec_from_dict(d)


@pytest.fixture(scope="module")
def default_fit(split):
    train = split[1][0]
    with prior_sampling():
        return fit_spec(_near_truth(_spec(), train), train, progress=False, fallback=False)


@pytest.fixture(scope="module")
def rw_fit(split):
    train = split[1][0]
    with prior_sampling():
        return fit_spec(_near_truth(_spec(model=DEVELOPERS_LOGIT_NORMAL, data={"time": "quarter"}), train), train,
                        progress=False, fallback=False)


def _user_rows(**columns) -> pd.DataFrame:
    base = {"model": "m", "params_b": "70", "tokens_b": "15000", "developer": "brand-new-lab",
            "developer_group": "Other-Med", "release_month": "2025-01"}
    return pd.DataFrame([base | columns])


# --- one likelihood scale -----------------------------------------------------------------------

def test_binomial_marginal_matches_brute_force_integration_and_sums_to_one():
    n, floor, mean, scale = 200, 0.1, np.array([0.3]), np.array([0.6])
    grid = np.linspace(-6, 6, 40001)
    p = floor + (1 - floor) * expit(grid)
    for k in (0, 37, 150, 200):
        log_f = (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1) + k * np.log(p) + (n - k) * np.log1p(-p)
                 + norm.logpdf(grid, mean, scale))
        brute = np.log(np.trapezoid(np.exp(log_f), grid))
        assert binomial_marginal(np.array([k]), n, floor, mean, scale)[0] == pytest.approx(brute, abs=1e-5)
    total = np.exp(binomial_marginal(np.arange(n + 1), n, floor, np.full(n + 1, 0.3), np.full(n + 1, 0.6))).sum()
    assert total == pytest.approx(1.0, abs=1e-9)


def test_logit_normal_on_the_count_scale_is_a_probability_over_counts():
    n, floor = scale_of("mmlu_pro").n_questions, scale_of("mmlu_pro").floor
    k = np.arange(int(floor * n) + 1, n)
    total = np.exp(logit_normal_count_scale(k / n, n, floor, np.full(k.size, 0.2), np.full(k.size, 0.7))).sum()
    assert total == pytest.approx(1.0, abs=1e-3)


def test_loo_uses_the_logit_normal_likelihood_moved_to_the_count_scale(rw_fit):
    tree, models = rw_fit.tree, rw_fit.rows
    marginal = marginal_log_likelihood(rw_fit)
    single = np.bincount(tree.constant_data["developer_idx"].values)[tree.constant_data["developer_idx"].values] == 1
    own = tree.log_likelihood["y"].transpose(*marginal.dims).values[..., ~single]
    score = models["mmlu_pro"].to_numpy()[~single]
    shift = logit_normal_count_scale(score, scale_of("mmlu_pro").n_questions, 0.1, 0.0, 1.0) - norm.logpdf(
        np.log((score - 0.1) / (1 - score)), 0.0, 1.0)
    np.testing.assert_allclose(marginal.values[..., ~single], own + shift, atol=1e-9)


def test_loo_comparison_with_an_exact_refit_that_is_cached(default_fit, rw_fit, tmp_path):
    cache = tmp_path / "refits.csv"
    hier = loo_with_refits(default_fit, 0, cache)
    rw = loo_with_refits(rw_fit, 0, cache)
    with prior_sampling():  # the refit goes through fit_spec as the fits did
        refitted = loo_with_refits(rw_fit, 1, cache)
    assert refitted.n_high_k_psis >= 1, "the synthetic set should give at least one high Pareto k"
    assert refitted.n_refits == 1 and refitted.n_high_k_left == refitted.n_high_k_psis - 1
    again = loo_with_refits(rw_fit, 1, cache)  # from the cache, no fit
    assert len(pd.read_csv(cache)) == 1 and again.elpd.elpd == pytest.approx(refitted.elpd.elpd)
    table = comparison_table({"hierarchical": hier, "rw_logit_normal": rw})
    assert set(table.index) == {"hierarchical", "rw_logit_normal"}
    assert {"elpd", "elpd_diff", "dse", "weight", "pareto_k_high_psis", "exact_refits"} <= set(table.columns)
    assert np.isfinite(table["elpd"]).all() and table["elpd_diff"].max() == 0
    assert "Best expected predictive density" in loo_markdown(table)


# --- prediction ---------------------------------------------------------------------------------

def test_prediction_shapes_and_an_unseen_developer(default_fit):
    fit = default_fit
    known = fit.rows.iloc[0]
    rows = new_model_rows(pd.concat([_user_rows(developer=known["developer"].upper()), _user_rows(),
                                     _user_rows(developer_group="")]), fit)
    assert rows["developer"].iloc[0] == known["developer"]  # matched ignoring case
    pred = predict(fit, rows, seed=1)
    assert pred["score"].shape == (2, 100, 3)
    assert pred["developer_seen"].values.tolist() == [True, False, False]
    assert ((pred["score"] > 0) & (pred["score"] < 1)).all()
    # Without a group, a new developer's level is drawn around a fitted developer's pool picked at
    # random: on average, the developer-weighted mean of the pool means.
    post = fit.posterior
    no_group = pred["mean"].isel(new_model=2) - pred["mean"].isel(new_model=1)  # same inputs otherwise
    pools = [pool_of_group(g) for g in fit.rows.drop_duplicates("developer").sort_values("developer")["developer_group"]]
    weights = pd.Series(pools).value_counts(normalize=True)
    expected = sum(w * post["pool_effect"].sel(pool=p) for p, w in weights.items()) - post["pool_effect"].sel(
        pool="Other-Med")
    sd = float(np.sqrt((post["sigma_developer"] ** 2).mean() * 2 + 0.5)) / np.sqrt(no_group.size)
    assert float(no_group.mean()) == pytest.approx(float(expected.mean()), abs=4 * sd)


def test_fine_tunes_by_one_new_fine_tuner_share_its_effect(default_fit):
    """Two fine-tunes of a fitted family by the same unseen fine-tuner (same compute) have the same mean in every
    draw; one by another unseen fine-tuner does not."""
    fit = default_fit
    rows = dataset_frame(fit.rows.iloc[[0, 0, 0]], fit.spec.data.time).assign(
        model=["a1", "a2", "b1"], developer=["tuner-a", "tuner-a", "tuner-b"], is_finetune=True)
    mean = predict(fit, rows, seed=1)["mean"].stack(sample=("chain", "draw")).values
    np.testing.assert_array_equal(mean[0], mean[1])
    assert np.abs(mean[0] - mean[2]).min() > 0


def test_inverse_question_inverts_the_prediction(default_fit):
    fit = default_fit
    rows = new_model_rows(_user_rows(developer=fit.rows["developer"].iloc[0]), fit, with_compute=False)
    needed = compute_needed(fit, rows, target=0.45, seed=2)
    # Half the draws need less than the median compute, so at it the median expected score is the target.
    at_needed = predict(fit, rows.assign(log10_flops=float(needed["median_model"].median())), seed=2)["line"]
    reached = 0.1 + 0.9 * expit(at_needed.median())
    assert float(reached) == pytest.approx(0.45, abs=0.005)
    width = lambda d: float(d.quantile(0.95) - d.quantile(0.05))  # noqa: E731
    assert width(needed["new_model"]) > width(needed["median_model"])


@pytest.mark.parametrize(("columns", "message"), [
    ({"developer_group": "Frontier-Lab"}, "its group 'Frontier-Lab' is not one of"),
    ({"params_b": "-7"}, "params_b must be a positive number"),
    ({"tokens_b": "0"}, "tokens_b must be a positive number"),
    ({"tokens_b": None}, "give both params_b and tokens_b"),
    ({"release_month": "next spring"}, "release_month must be a date"),
    ({"release_month": "2025-06"}, "in cohort 2025q2-2025q4, which the fit never saw .* cohort it never saw. "
                                   "Pass --extend-last-cohort .*\\(models/quarter_rw.toml\\)"),
    ({"release_month": "2021-01"}, "in cohort 2020q4-2021q3, which the fit never saw \\(its cohorts: 2022q4-2023q3"),
])
def test_bad_input_is_refused_with_a_clear_message(default_fit, columns, message):
    with pytest.raises(PredictionError, match=message):
        rows = new_model_rows(_user_rows(**columns), default_fit)
        predict(default_fit, rows)


def test_cohort_extension_is_opt_in_and_the_random_walk_extrapolates_up_to_a_year(default_fit, rw_fit):
    rows = new_model_rows(_user_rows(release_month="2025-06"), default_fit, extend_last_cohort=True)
    assert rows["period"].iloc[0] == default_fit.posterior["period"].values[-1]
    last = str(rw_fit.posterior["period"].values[-1])
    assert last == "2024q3"
    near, far = (new_model_rows(_user_rows(release_month=m), rw_fit) for m in ("2024-12", "2025-09"))
    spread = [float(predict(rw_fit, r, seed=1)["eta"].std()) for r in (near, far)]
    assert spread[1] > spread[0]  # more random-walk steps, wider
    with pytest.raises(PredictionError, match="extrapolated at most 12 months"):
        predict(rw_fit, new_model_rows(_user_rows(release_month="2025-12"), rw_fit))


def test_predict_cli_writes_a_table_and_refuses_bad_input(default_fit, tmp_path, capsys):
    default_fit.save(tmp_path / "fit")
    args = ["predict", str(tmp_path / "fit"), "--params", "70", "--tokens", "15000", "--developer", "newlab",
            "--group", "Other-Med", "--date", "2025-01", "--out", str(tmp_path / "p.csv"), "--allow-failed"]
    assert main(args) == 0
    table = pd.read_csv(tmp_path / "p.csv")
    assert table.loc[0, "score_lo"] < table.loc[0, "score_median"] < table.loc[0, "score_hi"]
    assert main([*args[:3], "0", *args[4:]]) == 2
    assert "params_b must be a positive number" in capsys.readouterr().err
    assert main([*args, "--target", "0.5"]) == 0
    assert "log10_flops_new_model_hi" in pd.read_csv(tmp_path / "p.csv").columns


# --- backtest with a known truth ----------------------------------------------------------------

def _backtest(fit, split, tmp_path) -> backtest.Backtest:
    fit.save(tmp_path / "hierarchical")  # reused by run, not refitted
    return backtest.run({"hierarchical": fit.spec}, load_spec(OLS_SPEC), split[0], CUTOFF, tmp_path, prob=0.9, seed=5)


def test_backtest_scores_every_method_on_the_held_out_models(default_fit, split, tmp_path):
    dataset, (train, test) = split
    result = _backtest(default_fit, split, tmp_path)
    assert (result.n_train, result.n_test) == (len(train.models), len(test)) and len(test) >= 25
    everyone = result.summary[result.summary["models"] == "all"].set_index("method")
    assert set(everyone.index) == {"hierarchical", "ols"} and everyone["coverage_90"].between(0, 1).all()
    hier = result.scores[result.scores["method"] == "hierarchical"].set_index("model_id").loc[test["model_id"]]
    assert (hier["lo"] <= hier["median"]).all() and (hier["median"] <= hier["hi"]).all()
    assert np.isfinite(everyone["elpd"]).all() and everyone["elpd_diff"].max() == 0
    assert hier["developer_seen"].sum() == test["developer"].isin(train.models["developer"]).sum()
    assert len(backtest_scores(result.scores, CUTOFF, 0.9).axes) == 2
    assert "Highest out-of-time predictive density" in backtest_markdown(result.summary, CUTOFF, 1, 1)


@pytest.mark.slow
def test_backtest_recovers_the_truth_out_of_time(split, tmp_path):
    test = split[1][1]
    result = _backtest(fit_spec(_spec(), split[1][0], progress=False), split, tmp_path)
    everyone = result.summary[result.summary["models"] == "all"].set_index("method")
    # The truth has model-level noise SD 0.5 logits: 90% intervals should cover about 90% of new models.
    assert everyone["coverage_90"].between(0.7, 1.0).all()
    # The predictive median tracks the true expected logit of each held-out model.
    hier = result.scores[result.scores["method"] == "hierarchical"].set_index("model_id").loc[test["model_id"]]
    truth = TRUE_ALPHA + TRUE_BETA * (test["log10_flops"].to_numpy() - TRUE_X0)
    predicted = np.log((hier["median"].to_numpy() - 0.1) / (1 - hier["median"].to_numpy()))
    assert np.median(np.abs(predicted - truth)) < 0.35


def test_backtest_refuses_a_cutoff_that_leaves_a_cohort_unfitted(split, tmp_path):
    with pytest.raises(PredictionError, match="cohort offsets cannot be extrapolated"):
        backtest.run({"hierarchical": _spec()}, load_spec(OLS_SPEC), split[0], "2023q4", tmp_path)
    assert not (tmp_path / "hierarchical").exists()  # refused before fitting
