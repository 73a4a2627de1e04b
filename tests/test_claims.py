"""The paper's claims: each claim's posterior probability as the paper states it, the verdict that follows by the
stated rule (a descriptive claim needs every number, not any), the paper's value against our interval as a second
column only; which quantities the data do not inform; psense scales every prior of the spec."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_sauce.model.build import build_model
from bayes_sauce.model.design import prepare
from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.quantities import posterior
from bayes_sauce.quantities.headline import Quantity
from bayes_sauce.quantities.informed import is_informed, prior_closeness
from bayes_sauce.quantities.keys import MODEL, PAPER, Key
from bayes_sauce.reporting.claims import (CONTRADICTED, FRONTIER, NOT_REPRODUCED, PROGRESS, REPRODUCED, SUPPORTED,
                                          THRESHOLD, UNDECIDED, UNINFORMED, WITHIN, as_printed, claims_table, overall,
                                          verdict, verdicts)
from bayes_sauce.spec.priors import prior_variables
from bayes_sauce.spec.schema import load_spec

from .synthetic import synthetic_dataset

DRAWS = 1000


def _draws(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=float).reshape(1, -1), dims=("chain", "draw"))


def _quantities() -> dict[str, Quantity]:
    """Known draws: compute's frontier share uniform on 0.70..1.00 (P(0.795 <= share < 0.905) = 0.11/0.30), the
    within-firm spread 30x..60x uniform (P(> 40x) = 2/3), a group multiplier 5x..50x (P(some group >= 10x) = 0.8),
    progress 2x..20x (P(> 1x) = 1); the threshold falls are descriptive (no draws)."""
    grid = (np.arange(DRAWS) + 0.5) / DRAWS
    out = [
        Quantity(FRONTIER, _draws(0.7 + 0.3 * grid), "share", "d"),
        Quantity(Key("frontier_share", PAPER, "time", pair=FRONTIER.pair), _draws(0.3 - 0.3 * grid), "share", "d"),
        Quantity(Key("frontier_share", MODEL, "compute", pair=FRONTIER.pair), _draws(0.7 + 0.3 * grid), "share", "d"),
        Quantity(WITHIN, _draws(30 + 30 * grid), "x", "d"),
        Quantity(Key("developer_multiplier", PAPER, subject="Nvidia"), _draws(5 + 45 * grid), "x", "d"),
        Quantity(Key("developer_multiplier", PAPER, subject="Meta"), _draws(np.full(DRAWS, 2.0)), "x", "d"),
        Quantity(PROGRESS, _draws(2 + 18 * grid), "x", "d"),
        Quantity(THRESHOLD, xr.DataArray(8016.2), "x", "d"),
        Quantity(Key("threshold_fall", subject="majors"), xr.DataArray(19460.0), "x", "d"),
    ]
    return {q.id: q for q in out}


PAPER_VALUES = pd.DataFrame({"value": {FRONTIER.id: 0.796, WITHIN.id: 40.55, "developer_multiplier__Nvidia": 61.4,
                                       PROGRESS.id: 7.52, THRESHOLD.id: 8016.0, "threshold_compute_fall_majors": 52.0}})


def _tables(quantities: dict[str, Quantity], informed: dict[str, bool] | None = None) -> dict[str, pd.DataFrame]:
    table = posterior.summarise(list(quantities.values()), PAPER_VALUES, 0.9)
    for q, flag in (informed or {}).items():
        table.loc[table["quantity"] == q, ["informed", "width_vs_prior"]] = [flag, 0.9]
    return {"headline": table, "claims": claims_table(quantities, table)}


def test_claim_probabilities_are_the_claims_as_the_paper_states_them():
    claims = _tables(_quantities())["claims"].set_index("claim")
    assert claims.loc["frontier", "probability"] == pytest.approx(0.11 / 0.30, abs=2e-3)  # 80-90% in whole percent
    assert claims.loc["within_firm", "probability"] == pytest.approx(2 / 3, abs=2e-3)
    assert claims.loc["developers", "probability"] == pytest.approx(40 / 45, abs=2e-3)  # some group >= 10x
    assert claims.loc["progress", "probability"] == 1.0
    assert claims.loc["frontier", "verdict"] == UNDECIDED and claims.loc["progress", "verdict"] == SUPPORTED
    # The paper's value inside our interval stays a second column: inside here, yet the claim is only undecided.
    assert claims.loc["frontier", "paper_value"] == "inside" and claims.loc["within_firm", "paper_value"] == "inside"
    assert claims.loc["frontier", "model_view_quantity"] == Key("frontier_share", MODEL, "compute",
                                                                pair=FRONTIER.pair).id  # the first present
    assert set(claims.loc["frontier", "numbers"].split(";")) == {FRONTIER.id, "frontier_progress_share__"
                                                                               "Llama-2-70B__DeepSeek-V3"}
    assert "variance" not in claims.index  # a claim whose lead number was not computed is left out


def test_a_descriptive_claim_needs_every_number_as_printed():
    """Issue 33: 8,016x as printed beside 19,460x against the paper's 52x read REPRODUCED (``.any()``)."""
    claims = _tables(_quantities())["claims"].set_index("claim")
    assert np.isnan(claims.loc["threshold", "probability"]) and claims.loc["threshold", "verdict"] == NOT_REPRODUCED
    same = _quantities() | {"threshold_compute_fall_majors": Quantity(Key("threshold_fall", subject="majors"),
                                                                      xr.DataArray(51.8), "x", "d")}
    assert _tables(same)["claims"].set_index("claim").loc["threshold", "verdict"] == REPRODUCED


