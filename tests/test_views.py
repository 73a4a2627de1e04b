"""The two views of one posterior: the paper view is the paper's own decomposition (exactly, at the paper's fit), each
view's shares on simulated data with known components, the model view's parts per draw on a family-structure fit made
of prior draws (no sampling), and the structured keys the ids and names are rendered from."""

from __future__ import annotations

from itertools import combinations
from math import factorial

import numpy as np
import pytensor.tensor as pt
import pytest
import xarray as xr

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.load import load
from bayes_sauce.data.paper_numbers import load_paper_numbers
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.families import FamilySpread
from bayes_sauce.paths import DEFAULT_SPEC, OLS_SPEC
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.quantities import decompose, latent, posterior, views
from bayes_sauce.quantities.keys import MODEL, PAPER, Key
from bayes_sauce.replication import ols
from bayes_sauce.reporting.claims import as_printed
from bayes_sauce.spec.schema import load_spec

from .synthetic import family_dataset, synthetic_dataset, synthetic_family_models

# pyfixest 0.60 calls pandas methods that pandas 3.1 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")


def brute_force_shapley(value, players: list[str]) -> dict[str, float]:
    """Shapley values by the permutation formula, each coalition's value from ``value(frozenset)``."""
    n = len(players)
    out = {}
    for p in players:
        others = [q for q in players if q != p]
        out[p] = sum(factorial(len(s)) * factorial(n - len(s) - 1) / factorial(n)
                     * (value(frozenset(s) | {p}) - value(frozenset(s)))
                     for size in range(n) for s in combinations(others, size))
    return out


def projected_share(columns: np.ndarray, target: np.ndarray, total: np.ndarray) -> float:
    """Variance of the least-squares projection of ``target`` on a constant and ``columns``, over ``total``'s."""
    design = np.column_stack([np.ones(len(target)), *([columns] if columns.size else [])])
    fitted = design @ np.linalg.lstsq(design, target, rcond=None)[0]
    return float(np.var(fitted) / np.var(total))


@pytest.fixture(scope="module")
def replication() -> ols.Replication:
    return ols.replicate(load_spec(OLS_SPEC), load(), replicates=0, progress=False)


def test_paper_view_of_the_papers_own_fit_is_the_replication(replication):
    """The done-when test: the paper-view code at the paper's OLS gives back the OLS fit and its Shapley shares."""
    rep = replication
    eta = xr.DataArray(rep.design.y.to_numpy(), dims="model")
    paper = views.paper_decomposition(rep.design, rep.components["beta"], eta)
    np.testing.assert_allclose(paper.shares.values, rep.shapley["share"].to_numpy(), rtol=0, atol=1e-10)
    for component in ("compute", "time", "developer", "model_effect"):
        np.testing.assert_allclose(paper.components[component], rep.components[component], atol=1e-10)
    numbers = load_paper_numbers("ols")
    for share, token in zip(paper.shares.values, ("compute", "progress", "developer", "model")):
        assert as_printed(100 * share, 100 * numbers.loc[f"shapley_{token}", "value"], 1), token  # 32.0/2.7/17.9/47.4
    coefficients = rep.fit.coefficients.set_index("term")["estimate"]
    groups = paper.groups.drop_sel(group=rep.design.base_group)
    np.testing.assert_allclose(groups, coefficients[groups["group"].values], atol=1e-10)


