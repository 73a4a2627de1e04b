"""The Bayesian model in the developers structure (the previous default, models/developer_pooling.toml): every
spec option builds a valid model, fits are reproducible and saved faithfully. The family structure (the default)
is tested in test_families.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

from bayes_sauce.fit.fit import Fit, FitError, fit_spec
from bayes_sauce.model.build import DERIVED, build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.model.evaluate import EVALUATION_MODE
from bayes_sauce.model.new_rows import PredictionError, dataset_frame
from bayes_sauce.paths import MODELS_DIR
from bayes_sauce.predictive.predict import predict
from bayes_sauce.spec.schema import merge, read_spec_dict, spec_from_dict

from .stand_in import prior_sampling
from .synthetic import synthetic_dataset

BASE = read_spec_dict(MODELS_DIR / "developer_pooling.toml")
SMALL = {"draws": 150, "tune": 150, "chains": 2, "seed": 11}


def make_spec(**overrides):
    return spec_from_dict(merge(BASE, overrides)).with_sampling(**SMALL)


VARIANTS = {
    "default": ({}, {"eta", "pool_effect", "group_effect", "sigma_developer"}),
    "logit_normal": ({"model": {"likelihood": "logit_normal"}}, {"pool_effect", "sigma_developer"}),
    "fixed_groups": ({"model": {"developers": "fixed_groups"}}, {"group_effect", "group_offset"}),
    "pooled": ({"model": {"developers": "pooled"}}, {"sigma_developer"}),
    "student_t": ({"model": {"developer_dist": "student_t"}}, {"nu_developer", "sigma_developer"}),
    "quarter_rw": ({"data": {"time": "quarter"}}, {"sigma_period_step", "period_step_raw"}),
    "month_rw": ({"data": {"time": "month"}}, {"sigma_period_step"}),
    "math": ({"data": {"outcome": "math_l5"}}, {"eta"}),
    "extra_noise": ({"model": {"closed_models": "extra_noise"}}, {"sigma_closed"}),
    "student_t_models": ({"model": {"model_dist": "student_t"}}, {"nu_model", "eta"}),
    "student_t_models_logit": ({"model": {"model_dist": "student_t", "likelihood": "logit_normal"}}, {"nu_model"}),
    "majors_only": ({"data": {"filters": {"majors_only": True}}}, {"pool_effect"}),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_every_spec_option_builds_a_model_with_finite_density(name):
    overrides, expected = VARIANTS[name]
    spec = make_spec(**overrides)
    dataset = synthetic_dataset(80, seed=3, zero_math=5, filters=spec.data.filters.to_filters())
    data, kept = prepare(spec, dataset)
    model = build_model(spec, data)
    names = {v.name for v in model.free_RVs} | {v.name for v in model.deterministics}
    assert expected <= names
    assert {"beta", "intercept", "period_effect", "developer_effect", "model_effect", "sigma_model"} - {"sigma_model"} <= names
    point = model.initial_point()
    assert np.isfinite(model.compile_logp(mode="FAST_COMPILE")(point))
    assert np.all(np.isfinite(model.compile_dlogp(mode="FAST_COMPILE")(point)))
    assert model.coords["model"] == tuple(kept.models["model_id"])
    assert len(model.coords["developer"]) == kept.models["developer"].nunique()


def test_logit_normal_model_effects_are_the_data_residuals_when_deterministics_are_recomputed():
    """run_nuts recomputes deterministics with pm.compute_deterministics, which draws unobserved copies of
    observed variables: model_effect must come from the observed scores, not from the variable y."""
    import pymc as pm

    spec = make_spec(model={"likelihood": "logit_normal"})
    data, _ = prepare(spec, synthetic_dataset(30, seed=1))
    model = build_model(spec, data)
    free = pm.sample_prior_predictive(draws=2, model=model, random_seed=1, compile_kwargs={"mode": EVALUATION_MODE}
                                      ).prior.to_dataset()[[v.name for v in model.free_RVs]]
    post = pm.compute_deterministics(free, model=model, extend_dataset=True, progressbar=False)
    systematic = (post["intercept"].values[..., None] + post["beta"].values[..., None] * data.x_c
                  + post["period_effect"].values[..., data.period_idx]
                  + post["developer_effect"].values[..., data.developer_idx])
    np.testing.assert_allclose(post["model_effect"].values, data.logit_score - systematic)


def test_random_walk_has_a_step_for_every_calendar_quarter_between_first_and_last():
    spec = make_spec(data={"time": "quarter"})
    data, kept = prepare(spec, synthetic_dataset(30, seed=1))
    first, last = kept.models["release_quarter"].min(), kept.models["release_quarter"].max()
    expected = pd.period_range(first.upper(), last.upper(), freq="Q")
    assert data.coords["period"] == [str(p).lower() for p in expected]


def test_math_zeros_kept_by_binomial_and_excluded_with_reason_by_logit_normal():
    dataset = synthetic_dataset(40, seed=2, zero_math=4)
    binomial, kept = prepare(make_spec(data={"outcome": "math_l5"}), dataset)
    assert len(kept.models) == 40 and (binomial.successes == 0).sum() >= 4
    _, kept = prepare(make_spec(data={"outcome": "math_l5"}, model={"likelihood": "logit_normal"}), dataset)
    reasons = kept.excluded["reason"]
    assert len(kept.models) == 40 - (reasons.str.contains("at or below the chance floor")).sum()
    assert reasons.str.contains("math_l5 at or below the chance floor 0.0").sum() >= 4


@pytest.fixture(scope="module")
def small_fit():
    """The fit path on 60 synthetic rows, its draws the prior's (tests/stand_in.py; sampling: test_sampling)."""
    with prior_sampling():
        return fit_spec(make_spec(), synthetic_dataset(60, seed=0), progress=False, fallback=False)