@pytest.mark.parametrize(("probability", "informed", "expected"), [
    (0.95, True, SUPPORTED), (0.9, None, SUPPORTED), (0.5, True, UNDECIDED), (0.1, True, CONTRADICTED),
    (0.02, True, CONTRADICTED), (0.99, False, UNINFORMED), (0.99, "False", UNINFORMED), (0.99, np.nan, SUPPORTED),
])
def test_verdicts_follow_from_the_probability_by_the_rule(probability, informed, expected):
    assert verdict(probability, informed, pd.Series(["inside"])) == expected


def test_a_claim_the_data_do_not_inform_gets_no_verdict_and_the_sentences_say_it():
    tables = _tables(_quantities(), informed={WITHIN.id: False})
    found = {v.claim.key: v for v in verdicts(tables, 0.9)}
    assert found["within_firm"].status == UNINFORMED and "do not inform it" in found["within_firm"].sentence
    assert "has posterior probability 0.37: undecided" in found["frontier"].sentence
    assert "What the paper's regression cannot see: Compute's share of the gain" in found["frontier"].sentence
    assert "(model view)" in found["frontier"].sentence
    assert "Descriptive (no model involved)" in found["threshold"].sentence and "19,460x" in found["threshold"].sentence
    text = overall(list(found.values()), tables["headline"], 0.9)
    assert text.startswith("Of the paper's 5 headline claims checked here, 1 is supported, 2 are undecided, "
                           "1 is not reproduced, 1 is not informed by the data")


def test_a_number_is_the_papers_when_it_rounds_to_it():
    assert as_printed(2.2746, 2.3) and not as_printed(2.36, 2.3)
    assert as_printed(8016.4, 8016.0) and not as_printed(4462.4, 4459.0)
    assert as_printed(0.3204, 0.32, decimals=3) and not as_printed(0.3206, 0.32, decimals=3)


def test_the_informed_rule_compares_posterior_and_prior():
    rng = np.random.default_rng(0)
    beta, prior_beta = _draws(rng.normal(0.8, 0.05, DRAWS)), _draws(rng.normal(0.5, 0.5, DRAWS))
    prior = Quantity(Key("scalar", subject="s"), _draws(rng.normal(0, 1, DRAWS)), "logit", "d")

    def judged(values: np.ndarray, unit: str = "logit", before: Quantity = prior) -> bool | None:
        return is_informed(*prior_closeness(Quantity(before.key, _draws(values), unit, "d"), before, 0.9, beta,
                                            prior_beta))

    assert judged(rng.normal(0, 0.9, DRAWS)) is False  # as wide as the prior and where the prior is
    assert judged(rng.normal(0, 0.1, DRAWS)) is True  # the data narrow it
    assert judged(rng.normal(1.5, 0.9, DRAWS)) is True  # the data move it out of the prior's bulk
    # A multiplier is judged on its logit scale: the prior of beta alone would make its prior interval endless.
    effect = rng.normal(0, 1, DRAWS)
    multiplier = Quantity(Key("developer_multiplier", MODEL, subject="g"), _draws(10 ** (effect / prior_beta.values)),
                          "x", "d")
    assert judged(10 ** (rng.normal(0, 0.9, DRAWS) / beta.values[0]), "x", multiplier) is False
    assert judged(10 ** (rng.normal(0, 0.1, DRAWS) / beta.values[0]), "x", multiplier) is True


def test_psense_scales_every_prior_of_the_spec():
    """Every random variable the default model draws from a spec prior is power-scaled, the family structure's too
    (the old list scaled six and skipped sigma_family, family_skew and the rest)."""
    spec = load_spec(DEFAULT_SPEC)
    scaled = set(prior_variables(spec.priors))
    model = build_model(spec, prepare(spec, synthetic_dataset(60, seed=0))[0])
    free = {v.name for v in model.free_RVs}
    assert {"sigma_family", "family_skew", "sigma_finetuner", "beta_within", "accuracy_noise", "damaged_share",
            "damaged_shift", "sigma_damaged", "failure_rate", "mundlak", "beta", "alpha", "sigma_developer",
            "pool_offset", "period_offset"} <= scaled & free
    for key in type(spec.priors).model_fields:  # each prior of the spec names a variable psense would scale
        assert any(v in scaled for v in ({"group": ["pool_offset"], "period": ["period_offset"]}.get(key, [key]))), key
    developers = load_spec(MODELS_DIR / "developer_pooling.toml")
    assert {"sigma_model", "group_offset", "pool_offset"} <= set(prior_variables(developers.priors))
