"""The prior predictive summary of simulated leaderboards (benchmarks/prior_leaderboards.py): the shares it counts."""

from __future__ import annotations

import importlib.util

import numpy as np

from bayes_sauce.paths import PROJECT_ROOT

_PATH = PROJECT_ROOT / "benchmarks" / "prior_leaderboards.py"
_SPEC = importlib.util.spec_from_file_location("prior_leaderboards", _PATH)
prior_leaderboards = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(prior_leaderboards)


def test_shares_count_the_edges_within_half_a_question_per_leaderboard():
    n = 100  # half a question: 0.005
    scores = np.array([[0.1, 0.104, 0.5, 0.95, 0.996, 1.0],
                       [0.106, 0.3, 0.4, 0.5, 0.6, 0.7]])
    shares = prior_leaderboards.leaderboard_shares(scores, floor=0.1, n_questions=n, high=0.9)
    np.testing.assert_allclose(shares["median score"], [0.725, 0.45])
    np.testing.assert_allclose(shares["share > 0.9"], [3 / 6, 0])
    np.testing.assert_allclose(shares["share at chance"], [2 / 6, 0])
    np.testing.assert_allclose(shares["share perfect"], [2 / 6, 0])


def test_drivers_rank_the_parameter_that_makes_the_share_first_and_skip_vectors_and_constants():
    import xarray as xr

    rng = np.random.default_rng(0)
    driver, noise = rng.normal(size=(1, 200)), rng.normal(size=(1, 200))
    parameters = xr.Dataset({"driver": (("chain", "draw"), driver), "noise": (("chain", "draw"), noise),
                             "fixed": (("chain", "draw"), np.ones((1, 200))),
                             "vector": (("chain", "draw", "k"), rng.normal(size=(1, 200, 3)))})
    share = 1 / (1 + np.exp(-3 * driver.ravel()))
    text = prior_leaderboards.drivers(parameters, share, top=2)
    assert text.startswith("driver +1.00, noise")
    assert "fixed" not in text and "vector" not in text
