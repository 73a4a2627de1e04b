"""Developers whose level changes over time (``model.developer_time``, model/drift.py): each option builds a model with
a finite density whose drifts go through ``effects.pooled`` (so the fit's pilot chooses their centring), the drifts and
their density are the stated formulas, the period effects stay the population's (drifts of mean zero, zero in the
reference period), predictions carry a developer's drift into its later periods, and the candidate spec files are the
default with only the option and its prior changed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from pytensor.compile.mode import Mode
from scipy.stats import halfnorm, norm

from bayes_sauce.fit import centring
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.build import build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.model.effects import CENTRING_PREFIX, RAW_SUFFIX, SCALE_PREFIX, VARIANCE_PREFIX
from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.predictive.predict import predict
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.quantities.posterior import components
from bayes_sauce.spec.schema import SpecError, merge, read_spec_dict, spec_from_dict

from .synthetic import family_dataset, synthetic_family_models

FAST = Mode(linker="cvm", optimizer="fast_compile")
GROUP = {"trend": "developer_trend", "walk": "developer_step"}


def drift_spec(kind: str, time: str = "cohort", **model):
    return spec_from_dict(merge(read_spec_dict(DEFAULT_SPEC), {"model": {"developer_time": kind, **model},
                                                               "data": {"time": time}}))


def synthetic(seed: int = 2):
    return family_dataset(synthetic_family_models(developers=6, families=3, seed=seed, orphans=2))


def _years(design, reference: int) -> np.ndarray:
    """Each cohort's middle month in years from the reference cohort's, computed here from its first and last month."""
    months = []
    for label in design.coords["period"]:
        first, last = (pd.Period(q.upper(), "Q") for q in label.split("-"))
        months.append((first.asfreq("M", how="start").ordinal + last.asfreq("M", how="end").ordinal + 1) / 2)
    return (np.array(months) - months[reference]) / 12


@pytest.mark.parametrize("kind", ["trend", "walk"])
@pytest.mark.parametrize("time", ["cohort", "quarter"])
def test_every_developer_time_option_builds_a_model_with_finite_density(kind, time):
    spec = drift_spec(kind, time)
    design, _ = prepare(spec, synthetic())
    model = build_model(spec, design)
    names = {v.name for v in model.free_RVs} | {v.name for v in model.deterministics}
    group = GROUP[kind]
    assert {f"sigma_developer_{kind}", group + RAW_SUFFIX, "developer_drift", SCALE_PREFIX + group,
            VARIANCE_PREFIX + group} <= names
    assert group in centring.groups(model) and CENTRING_PREFIX + group in {v.name for v in model.data_vars}
    assert model.named_vars_to_dims["developer_drift"] == ("developer", "period")
    point = model.initial_point()
    assert np.isfinite(model.compile_logp(mode=FAST)(point))
    assert np.all(np.isfinite(model.compile_dlogp(mode=FAST)(point)))


def test_developer_time_needs_the_family_structure():
    with pytest.raises(SpecError, match="developer_time"):
        spec_from_dict(merge(read_spec_dict(MODELS_DIR / "developer_pooling.toml"),
                             {"model": {"developer_time": "walk"}}))


@pytest.mark.parametrize("kind", ["trend", "walk"])
def test_drifts_and_their_density_are_the_stated_formulas(kind):
    """Centred (weight 1, so the raw variables are the effects): trend drift[d, t] = slope_d (year_t - year_ref) with
    slope ~ Normal(0, sigma); walk: steps drift[d, t] - drift[d, t - 1] ~ Normal(0, sigma sqrt(year_t - year_t-1)),
    drift 0 in the reference period (the most populous by families, where the period effects are 0)."""
    spec = drift_spec(kind)
    design, _ = prepare(spec, synthetic())
    n_dev, n_period = len(design.coords["developer"]), len(design.coords["period"])
    size = n_dev if kind == "trend" else n_dev * (n_period - 1)
    design = design.__class__(**{**design.__dict__, "centring": {GROUP[kind]: np.ones(size)}})
    model = build_model(spec, design)
    reference = int(np.bincount(design.families.period_idx, minlength=n_period).argmax())
    years = _years(design, reference)
    rng = np.random.default_rng(3)
    sigma, raw = 0.4, rng.normal(0, 0.5, size)
    point = {**model.initial_point(), f"sigma_developer_{kind}_log__": np.log(sigma), GROUP[kind] + RAW_SUFFIX: raw}
    values = model.replace_rvs_by_values([model["developer_drift"]])
    drift = model.compile_fn(values[0], inputs=model.value_vars, on_unused_input="ignore")(point)
    if kind == "trend":
        expected, sd = raw[:, None] * years[None, :], np.full(size, sigma)
    else:
        walk = np.concatenate([np.zeros((n_dev, 1)), np.cumsum(raw.reshape(n_dev, n_period - 1), axis=1)], axis=1)
        expected, sd = walk - walk[:, [reference]], np.tile(sigma * np.sqrt(np.diff(years)), n_dev)
    np.testing.assert_allclose(drift, expected, atol=1e-12)
    np.testing.assert_allclose(drift[:, reference], 0.0)
    logp = model.compile_logp(vars=[model[GROUP[kind] + RAW_SUFFIX], model[f"sigma_developer_{kind}"]], jacobian=False,
                              mode=FAST)(point)
    np.testing.assert_allclose(logp, norm.logpdf(raw, 0, sd).sum() + halfnorm.logpdf(sigma, scale=0.3), rtol=1e-10)


@pytest.fixture(scope="module", params=["trend", "walk"])
def prior_fit(request):
    """The candidate spec on synthetic families as a Fit whose posterior is 200 prior draws: no sampling."""
    return sample_prior(drift_spec(request.param), synthetic(seed=5), draws=200, seed=7)


def test_drifts_have_mean_zero_so_period_effects_are_the_populations(prior_fit):
    """A priori every developer's drift is zero in the reference period and centred on zero elsewhere: the period
    effects are the progress of the population's developer, the drifts each developer's own beyond it."""
    drift = prior_fit.posterior["developer_drift"]
    reference = int(np.flatnonzero((np.abs(drift) < 1e-12).all(dim=(*SAMPLE_DIMS, "developer")).values)[0])
    values = drift.drop_isel(period=reference).values.ravel()
    assert abs(values.mean()) < 3 * values.std() / np.sqrt(drift.sizes["developer"] * drift.sizes["draw"])
    assert values.std() > 0.05


def test_drift_enters_each_models_line_and_its_developer_component(prior_fit):
    """eta = level + compute + time + developer + ...: the developer component carries the drift in the family's
    period, so the level left over is the same for every model, draw by draw."""
    comps = components(prior_fit)
    mu = prior_fit.evaluate(["mu"])["mu"]
    rest = mu - comps["compute"] - comps["time"] - comps["developer"]
    np.testing.assert_allclose(rest.values, np.broadcast_to(comps["level"].values[..., None], rest.shape), atol=1e-9)
    design = prior_fit.design
    drift = prior_fit.posterior["developer_drift"].values[..., design.developer_idx, design.period_idx]
    assert np.abs(drift).max() > 0
    own = (comps["developer"].values - drift)  # what is left is the developer's constant effect: one per developer
    for d in np.unique(design.developer_idx):
        part = own[..., design.developer_idx == d]
        np.testing.assert_allclose(part, np.broadcast_to(part[..., :1], part.shape), atol=1e-9)


def test_a_new_family_of_a_seen_developer_takes_its_drift_in_the_rows_period(prior_fit):
    """A new family's line in period t minus its line in the reference period is the period effects' difference plus
    the developer's drift in t; an unseen developer's rows are predicted too (a fresh drift)."""
    design = prior_fit.design
    periods, developer = design.coords["period"], design.coords["developer"][0]
    group = design.models.loc[design.models["developer"] == developer, "developer_group"].iloc[0]
    rows = pd.DataFrame({"model": [f"new-{p}" for p in periods] + ["unseen"],
                         "developer": [developer] * len(periods) + ["someone-new"],
                         "developer_group": [group] * (len(periods) + 1), "period": [*periods, periods[-1]],
                         "log10_flops": 23.0, "is_closed": False, "family": None, "is_finetune": False})
    draws = predict(prior_fit, rows, seed=1)
    assert np.isfinite(draws["score"].values).all()
    line = draws["line"].isel(new_model=slice(0, len(periods))).values
    post = prior_fit.posterior
    drift = post["developer_drift"].sel(developer=developer).values
    effect = post["period_effect"].values
    reference = int(np.flatnonzero(np.all(np.abs(drift) < 1e-12, axis=(0, 1)))[0])
    np.testing.assert_allclose(line - line[..., [reference]], effect - effect[..., [reference]]
                               + drift - drift[..., [reference]], atol=1e-9)


@pytest.mark.parametrize("kind", ["trend", "walk"])
def test_predictions_extend_the_drift_beyond_the_fitted_quarters(kind):
    """With quarters (a random walk of period effects), rows two quarters after the last fitted one are predicted. Two
    developers' lines there, against theirs in the last fitted quarter, differ by their drifts alone (the period
    effects cancel): a trend's extrapolated (two quarters of each one's slope), a walk's two fresh steps each (the
    difference of the two developers' four steps of a quarter has SD sigma_developer_walk)."""
    spec = drift_spec(kind, "quarter")
    fit = sample_prior(spec, synthetic(seed=5), draws=400, seed=3)
    design = fit.design
    last = design.coords["period"][-1]
    later = str((pd.Period(last.upper(), "Q") + 2)).lower()
    pair = design.coords["developer"][:2]
    group = design.models.drop_duplicates("developer").set_index("developer")["developer_group"]
    rows = pd.DataFrame({"model": ["a-last", "b-last", "a-later", "b-later"], "developer": [*pair, *pair],
                         "developer_group": [group[d] for d in [*pair, *pair]], "period": [last, last, later, later],
                         "log10_flops": 23.0, "is_closed": False, "family": None, "is_finetune": False})
    line = predict(fit, rows, seed=2)["line"].values
    assert np.isfinite(line).all()
    moved = (line[..., 2] - line[..., 0]) - (line[..., 3] - line[..., 1])
    drift = fit.posterior["developer_drift"].sel(developer=pair).values
    if kind == "trend":
        per_quarter = drift[..., -1] - drift[..., -2]
        np.testing.assert_allclose(moved, 2 * (per_quarter[..., 0] - per_quarter[..., 1]), atol=1e-9)
    else:
        z = moved / fit.posterior["sigma_developer_walk"].values
        assert z.var() == pytest.approx(1.0, abs=0.25) and abs(z.mean()) < 0.2


@pytest.mark.parametrize("kind", ["trend", "walk"])
def test_candidate_spec_is_the_default_with_only_the_drift_changed(kind):
    default, candidate = (read_spec_dict(p) for p in (DEFAULT_SPEC, MODELS_DIR / f"developer_{kind}.toml"))
    option = f"sigma_developer_{kind}"
    assert candidate["model"].pop("developer_time") == kind and option in candidate["priors"]
    candidate["priors"].pop(option)
    for key in ("name", "description"):
        candidate.pop(key), default.pop(key)
    assert candidate == default
    spec = spec_from_dict(read_spec_dict(MODELS_DIR / f"developer_{kind}.toml"))
    assert spec.name == f"developer_{kind}"
    design, _ = prepare(spec, synthetic())
    assert np.isfinite(build_model(spec, design).compile_logp(mode=FAST)(build_model(spec, design).initial_point()))