def test_paper_view_shares_on_simulated_data_with_known_components():
    """eta = b x + cohort + group + e, e orthogonal to every regressor: at the true slope the paper view gives back the
    components and the regression's Shapley shares; at any other slope (one per draw) it gives the projection
    shares computed here coalition by coalition, summing to one."""
    models = synthetic_dataset(120, seed=3).models
    design = ols.build_design(load_spec(OLS_SPEC), Dataset(models=models))
    rng = np.random.default_rng(0)
    x = design.X[ols.COMPUTE_TERM].to_numpy()
    dummies = {p: design.X[cols].to_numpy() for p, cols in design.groups.items()}
    tau, nu = rng.normal(0, 0.7, dummies["time"].shape[1]), rng.normal(0, 0.5, dummies["developer"].shape[1])
    regressors = np.column_stack([np.ones(len(x)), x, dummies["time"], dummies["developer"]])
    noise = rng.normal(0, 0.6, len(x))
    noise -= regressors @ np.linalg.lstsq(regressors, noise, rcond=None)[0]  # exactly orthogonal
    beta = 0.8
    known = {"compute": beta * (x - 18), "time": dummies["time"] @ tau, "developer": dummies["developer"] @ nu}
    eta = -1.0 + sum(known.values()) + noise
    betas = xr.DataArray([[beta, 0.5, 1.1]], dims=SAMPLE_DIMS)
    paper = views.paper_decomposition(design, betas, xr.DataArray(eta, dims="model"))
    at_truth = paper.components.isel(chain=0, draw=0)
    for name, values in known.items():
        np.testing.assert_allclose(at_truth[name], values, atol=1e-10)
    np.testing.assert_allclose(at_truth["model_effect"], noise, atol=1e-10)
    np.testing.assert_allclose(paper.shares.sum("component"), 1.0, atol=1e-12)
    players = ["compute", "time", "developer"]
    for draw, b in enumerate(betas.values[0]):
        comps = paper.components.isel(chain=0, draw=draw)
        explained = sum(comps[p].values for p in players)
        columns = {"compute": x[:, None], **{p: dummies[p] for p in ("time", "developer")}}

        def value(coalition: frozenset, explained=explained) -> float:
            cols = np.column_stack([columns[p] for p in players if p in coalition]) if coalition else np.empty(0)
            return projected_share(cols, explained, eta)

        expected = brute_force_shapley(value, players)
        for p in players:
            assert float(paper.shares.isel(chain=0, draw=draw).sel(component=p)) == pytest.approx(expected[p], abs=1e-10)
        if draw == 0:  # at the true slope, each coalition's value is the R2 of eta on its regressors (Figure 1)
            r2 = {p: projected_share(columns[p], eta, eta) for p in players}
            assert value(frozenset({"time"})) == pytest.approx(r2["time"], abs=1e-12)


def test_model_view_shares_on_known_components():
    """Orthogonal components of known variances: the model view's shares (one regressor per component, the last the
    residual) are each variance over the total, per draw, and sum to one."""
    names = ["compute", "pretraining_cohort", "base_developer", "family", "fine_tune", "damage", "failed_evaluation",
             "evaluation_noise"]
    rng = np.random.default_rng(1)
    basis, _ = np.linalg.qr(rng.normal(size=(300, len(names))) - rng.normal(size=(1, len(names))))
    basis -= basis.mean(axis=0)
    basis, _ = np.linalg.qr(basis)  # centred and orthogonal columns
    scales = rng.uniform(0.2, 2.0, (2, 3, len(names)))  # per chain and draw
    values = np.einsum("mk,cdk->cdmk", basis, scales)
    comps = xr.Dataset({n: (("chain", "draw", "model"), values[..., i]) for i, n in enumerate(names)})
    shares = decompose.component_shapley(comps, "evaluation_noise")
    expected = scales**2 / (scales**2).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(shares.transpose("chain", "draw", "component").values, expected, atol=1e-10)


@pytest.fixture(scope="module")
def prior_fit():
    """The default spec on synthetic families (four developers with a single family each) and planted failures, as a
    Fit whose posterior is 40 prior draws: no sampling."""
    frame = synthetic_family_models(developers=10, families=2, finetunes=3, failures=3, seed=4)
    labs = frame.loc[frame["model_id"].str.contains("__base-"), "developer_raw"]
    names = labs[labs.str.contains("-lab")].unique()[:4]  # Other labs: each its own developer
    frame = frame[~frame["base_model"].isin([f"{n}/base-1" for n in names])].reset_index(drop=True)
    return sample_prior(load_spec(DEFAULT_SPEC), family_dataset(frame), draws=40, seed=5)


