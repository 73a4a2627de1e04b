"""Headline quantities per posterior draw, the report and the one-command run.

Known answers on a hand-built posterior (no sampling), then one small real fit made by `bayes-sauce run`
on an ~80-row subsample written in the authors' schema (conftest's ``run_dir``), shared by the report, the
report page and explain tests.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import pymc as pm

from bayes_sauce.cli.main import main
from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.load import load
from bayes_sauce.data.paper_numbers import load_paper_numbers
from bayes_sauce.data.schema import BASE_GROUP, pool_of_group
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import median_interval
from bayes_sauce.model.build import build_model, stored_deterministics
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import MODELS_DIR
from bayes_sauce.periods import months_between, period_midpoint
from bayes_sauce.quantities import decompose, headline, posterior
from bayes_sauce.quantities.posterior import HEADLINE_COLUMNS
from bayes_sauce.scale import COMPUTE_ORIGIN_LOG10_FLOPS
from bayes_sauce.spec.schema import load_spec

from .synthetic import synthetic_dataset

# pyfixest 0.60 calls pandas methods that pandas 3.1 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
CHAINS, DRAWS = 2, 4
GROUP_STEPS = {"Qwen": 1.0, "Meta": 0.5, "Google": 2.0, "Other-Med": -1.0}  # group effect = step * beta


@pytest.fixture(scope="module")
def models() -> pd.DataFrame:
    return synthetic_dataset(60, seed=0).models


@pytest.fixture(scope="module")
def fit(models) -> Fit:
    """A posterior by hand, as the model's free variables: period effects 0, beta, 2*beta; group effects
    step * beta (a major's through its developer level, Other-Med's through its pool); random others. In the
    developers structure (the previous default), whose free variables are few enough to write by hand."""
    rng = np.random.default_rng(0)
    spec = load_spec(MODELS_DIR / "developer_pooling.toml")
    design, _ = prepare(spec, Dataset(models))
    shape = (CHAINS, DRAWS)
    beta = rng.uniform(0.5, 1.0, shape)[..., None]
    alpha = rng.normal(size=shape)[..., None]
    periods = design.coords["period"]
    period_effect = np.arange(len(periods)) * beta
    ref = int(np.bincount(design.period_idx).argmax())
    period_raw = period_effect - period_effect[..., [ref]]
    pools = design.coords["pool"]
    pool_effect = np.where(np.array(pools) == "Other-Med", -1.0, 0.0) * beta + np.where(
        np.isin(pools, ["Other-Med", BASE_GROUP]), 0.0, rng.normal(size=(*shape, len(pools))))
    pool_ref = design.reference("pool")
    pool_raw = pool_effect - pool_effect[..., [pool_ref]]
    base = pool_raw[..., [pools.index(BASE_GROUP)]]
    developers = design.coords["developer"]
    steps = np.array([GROUP_STEPS.get(d, np.nan) for d in developers])
    dev_effect = np.where(np.isnan(steps), pool_effect[..., design.pool_of_developer]
                          + 0.3 * rng.normal(size=(*shape, len(developers))), np.nan_to_num(steps) * beta)
    level = dev_effect + alpha + base
    centre = alpha + pool_raw[..., design.pool_of_developer]
    sigma_developer, sigma_model = 0.3, 0.5
    mu = level[..., design.developer_idx] + beta * design.x_c + period_raw[..., design.period_idx]
    free = {"alpha": alpha[..., 0], "beta": beta[..., 0], "period_offset": np.delete(period_raw, ref, axis=-1),
            "pool_offset": np.delete(pool_raw, pool_ref, axis=-1),
            # The model built without a pilot's weights samples every effect non-centred: raw = (effect - loc) / scale.
            "developer_level_raw": (level - centre) / sigma_developer,
            "sigma_developer": np.full(shape, sigma_developer), "sigma_model": np.full(shape, sigma_model),
            "eta_raw": rng.normal(0, 1, mu.shape)}
    posterior_free = xr.Dataset({k: (("chain", "draw", *[f"{k}_dim"] * (v.ndim - 2)), v) for k, v in free.items()},
                                coords={"chain": np.arange(CHAINS), "draw": np.arange(DRAWS)})
    model = build_model(spec, design)
    post = pm.compute_deterministics(posterior_free, model=model, var_names=stored_deterministics(model),
                                     merge_dataset=False, progressbar=False)
    post = xr.merge([posterior_free, post], compat="override")
    tree = xr.DataTree.from_dict({"posterior": post})
    tree.attrs.update(fingerprint="hand-built", interval_prob=0.9)
    return Fit(spec=spec, rows=design.models, excluded=pd.DataFrame(), tree=tree,
               diagnostics={"passed": True, "failures": []})


def test_components_add_up_to_eta(fit):
    comps = posterior.components(fit)
    post, design = fit.posterior, fit.design
    eta = (post["intercept"] + post["beta"] * xr.DataArray(design.x_c, dims="model")
           + post["period_effect"].isel(period=xr.DataArray(design.period_idx, dims="model")).drop_vars("period")
           + post["developer_effect"].isel(developer=xr.DataArray(design.developer_idx, dims="model"))
           .drop_vars("developer") + post["model_effect"])
    level = post["intercept"] + post["beta"] * (COMPUTE_ORIGIN_LOG10_FLOPS - design.c0)
    total = level + sum(comps[c] for c in ("compute", "time", "developer", "model_effect"))
    np.testing.assert_allclose(total.transpose(*eta.dims), eta, atol=1e-12)
    np.testing.assert_allclose(comps["level"], level, atol=1e-12)
    for name in ("compute", "time", "developer", "model_effect"):
        assert comps[name].dims == ("chain", "draw", "model"), name
    np.testing.assert_allclose(posterior.systematic_logit(fit) + post["model_effect"], eta.transpose(*post["model_effect"].dims))


def test_quantities_have_known_answers_per_draw(fit):
    q = {x.id: x.value for x in posterior.quantities(fit)}
    periods = list(fit.posterior["period"].values)
    # In the model view, a period effect of beta (and 2 beta) on the logit is a 10x (100x) compute multiplier, in
    # every draw (the paper view's are the paper's least squares at each draw's beta: test_views).
    np.testing.assert_allclose(q[f"progress_multiplier__{periods[1]}__model_view"], 10.0)
    np.testing.assert_allclose(q["progress_multiplier_last_vs_first__model_view"], 100.0)
    months = months_between(periods[0], periods[-1], "cohort")
    np.testing.assert_allclose(q["progress_halving_time_months__model_view"], months * np.log(2) / np.log(100))
    for group, step in GROUP_STEPS.items():
        np.testing.assert_allclose(q[f"developer_multiplier__{group}__model_view"], 10**step)
        assert set(q[f"developer_multiplier__{group}"].dims) == {"chain", "draw"}  # the paper view's, per draw
    assert f"developer_multiplier__{BASE_GROUP}" not in q
    xr.testing.assert_equal(q["compute_slope"], fit.posterior["beta"])
    for view in ("", "__model_view"):  # each view's Shapley shares sum to one per draw
        shares = sum(v for k, v in q.items() if k.startswith("shapley_") and k.endswith(view) and
                     (view or not k.endswith("__model_view")))
        np.testing.assert_allclose(shares, 1.0, atol=1e-12)
    for name in ("shapley_compute", "within_firm_spread_p90_p10", "finite_population_sd__model",
                 "threshold_compute_fall_all__fitted__model_view"):
        assert set(q[name].dims) == {"chain", "draw"}, name
    majors = [k for k in q if k.startswith("p_most_efficient_major__")]
    assert majors
    assert sum(float(q[k]) for k in majors) == pytest.approx(1.0)


def test_summary_table_columns_and_intervals(fit):
    table = posterior.summarise(posterior.quantities(fit), load_paper_numbers("ols"), 0.9)
    assert list(table.columns) == HEADLINE_COLUMNS
    assert table["quantity"].is_unique and table["definition"].str.len().gt(0).all()
    ranged = table.dropna(subset=["lo"])
    assert (ranged["lo"] <= ranged["median"]).all() and (ranged["median"] <= ranged["hi"]).all()
    assert table.set_index("quantity").loc["shapley_compute", "paper"] == pytest.approx(0.32)


def test_interval_is_equal_tailed_and_allows_infinite_draws():
    draws = xr.DataArray(np.r_[np.arange(1.0, 20.0), np.inf].reshape(1, 20), dims=("chain", "draw"))
    s = median_interval(draws, 0.9)
    assert float(s.sel(quantile="lo")) == 1.0 and float(s.sel(quantile="median")) == 10.0
    assert float(s.sel(quantile="hi")) == 19.0


def test_developer_table_ranks_and_multipliers(fit, models):
    table = posterior.developer_table(fit)
    assert set(table["developer"]) == set(models["developer"])
    assert table["p_most_efficient_major"].sum() == pytest.approx(1.0)
    assert (table["vs_population_lo"] <= table["vs_population_hi"]).all()


def test_halving_time_and_rank_probability_known_answers():
    progress = xr.DataArray([2.0, 4.0, 1.0, 0.5], dims="draw")
    np.testing.assert_allclose(decompose.halving_time(progress, 6.0), [6.0, 3.0, np.inf, np.inf])
    values = xr.DataArray([[1.0, 3.0, 2.0], [5.0, 0.0, 1.0]], dims=("draw", "who"), coords={"who": ["a", "b", "c"]})
    np.testing.assert_allclose(decompose.prob_largest(values, "who", ["draw"]), [0.5, 0.5, 0.0])


def test_period_midpoints():
    assert months_between("2023q1", "2024q1", "quarter") == pytest.approx(12.0, abs=0.05)
    assert months_between("2023-01", "2023-07", "month") == pytest.approx(6.0, abs=0.1)
    mid = period_midpoint("2022q4-2023q3", "cohort")
    assert pd.Timestamp("2023-03-31") < mid < pd.Timestamp("2023-04-02")


def test_vectorised_threshold_fall_equals_the_descriptive_one():
    m = load().models
    ratio, _, _ = headline.min_compute_fall(m, "mmlu_pro_norm")
    log10_flops = xr.DataArray(m["log10_flops"].to_numpy(), dims="model", coords={"model": m["model_id"].to_numpy()})
    reach = (m["mmlu_pro_norm"] >= headline.THRESHOLD_NORM_SCORE).to_numpy()
    reach = xr.DataArray(np.stack([reach, np.ones_like(reach)]), dims=("draw", "model"))
    fall = headline.threshold_fall(reach, log10_flops, headline.month_ordinal(m))
    assert float(fall[0]) == pytest.approx(ratio, rel=1e-9)
    first_month = m["release_month"].min()
    cheapest_first = m.loc[m["release_month"] == first_month, "log10_flops"].min()
    assert float(fall[1]) == pytest.approx(10 ** (cheapest_first - m["log10_flops"].min()))


# ---- one small real fit, made by the one-command run (conftest's run_dir, shared with the page and explain) ----

def test_run_end_to_end_writes_every_stage_and_exits_on_the_gate(run_dir):
    root, status = run_dir
    fit_dir = root / "hierarchical"
    diagnostics = json.loads((fit_dir / "diagnostics.json").read_text())
    assert status == (0 if diagnostics["passed"] else 3)
    for path in ("data/models.csv", "ols/headline.csv", "hierarchical/posterior.nc", "hierarchical/report.md",
                 "hierarchical/headline.csv"):
        assert (root / path).exists(), path
    text = (fit_dir / "report.md").read_text()
    assert ("FAILED the diagnostics gate" in text.split("##")[0]) == (not diagnostics["passed"])
    assert "## Where the posterior and the paper differ" in text
    assert text.index("## The answer") < text.index("## Headline numbers") and "headline claims checked here" in text


def test_report_files_contract_and_ids_match_the_replication(run_dir):
    root, _ = run_dir
    fit_dir = root / "hierarchical"
    table = pd.read_csv(fit_dir / "headline.csv")
    assert list(table.columns) == HEADLINE_COLUMNS
    ours = set(table["quantity"])
    assert {"compute_slope", "shapley_compute", "shapley_progress", "shapley_developer", "shapley_model",
            "progress_multiplier_last_vs_first", "within_firm_spread_p90_p10", "within_firm_spread_p75_p25",
            "frontier_compute_share__Llama-2-70B__DeepSeek-V3", "frontier_compute_share__Llama-2-70B__GPT-4.5",
            "developer_multiplier__Nvidia", "progress_halving_time_months"} <= ours
    ols = set(pd.read_csv(root / "ols" / "headline.csv")["quantity"]) - {"r2"}
    # the same ids for the same quantities, so tables line up; a group no family's base developer is in (the
    # paper groups fine-tuners too) has no developer multiplier in the family structure
    based = set(pd.read_csv(fit_dir / "models.csv")["base_developer_group"])
    assert all(q.startswith("developer_multiplier__") and q.split("__")[1] not in based for q in ols - ours), \
        sorted(ols - ours)
    for png in fit_dir.glob("*.png"):
        assert png.with_suffix(".csv").exists(), png.name
    assert {p.stem for p in fit_dir.glob("*.png")} >= {"shapley", "developer_multipliers", "within_firm_spread",
                                                       "frontier_pairs", "frontier_running", "scaling_curve", "ppc"}
    effects = pd.read_csv(fit_dir / "model_effects.csv")
    rows = pd.read_csv(fit_dir / "models.csv")
    assert effects["model_id"].tolist() == rows["model_id"].tolist()
    assert {"family", "p_failure", "compute_median", "developer_median", "family_median",
            "model_effect_median"} <= set(effects.columns)
    assert effects["p_failure"].between(0, 1).all()
    checks = json.loads((fit_dir / "checks.json").read_text())["checks"]  # written by the check step of `run`
    assert set(checks) == {"new_model_in_known_family", "new_family"}
    for check in checks.values():
        assert isinstance(check["passed"], bool) and 0 <= check["max_excess"] <= 1 and check["n"] == len(check["pit"])
    assert checks["new_family"]["folds"] == 2 and (fit_dir / "checks" / "fold2" / "posterior.nc").exists()
    text = (fit_dir / "report.md").read_text()
    assert "`new_family` **" in text and "`new_model_in_known_family` **" in text
    failing = [name for name, check in checks.items() if not check["passed"]]
    top = text.split("## The answer")[0]
    warned = "FAILS a predictive check" in top or "A predictive check fails narrowly" in top
    assert warned == bool(failing) and all(name in top for name in failing)


def test_report_command_on_the_fit_folder(run_dir, capsys):
    root, _ = run_dir
    assert main(["report", str(root / "hierarchical"), "--allow-failed", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Compute's share of the variance in scores" in out and "paper 32.0%" in out
    assert out.rstrip().splitlines()[-1] == f"Open the report in a browser: {root / 'hierarchical' / 'report.html'}"
    assert main(["report", str(root / "no_such_fit")]) == 2
