"""The family structure (the default model): every option builds a model with a finite density, the mixture's
log density is the formula it states, the new-family folds hold out whole families, and on simulated data with
known truth the Mundlak term keeps beta covered and planted evaluation failures are found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from scipy.special import expit, logit, logsumexp
from scipy.stats import norm, skewnorm

from bayes_sauce.data.filters import hold_out
from bayes_sauce.fit.fit import fit_spec
from bayes_sauce.intervals import median_interval
from bayes_sauce.model.build import build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.model.evaluate import EVALUATION_MODE
from bayes_sauce.model.families import FamilySpread, mixture_draw, mixture_logp
from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.predictive.family_folds import as_new_families, family_folds, first_members
from bayes_sauce.quantities.posterior import failure_probability
from bayes_sauce.scale import scale_of
from bayes_sauce.spec.schema import merge, read_spec_dict, spec_from_dict

from .synthetic import family_dataset, synthetic_family_models

BASE = read_spec_dict(DEFAULT_SPEC)
# Few graph rewrites (fast to compile), C code for the wide elementwise nodes Python mode cannot run.
FAST = Mode(linker="cvm", optimizer="fast_compile")


def family_spec(sampling: dict | None = None, **overrides):
    return spec_from_dict(merge(BASE, overrides)).with_sampling(**(sampling or {"draws": 100, "tune": 100, "chains": 2}))


OPTIONS = {
    "default": ({}, {"sigma_family", "family_skew", "sigma_finetuner", "mundlak", "beta_within", "failure_rate",
                     "damaged_share", "accuracy_noise", "p_failure", "family_effect"}),
    "no_mundlak": ({"model": {"mundlak": False}}, {"sigma_family"}),
    "normal_families": ({"model": {"family_dist": "normal"}}, {"sigma_family"}),
    "no_failures": ({"model": {"failures": "none"}}, {"damaged_share"}),
    "normal_finetunes": ({"model": {"finetunes": "normal"}}, {"failure_rate"}),
    "no_accuracy_noise": ({"model": {"accuracy_noise": False}}, {"sigma_family"}),
    "pooled": ({"model": {"developers": "pooled"}}, {"sigma_developer"}),
    "extra_noise": ({"model": {"closed_models": "extra_noise"}}, {"sigma_closed"}),
    "quarter": ({"data": {"time": "quarter"}}, {"sigma_period_step"}),
}


@pytest.mark.parametrize("name", OPTIONS)
def test_every_family_option_builds_a_model_with_finite_density(name):
    overrides, expected = OPTIONS[name]
    spec = family_spec(**overrides)
    design, kept = prepare(spec, family_dataset(synthetic_family_models(developers=6, families=2, seed=2, orphans=3)))
    assert kept.models["family_source"].eq("none").sum() == 3
    model = build_model(spec, design)
    names = {v.name for v in model.free_RVs} | {v.name for v in model.deterministics}
    assert expected <= names and {"beta", "intercept", "developer_effect", "mu"} <= names
    if name == "no_failures":
        assert "failure_rate" not in names
    if name == "normal_finetunes":
        assert "damaged_share" not in names
    if name == "normal_families":
        assert "family_skew" not in names
    point = model.initial_point()
    assert np.isfinite(model.compile_logp(mode=FAST)(point))
    assert np.all(np.isfinite(model.compile_dlogp(mode=FAST)(point)))
    assert model.coords["model"] == tuple(kept.models["model_id"])
    assert len(model.coords["family"]) == kept.models["family"].nunique()


def test_skew_normal_families_have_the_stated_density_and_mean_zero_around_their_line():
    """Skew-normal family levels: scipy's skewnorm with scale sigma_family and shape family_skew, located so that
    their mean is the developer's line; the SD the combined levels use is that distribution's."""
    centre, scale, skew = np.array([0.3, -1.0]), 0.8, -3.0
    with pm.Model() as model:
        spread = FamilySpread(pt.as_tensor(scale), pt.as_tensor(skew))
        spread.draw("levels", centre, np.ones(2))  # centred: the raw variable is the level itself
        value = np.array([0.1, -2.5])
        got = pm.logp(model["levels_raw"], value).eval()
    delta = skew / np.sqrt(1 + skew**2)
    dist = skewnorm(skew, loc=centre - scale * delta * np.sqrt(2 / np.pi), scale=scale)
    np.testing.assert_allclose(got, dist.logpdf(value), rtol=1e-6)  # erfc approximations differ
    np.testing.assert_allclose(dist.mean(), centre, atol=1e-12)
    np.testing.assert_allclose(spread.sd.eval(), dist.std()[0], rtol=1e-6)
    assert FamilySpread(pt.as_tensor(scale)).sd.eval() == scale


def test_mixture_log_density_is_the_stated_formula():
    """Core: normalised accuracy normal around invlogit(mu) (as a density of the logit y); damaged: the same form
    around invlogit(mu - shift); failure: a normal logit near chance; the mixture only for a compared fine-tune."""
    y = np.array([0.3, -1.2, -4.0, 0.8])
    mu, core_sd = np.array([0.4, 0.2, 0.1, 0.8]), np.array([0.01, 0.012, 0.02, 0.015])
    shift, sd_d, w, pi, m_f, var_f = 0.9, np.array([0.05, 0.04, 0.06, 0.03]), 0.12, 0.05, -4.5, 0.6
    compared = np.array([1, 1, 1, 0])
    got = mixture_logp(y, mu, core_sd, shift, sd_d, w, pi * compared, m_f, var_f, compared, EDGE).eval()
    u = expit(y)
    core = norm.logpdf(u, expit(mu), core_sd) + np.log(u * (1 - u))
    damaged = norm.logpdf(u, expit(mu - shift), sd_d) + np.log(u * (1 - u))
    failure = norm.logpdf(y, m_f, np.sqrt(var_f))
    expected = logsumexp([np.log((1 - pi) * (1 - w)) + core, np.log((1 - pi) * w) + damaged, np.log(pi) + failure],
                         axis=0)
    np.testing.assert_allclose(got[:3], expected[:3], rtol=1e-10)
    np.testing.assert_allclose(got[3], core[3], rtol=1e-10)  # a root or a family of one: the core alone


EDGE = scale_of("mmlu_pro").edge  # half a question of MMLU-Pro on the normalised scale


@pytest.mark.parametrize("centre", [-6.0, 0.3, 7.0])  # near chance, mid-range, near a perfect score
def test_mixture_density_and_its_edge_masses_sum_to_one(centre):
    """Scores are kept half a question inside (0, 1): the density inside and the core's masses at the two edges
    (a score at or below chance, or a perfect one) add up to one, for the core alone and the mixture (whose damaged
    component has the core's form and is censored as it is, and whose failure component, a normal logit, has next to
    no mass beyond the edges here)."""
    low = logit(EDGE)
    inside = np.linspace(low, -low, 400_001)[1:-1]
    n = len(inside)
    for compared in (0, 1):
        def logp(y):
            ones = np.ones_like(y)
            return mixture_logp(y, centre * ones, 0.02 * ones, 1.0, 0.5 * ones, 0.2, 0.1 * compared * ones, -4.5,
                                0.6 * ones, compared * ones.astype(np.int64), EDGE).eval()
        density = np.exp(logp(inside))
        total = np.sum((density[1:] + density[:-1]) / 2 * np.diff(inside)) + np.exp(logp(np.array([low, -low]))).sum()
        assert total == pytest.approx(1.0, abs=2e-3), (compared, n)


def test_simulated_scores_at_the_edge_have_the_censored_mass():
    """The generative graph piles the core's mass beyond an edge at that edge, as the likelihood says."""
    centre = np.full(20_000, logit(0.99))
    ones = np.ones_like(centre)
    draws = pm.draw(mixture_draw(centre, 0.01 * ones, 1.0, 0.5 * ones, 0.2, 0 * ones, -4.5, 0.6 * ones,
                                 np.zeros(len(centre), dtype=np.int64), EDGE), random_seed=1)
    low = logit(EDGE)
    assert draws.min() > low and draws.max() == pytest.approx(-low)
    expected = np.exp(mixture_logp(np.array([-low]), centre[:1], 0.01 * ones[:1], 1.0, 0.5 * ones[:1], 0.2, ones[:1] * 0,
                                   -4.5, 0.6 * ones[:1], np.zeros(1, dtype=np.int64), EDGE).eval())[0]
    assert expected == pytest.approx(norm.sf(1 - EDGE, 0.99, 0.01))
    assert np.mean(draws >= -low - 1e-6) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("mode", [None, EVALUATION_MODE])