def test_model_view_parts_per_draw(prior_fit):
    fit = prior_fit
    comps = posterior.components(fit)
    model = views.model_view(fit, comps)
    parts = model.components
    eta = views.latent_eta(comps)
    np.testing.assert_allclose(parts["level"] + sum(parts[c] for c in decompose.component_names(parts)), eta,
                               atol=1e-9)  # the parts add up to the same eta, draw by draw
    fam, post = fit.design.families, fit.posterior
    np.testing.assert_allclose(parts["base_developer"] + parts["family"], comps["developer"] + comps["family"],
                               atol=1e-12)  # the single-family split moves value between the two, never in or out
    tuners = post["finetuner_effect"].values[..., np.maximum(fam.finetuner_idx, 0)]
    np.testing.assert_allclose(parts["fine_tune"], np.where(fam.is_finetune, tuners, 0.0))
    x_family = fam.x_c[fam.family_idx] + fit.design.c0
    expected = (post["beta"].values[..., None] * (x_family - 18)
                + post["beta_within"].values[..., None] * (fit.design.x_c + fit.design.c0 - x_family))
    np.testing.assert_allclose(parts["compute"], expected, atol=1e-9)
    np.testing.assert_allclose(model.shares.sum("component"), 1.0, atol=1e-10)
    assert list(model.shares["component"].values) == decompose.component_names(parts)
    # Failed evaluations and damage are drawn per draw: only where the model can be one, about as often as its
    # probability, and only a failed model's failure component is non-zero.
    states = latent.mixture_states(fit)
    p_fail = states.probability.sel(mixture_state="failure")
    assert not (states.failed & (p_fail == 0)).any() and not (states.damaged & states.failed).any()
    assert ((parts["failed_evaluation"] != 0) <= states.failed).all() and ((parts["damage"] != 0) <= states.damaged).all()
    assert abs(float(states.failed.mean()) - float(p_fail.mean())) < 0.02
    assert bool(np.isnan(model.efficiency.values.where(states.failed)).all())  # a failed model has no efficiency


def test_single_family_developers_split_from_their_conditional_distribution(prior_fit):
    fit = prior_fit
    single = fit.design.units_per_developer == 1
    assert single.sum() == 4
    moved = latent.developer_split_draws(fit)
    assert (moved.isel(developer=np.flatnonzero(~single)) == 0).all()
    drawn = moved.isel(developer=np.flatnonzero(single))
    np.testing.assert_array_equal(moved, latent.developer_split_draws(fit))  # seeded: the same fit, the same draws
    post = fit.posterior
    sigma = post["sigma_developer"]
    spread = post["sigma_family"]  # the families' standard deviation
    assert np.allclose(FamilySpread.of_sd(pt.as_tensor(spread.values), pt.as_tensor(post["family_skew"].values)).sd.eval(),
                       spread.values)
    conditional = sigma * spread / np.sqrt(sigma**2 + spread**2)
    z = (drawn / conditional).values.ravel()  # standard normal draws
    assert abs(z.mean()) < 0.3 and 0.8 < z.std() < 1.2


def test_keys_render_the_replications_ids_and_readable_names(replication):
    assert Key("frontier_share", PAPER, "compute", pair=("Llama-2-70B", "DeepSeek-V3")).id == \
        "frontier_compute_share__Llama-2-70B__DeepSeek-V3"
    assert Key("shapley", PAPER, "model_effect").id == "shapley_model"
    assert Key("shapley", PAPER, "time").id == "shapley_progress"
    assert Key("within_firm_spread", MODEL, subject="Meta", spread="p90_p10", variant="beta_at_median").id == \
        "within_firm_spread_p90_p10__Meta__beta_at_median__model_view"
    assert Key("developer_multiplier", PAPER, subject="Other-Small x").id == "developer_multiplier__Other-Small-x"
    assert Key("developer_multiplier", MODEL, subject="Nvidia").name == \
        "Nvidia's compute multiplier vs Other-Small (model view)"
    assert Key("frontier_share", MODEL, "family", pair=("A", "B")).name == \
        "Base-model family's share of the gain, A to B (model view)"
    assert Key("shapley", PAPER, "model_effect").name == "Model-specific efficiency's share of the variance in scores " \
                                                         "(paper view)"
    ids = replication.headline["quantity"]
    assert ids.is_unique and replication.headline["name"].str.len().gt(0).all()
    assert {"shapley_progress", "developer_multiplier__Nvidia", "within_firm_spread_p90_p10"} <= set(ids)


def test_headline_table_has_both_views_and_unique_ids(prior_fit):
    quantities = posterior.quantities(prior_fit)
    table = posterior.summarise(quantities, load_paper_numbers("ols"), 0.9)
    assert table["quantity"].is_unique
    assert set(table["view"]) == {"", PAPER, MODEL}
    assert table.loc[table["view"] == MODEL, "quantity"].str.endswith("__model_view").all()
    assert table.loc[table["view"] == MODEL, "paper"].isna().all()  # the model view is never compared with the paper
    assert table["informed"].isna().all()  # without prior draws to compare with, nothing is assessed
    by_id = {q.id: q for q in quantities}
    for view in (PAPER, MODEL):
        shares = [q.value for q in quantities if q.key.kind == "shapley" and q.key.view == view]
        np.testing.assert_allclose(sum(shares), 1.0, atol=1e-9)
    assert "failures_per_draw__model_view" in by_id and "n_failures" not in by_id
    assert not any("including_failures" in q for q in by_id)