def test_components_add_up_to_eta(small_fit):
    post, const = small_fit.posterior, small_fit.tree.constant_data
    eta = (post["intercept"] + post["beta"] * const["log10_flops_c"]
           + post["period_effect"].isel(period=const["period_idx"])
           + post["developer_effect"].isel(developer=const["developer_idx"]) + post["model_effect"])
    # eta is stored in float32 (fit.rounded_as_stored) and summed here in float64 from float32 parts
    np.testing.assert_allclose(eta.values, post["eta"].transpose(*eta.dims).values, rtol=1e-5, atol=1e-6)


def test_fit_has_contract_groups_names_and_provenance(small_fit):
    tree = small_fit.tree
    for group in ("posterior", "posterior_predictive", "log_likelihood", "log_prior", "observed_data",
                  "constant_data", "sample_stats"):
        assert group in tree.children, group
    assert {"beta", "sigma_developer", "sigma_model"} <= set(tree.posterior.data_vars)
    assert not set(DERIVED) & set(tree.posterior.data_vars)  # evaluated on demand, not stored
    assert tree.attrs["seed"] == SMALL["seed"] and tree.attrs["sampler"] == "nutpie"
    assert tree.attrs["data_sha256"] == "synthetic" and len(tree.attrs["fingerprint"]) == 16
    diag = small_fit.diagnostics
    assert set(diag) >= {"passed", "max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "min_bfmi"}


def test_save_load_round_trip_and_refusal_to_overwrite_another_fit(small_fit, tmp_path):
    small_fit.save(tmp_path / "fit")
    loaded = Fit.load(tmp_path / "fit")
    for group in ("posterior", "posterior_predictive", "log_likelihood", "observed_data", "constant_data"):
        xr.testing.assert_identical(loaded.tree[group].to_dataset(), small_fit.tree[group].to_dataset())
    assert loaded.tree.attrs == small_fit.tree.attrs
    pd.testing.assert_frame_equal(loaded.rows, small_fit.rows, check_dtype=False)
    assert loaded.spec == small_fit.spec
    small_fit.save(tmp_path / "fit")  # the same fit again: allowed
    other = Fit(spec=small_fit.spec, rows=small_fit.rows, excluded=small_fit.excluded,
                tree=small_fit.tree.copy(), diagnostics=small_fit.diagnostics)
    other.tree.attrs["fingerprint"] = "0" * 16
    with pytest.raises(FitError, match="holds a different fit.*--replace"):
        other.save(tmp_path / "fit")
    other.save(tmp_path / "fit", replace=True)
    assert Fit.load(tmp_path / "fit").fingerprint == "0" * 16
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_prediction_of_a_fitted_model_with_its_own_effect_reproduces_its_eta(small_fit):
    rows = dataset_frame(small_fit.rows, "cohort")
    pred = predict(small_fit, rows, seed=1, own=True)
    # eta is computed from the partially centred raw draws, by the fit's deterministics and by evaluate's: to rounding.
    np.testing.assert_allclose(pred["eta"].values, small_fit.posterior["eta"].values, rtol=1e-5, atol=1e-6)  # float32
    fresh = predict(small_fit, rows, seed=1)
    np.testing.assert_allclose(fresh["mean"].values, small_fit.evaluate(["mu"])["mu"].values)
    assert not np.allclose(fresh["eta"].values, small_fit.posterior["eta"].values)


def test_predict_for_a_known_and_an_unseen_developer(small_fit):
    models = small_fit.rows
    known = models.iloc[0]
    new = pd.DataFrame({
        "log10_flops": [known["log10_flops"], known["log10_flops"]],
        "developer": [known["developer"], "brand-new-lab"],
        "developer_group": [known["developer_group"], "Other-Small"],
        "period": [known["cohort"], known["cohort"]],
        "is_closed": [False, False],
    })
    pred = predict(small_fit, new, seed=1)
    assert pred["score"].dims == ("chain", "draw", "new_model")
    assert pred["developer_seen"].values.tolist() == [True, False]
    assert ((pred["accuracy"] > 0.1) & (pred["accuracy"] < 1)).all()
    # The known developer keeps its posterior level; the unseen one is drawn around its pool's mean.
    post = small_fit.posterior
    levels = small_fit.evaluate(["developer_level", "developer_centre"])
    unseen = (pred["mean"].isel(new_model=1) - pred["mean"].isel(new_model=0)  # same compute and period
              + levels["developer_level"].sel(developer=known["developer"]))
    small_dev = models.loc[models["developer_group"] == "Other-Small", "developer"].iloc[0]
    deviation = unseen - levels["developer_centre"].sel(developer=small_dev)
    # Per draw, spread sigma_developer around its pool's mean: the deviation in units of that draw's spread.
    assert float((deviation / post["sigma_developer"]).std()) == pytest.approx(1.0, rel=0.15)
    assert abs(float(deviation.mean())) < 0.2 * float(deviation.std())
    unseen_cohort = r"cohort .2027q3-2028q1. was not in the fit .*\(models/quarter_rw\.toml\)"
    with pytest.raises(PredictionError, match=unseen_cohort):
        predict(small_fit, new.assign(period="2027q3-2028q1"))
    with pytest.raises(PredictionError, match="row 1: developer 'brand-new-lab' was not in the fit"):
        predict(small_fit, new.assign(developer_group="Frontier-Lab"))


def test_a_pool_with_one_developer_joins_the_largest_and_its_group_effect_is_the_developers():
    """Only the sum of a lone developer's pool mean and its own deviation is seen: the pool merges into the largest
    (ties: the first of POOLS), and its group reports that developer's effect, as a major's group does."""
    from bayes_sauce.data.load import load
    from bayes_sauce.model.design import merge_lone_pools
    from bayes_sauce.paths import DEFAULT_SPEC
    from bayes_sauce.spec.schema import load_spec

    pools = pd.Series({"a": "Majors", "b": "Majors", "c": "Other-Med", "d": "Other-Small", "e": "Other-Small"})
    assert merge_lone_pools(pools).to_dict() == {**pools.to_dict(), "c": "Other-Small"}
    assert merge_lone_pools(pools.drop("c")).equals(pools.drop("c"))  # nothing lone: unchanged
    assert set(merge_lone_pools(pd.Series({"a": "Majors", "b": "Other-Med"}))) == {"Other-Med"}  # all lone: the first
    spec = load_spec(DEFAULT_SPEC)
    filters = spec.data.filters.model_copy(update={"majors_only": True}).to_filters()
    design, _ = prepare(spec, load(None, filters))  # the shipped majors: ten in Majors, one Other-Med developer
    assert design.coords["pool"] == ["Majors"] and len(design.coords["developer"]) == 11
    with build_model(spec, design):
        draws = pm.sample_prior_predictive(draws=5, var_names=["developer_effect", "group_effect"], random_seed=1)
    draws = draws["prior"]
    for i, group in enumerate(design.coords["group"]):  # every group here has one developer: a major, or Other-Med's
        developer = design.coords["developer"][int(np.flatnonzero(design.group_of_developer == i)[0])]
        np.testing.assert_allclose(draws["group_effect"].sel(group=group),
                                   draws["developer_effect"].sel(developer=developer))