def test_simulated_components_have_the_stated_shares(mode):
    """Core, damaged and failure draws in the shares the mixture's weights give (damaged only where compared),
    compiled as the simulator and as ``evaluate`` compile it (a sum of booleans differed between the two)."""
    n = 40_000
    compared = np.tile([1, 0], n // 2).astype(np.int64)
    ones = np.ones(n)
    draws = pm.draw(mixture_draw(0 * ones, 0.001 * ones, 3.0, 1e-4 * ones, 0.2, 0.1 * ones, -6.0, 1e-4 * ones,
                                 compared, EDGE), random_seed=2, mode=mode)
    core, damaged, failure = np.abs(draws) < 0.1, np.abs(draws + 3) < 0.1, np.abs(draws + 6) < 0.1
    assert (core | damaged | failure).all()
    for shares, rows in (((0.72, 0.18, 0.1), compared == 1), ((0.9, 0.0, 0.1), compared == 0)):
        for share, component in zip(shares, (core, damaged, failure)):
            assert component[rows].mean() == pytest.approx(share, abs=0.01)


def test_folds_hold_out_whole_families_balanced_and_seeded():
    rows = family_dataset(synthetic_family_models(developers=8, families=3, seed=4)).models
    fold = family_folds(rows, 4, seed=1)
    assert (rows.assign(fold=fold).groupby("family")["fold"].nunique() == 1).all()  # a family in one fold
    sizes = fold.value_counts()
    assert sizes.max() - sizes.min() <= rows.groupby("family").size().max()
    pd.testing.assert_series_equal(fold, family_folds(rows, 4, seed=1))
    assert not fold.equals(family_folds(rows, 4, seed=2))
    first = first_members(rows)
    assert first["family"].is_unique and first["is_root"].all()


def test_a_family_without_its_root_is_predicted_by_a_fine_tune_of_a_new_family():
    """Where no row sets a family's level (its base and its base developer's own release are not in the data), its
    first member is a fine-tune in the fit's likelihood, and the new-family check predicts it as one: by its own
    developer (its fine-tuner's effect), around its base developer's line, with the fine-tune mixture."""
    rows = family_dataset(synthetic_family_models(developers=4, families=2, seed=4)).models
    orphan = rows.loc[rows["is_root"].astype(bool), "family"].iloc[0]
    rows = rows[~(rows["is_root"].astype(bool) & (rows["family"] == orphan))]
    frame = as_new_families(first_members(rows), "cohort", rows).set_index(first_members(rows)["family"].to_numpy())
    base = rows.drop_duplicates("family").set_index("family")["base_developer"]
    assert frame.loc[orphan, "is_finetune"] and frame.loc[orphan, "developer"] != base[orphan]
    others = frame.drop(index=orphan)
    assert not others["is_finetune"].any() and (others["developer"] == others["base_developer"]).all()
    assert (frame["base_developer"] == base.reindex(frame.index)).all() and frame["family"].str.startswith("new:").all()


def test_a_held_out_part_has_its_own_identity():
    data = family_dataset(synthetic_family_models(developers=4, families=2, seed=5))
    late = data.models["release_month"].astype(str) > "2024-06"
    part = hold_out(data, late, "released after 2024-06")
    assert len(part.models) == int((~late).sum()) and part.sha256 != data.sha256
    assert part.excluded["reason"].eq("released after 2024-06").sum() == int(late.sum())
    other = hold_out(data, ~late, "released up to 2024-06")
    assert other.sha256 not in (part.sha256, data.sha256)
    assert hold_out(data, late, "released after 2024-06").sha256 == part.sha256


def _beta_interval(spec, data) -> list[float]:
    fit = fit_spec(spec, data, progress=False)
    s = median_interval(fit.posterior["beta"], fit.prob)
    return [float(s.sel(quantile=q)) for q in ("lo", "hi")]


@pytest.mark.slow
def test_mundlak_term_covers_beta_where_developer_effects_correlate_with_compute():
    """Developers' effects rise with their typical compute (by 0.6 logit per decade beyond beta): the default's
    interval covers the true beta, the previous default's (no Mundlak term, no families) lies above it."""
    frame = synthetic_family_models(developers=14, families=5, finetunes=1, seed=7, beta=0.6, developer_slope=0.8)
    data = family_dataset(frame)
    sampling = {"draws": 400, "tune": 400, "chains": 2, "seed": 3}
    lo, hi = _beta_interval(family_spec(sampling), data)
    assert lo <= frame.attrs["beta"] <= hi
    old = spec_from_dict(read_spec_dict(MODELS_DIR / "developer_pooling.toml")).with_sampling(**sampling)
    lo_old, _ = _beta_interval(old, data)
    assert lo_old > frame.attrs["beta"]


@pytest.mark.slow
def test_planted_failures_get_a_high_failure_probability_and_others_a_low_one():
    frame = synthetic_family_models(developers=8, families=3, finetunes=4, seed=11, failures=6)
    fit = fit_spec(family_spec({"draws": 300, "tune": 300, "chains": 2, "seed": 2}), family_dataset(frame),
                   progress=False)
    p = failure_probability(fit).to_series()
    planted = frame.set_index("model_id")["true_failure"].reindex(p.index)
    assert (p[planted] > 0.5).mean() >= 5 / 6
    assert (p[~planted] > 0.5).sum() <= 1
