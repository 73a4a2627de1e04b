"""``model.failures = "everywhere"``: a failed evaluation is possible for every model (a family's root, a fine-tune
alone in its family), not only for a fine-tune compared with its family's other members; damage stays for compared
fine-tunes. The fit's likelihood, its failure probabilities and new rows' predictions read one rule
(``families.mixture_rows``). Checked at prior draws on synthetic families (no NUTS): which models get which
components, the pointwise log density against the mixture computed by hand, and that the default is unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytest
from scipy.special import expit, logit
from scipy.stats import norm

from bayes_sauce.model.families import mixture_logp, mixture_rows
from bayes_sauce.model.new_rows import dataset_frame
from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.predictive.predict import predict
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.spec.schema import ModelSpec, SpecError, merge, read_spec_dict, spec_from_dict

from .synthetic import family_dataset, synthetic_family_models
from .test_noise_density import _likelihood_parameters, _prior_point

EVERYWHERE = {"model": {"failures": "everywhere"}}


def _pointwise(overrides: dict | None, seed: int):
    """At one prior draw: the likelihood's parameters per model, the observed logits and the model's own pointwise
    log-likelihood and failure probability (``p_failure``), from the compiled model."""
    model, design, at = _likelihood_parameters(overrides)
    point = _prior_point(model, seed)
    inputs = [model.rvs_to_values[rv] for rv in model.free_RVs]
    outputs = [model.logp(vars=[model["y"]], sum=False)[0], *model.replace_rvs_by_values([model["p_failure"]])]
    logp, p_failure = pytensor.function(inputs, outputs, on_unused_input="ignore")(*[point[v.name] for v in inputs])
    return at(point), design.families.logit, logp, p_failure


def _by_hand(params: dict, y: np.ndarray) -> np.ndarray:
    """log (weight x density) of the core, damaged and failure components, with scipy, for models inside the edges:
    the core and the damaged component normal on the normalised-accuracy scale (Jacobian du/dy = u (1 - u)), the
    failure a normal logit; the damaged one only for a compared fine-tune and the failure one only where its share is
    positive (else -inf)."""
    u = expit(y)
    pi, w = params["failure_share"], params["damaged_share"] * params["compared"]
    with np.errstate(divide="ignore"):
        return np.stack([
            np.log1p(-pi) + np.log1p(-w) + norm.logpdf(u, expit(params["mu"]), params["core_sd"]) + np.log(u * (1 - u)),
            np.log(w) + np.log1p(-pi) + norm.logpdf(u, expit(params["mu"] - params["shift"]), params["damaged_sd"])
            + np.log(u * (1 - u)),
            np.log(pi) + norm.logpdf(y, params["failure_mean"], np.sqrt(params["failure_var"])),
        ])


def test_the_rule_gives_failures_everywhere_and_damage_to_compared_fine_tunes_only():
    finetune, others = np.array([True, True, False, False]), np.array([True, False, True, False])
    compared = [True, False, False, False]
    for failures, can_fail in (("mixture", compared), ("everywhere", [True] * 4), ("none", [False] * 4)):
        got_compared, got_fail = mixture_rows(ModelSpec(failures=failures), finetune, others)
        assert got_compared.tolist() == compared and got_fail.tolist() == can_fail, failures
    # normal fine-tunes: no damage anywhere, failures where they were
    got_compared, got_fail = mixture_rows(ModelSpec(finetunes="normal"), finetune, others)
    assert not got_compared.any() and got_fail.tolist() == compared


@pytest.mark.parametrize("seed", [1, 2])
def test_with_failures_everywhere_a_root_has_a_failure_share_and_the_hand_computed_mixture(seed):
    """Every model's failure share is the failure rate; a root (never compared) has no damaged component; the
    model's pointwise log-likelihood and p_failure are the mixture computed by hand."""
    params, y, logp, p_failure = _pointwise(EVERYWHERE, seed)
    roots = params["compared"] == 0
    assert roots.sum() >= 5 and (~roots).sum() >= 5
    pi = params["failure_share"]
    assert (pi > 0).all() and np.ptp(pi) == 0
    edge = logit(float(params["edge"]))
    inside = (y > edge + 1e-6) & (y < -edge - 1e-6)
    parts = _by_hand(params, y)
    expected = np.logaddexp.reduce(parts, axis=0)
    np.testing.assert_allclose(logp[inside], expected[inside], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(p_failure[inside], np.exp(parts[2] - expected)[inside], rtol=1e-6, atol=1e-12)
    assert (p_failure[roots] > 0).all()
    # a root's mixture is two components: (1 - pi) core + pi failure
    two = np.logaddexp(parts[0], parts[2])
    np.testing.assert_allclose(logp[roots & inside], two[roots & inside], rtol=1e-7, atol=1e-7)


def test_the_default_is_unchanged_roots_core_only_and_compared_fine_tunes_the_same_as_everywhere():
    """Without the option a root's log-likelihood is the core component's alone and its p_failure exactly 0; a
    compared fine-tune's log-likelihood is the same as with the option at the same point (the same three
    components); only the roots' terms differ between the two."""
    default, y, logp, p_failure = _pointwise(None, 3)
    _, _, logp_everywhere, _ = _pointwise(EVERYWHERE, 3)
    roots = default["compared"] == 0
    assert (default["failure_share"][roots] == 0).all() and (default["failure_share"][~roots] > 0).all()
    edge = logit(float(default["edge"]))
    inside = (y > edge + 1e-6) & (y < -edge - 1e-6)
    parts = _by_hand(default, y)
    np.testing.assert_allclose(logp[roots & inside], parts[0][roots & inside], rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(p_failure[roots], 0.0)
    np.testing.assert_allclose(logp[~roots], logp_everywhere[~roots], rtol=1e-10)
    assert (logp_everywhere[roots] != logp[roots]).all()


def test_a_root_under_failures_everywhere_integrates_to_one():
    """The two-component mixture of a root (core and failure, weights 1 - pi and pi), at a root near chance and one
    well above it, integrates to one over the scores inside the edges plus the censored masses at the edges."""
    model, _, at = _likelihood_parameters(EVERYWHERE)
    params = at(_prior_point(model, 4, failure_rate=-1.0))
    edge = float(params["edge"])
    low = logit(edge)
    inside, edges = np.linspace(low, -low, 200_001)[1:-1], np.array([low, -low])
    roots = np.flatnonzero(params["compared"] == 0)
    for i in roots[[np.argmin(params["mu"][roots]), np.argmax(params["mu"][roots])]]:
        def density(y, i=i):
            ones = np.ones_like(y)
            one = [v[i] * ones if np.ndim(v) else v for v in params.values()]
            return np.exp(mixture_logp(y, *one).eval())

        inner = density(inside)
        total = np.sum((inner[1:] + inner[:-1]) / 2 * np.diff(inside)) + density(edges).sum()
        assert total == pytest.approx(1.0, abs=2e-3), params["mu"][i]


def test_new_rows_read_the_same_rule_a_new_pretraining_run_can_fail():
    """predict under failures = "everywhere": a new family's root and a fitted root predicted as itself have the
    failure rate as their P(failure) and no damage; under the default both have 0 (the rule of the fit's rows)."""
    raw = read_spec_dict(DEFAULT_SPEC)
    dataset = family_dataset(synthetic_family_models(developers=5, families=2, seed=4))
    for overrides, failing in ((EVERYWHERE, True), ({}, False)):
        spec = spec_from_dict(merge(raw, overrides)).with_sampling(draws=20, chains=1)
        fit = sample_prior(spec, dataset, draws=20, seed=6)
        root = fit.rows[fit.rows["is_root"]].iloc[[0]]
        frame = dataset_frame(root, spec.data.time)
        rows = pd.concat([frame.assign(model="fitted-root"),
                          frame.assign(model="new-run", family="new:run", developer="another-lab",
                                       log10_flops=frame["log10_flops"] + 0.5)], ignore_index=True)
        draws = predict(fit, rows, seed=1)
        rate = expit(fit.posterior["failure_rate"].values.ravel())
        for k in range(2):
            p = draws["p_failure"].isel(new_model=k).values.ravel()
            np.testing.assert_allclose(p, rate if failing else 0.0, rtol=1e-9)
            np.testing.assert_array_equal(draws["p_damaged"].isel(new_model=k).values, 0.0)


def test_failures_everywhere_needs_the_family_structure():
    raw = merge(read_spec_dict(DEFAULT_SPEC), {
        "model": {"structure": "developers", "likelihood": "logit_normal", "finetunes": "normal",
                  "failures": "everywhere", "family_dist": "normal", "protocol_offset": False}})
    with pytest.raises(SpecError, match="failures = 'mixture' or 'everywhere' need structure = 'families'"):
        spec_from_dict(raw)


@pytest.mark.parametrize("candidate, base", [("failures_everywhere", DEFAULT_SPEC),
                                             ("walk_failures_everywhere", MODELS_DIR / "developer_walk.toml")])
def test_candidate_specs_change_only_the_failures(candidate, base):
    """Each candidate is its base spec with failures = "everywhere" and nothing else changed (priors included)."""
    base, spec = read_spec_dict(base), read_spec_dict(MODELS_DIR / f"{candidate}.toml")
    assert spec["model"].pop("failures") == "everywhere" and base["model"].pop("failures") == "mixture"
    for key in ("name", "description"):
        spec.pop(key), base.pop(key)
    assert spec == base


def test_normal_fine_tunes_have_no_damaged_component_however_far_below_the_data():
    """With finetunes = "normal" (and no failures, as the small calibration spec) a fine-tune's log-likelihood is the
    core's alone. It
    used to keep the damaged component at weight 1e-12: its logit variance grows as its mean falls, so far below the
    data it outweighed the core, and a fine-tuner's effect six logits down was a second mode (a calibration data set:
    R-hat 1.83, sigma_finetuner 1.6-1.8 in both chains for 0.15 once the component is gone)."""
    overrides = {"model": {"finetunes": "normal", "failures": "none"}}
    params, y, logp, _ = _pointwise(overrides, 3)
    assert not params["compared"].any()
    edge = logit(float(params["edge"]))
    inside = (y > edge + 1e-6) & (y < -edge - 1e-6)
    parts = _by_hand(params, y)
    np.testing.assert_allclose(logp[inside], parts[0][inside], rtol=1e-7, atol=1e-7)
    # far below the data the log-likelihood keeps falling as the mean falls
    far = {**params, "mu": params["mu"] - 8.0}
    farther = {**params, "mu": params["mu"] - 12.0}
    lower = mixture_logp(y, *far.values()).eval()
    lowest = mixture_logp(y, *farther.values()).eval()
    assert (lowest[inside] < lower[inside]).all()
