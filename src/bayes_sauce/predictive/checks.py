"""Predictive checks: PIT-ECDF with simultaneous bands at two levels, and the score ECDF against replications.

- A new model of a known family (the family structure; a new model with the same inputs otherwise):
  LOO-PIT (ArviZ), each model's observed logit against the draws of a new member of its family by its
  developer, weighted by Pareto-smoothed importance sampling so that the model's own score does not
  inform its prediction.
  In the family structure, over the models of families with two or more members (PSIS cannot leave out
  the only model of a family, whose level it alone pins; that model is a new family's).
- A new family (the family structure only): one PIT per family, its root (or first member) under a new
  family, cross-validated over folds of families (``family_folds``): the one check that samples (a fit per fold),
  so the check step (:mod:`bayes_sauce.predictive.check_step`) computes it and keeps it with the fit.

Each check passes when the PIT values' ECDF stays inside ArviZ's simultaneous band (``PIT_BAND``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats import loo_pit
from arviz_stats.ecdf_utils import ecdf_pit

from bayes_sauce.defaults import SEED
from bayes_sauce.fit.fit import REPLICATED_DATASETS, Fit
from bayes_sauce.fit.fit_store import Echo, quiet
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.model.new_rows import dataset_frame
from bayes_sauce.predictive.family_folds import FOLDS, as_new_families, new_family_pit
from bayes_sauce.predictive.loo import marginal_log_likelihood
from bayes_sauce.predictive.predict import NEW_DIM, predict
from bayes_sauce.scale import ScoreScale

PREDICTIVE_SAMPLES = REPLICATED_DATASETS  # replicated datasets behind the score ECDF's bands
PIT_BAND = 0.95  # simultaneous coverage of the band a calibrated PIT-ECDF stays inside
PIT_SIMULATIONS = 1000


def ecdf_band(scores: np.ndarray, grid: np.ndarray, prob: float, prefix: str) -> pd.DataFrame:
    """Median and interval over replicated datasets (rows of ``scores``) of their ECDF on ``grid``."""
    ecdf = (scores[:, :, None] <= grid).mean(axis=1)
    q = np.quantile(ecdf, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    return pd.DataFrame({f"{prefix}_lo": q[0], f"{prefix}_median": q[1], f"{prefix}_hi": q[2]})


def sample_datasets(draws: xr.DataArray, n: int, seed: int = SEED) -> np.ndarray:
    """``n`` posterior draws (chosen at random, seeded) of a (chain, draw, model) array, as (n, model)."""
    stacked = draws.stack(sample=SAMPLE_DIMS).transpose("sample", ...).values
    return stacked[np.random.default_rng(seed).choice(len(stacked), min(n, len(stacked)), replace=False)]


def replicated_scores(predictive: xr.Dataset, scale: ScoreScale) -> xr.DataArray:
    """A posterior or prior predictive group's draws on the score scale (counts / questions, or the logit y back)."""
    if "k" in predictive:
        return predictive["k"] / scale.n_questions
    return scale.accuracy(predictive["y"])


def _families(fit: Fit) -> bool:
    return fit.spec.model.structure == "families"


def pit_summary(pit: np.ndarray, prob: float = PIT_BAND) -> dict[str, Any]:
    """Whether the PIT values' ECDF stays inside the simultaneous band, and by how much it leaves it; with no
    values (no model the check applies to) it cannot pass and says so."""
    if len(pit) == 0:
        return {"passed": False, "n": 0, "band": prob, "share_of_grid_outside": None, "max_excess": None,
                "max_abs_ecdf_deviation": None, "pit": [], "note": "no model to check (none predictable)"}
    points, ecdf, lower, upper = ecdf_pit(np.asarray(pit, dtype=float), prob, PIT_SIMULATIONS,
                                          rng=np.random.default_rng(SEED))
    excess = np.maximum(lower - ecdf, ecdf - upper)
    return {"passed": bool((excess <= 0).all()), "n": int(len(pit)), "band": prob,
            "share_of_grid_outside": float((excess > 0).mean()), "max_excess": float(max(excess.max(), 0.0)),
            "max_abs_ecdf_deviation": float(np.abs(ecdf - points).max()), "pit": np.asarray(pit).tolist()}


def known_family_pit(fit: Fit) -> np.ndarray:
    """LOO-PIT of every model: its observed logit against a new member of its family (a new model with the
    same inputs where there are no families), PSIS-weighted by the integrated log-likelihood."""
    scale = fit.design.scale
    draws = predict(fit, dataset_frame(fit.rows, fit.spec.data.time), SEED)["eta"].rename({NEW_DIM: "model"})
    u = scale.inside(scale.normalised(fit.rows[scale.outcome].to_numpy(dtype=float)))
    observed = np.log(u) - np.log1p(-u)
    tree = xr.DataTree.from_dict({
        "posterior": fit.posterior[["beta"]],
        "posterior_predictive": xr.Dataset({"y": draws.drop_vars("model")}),
        "observed_data": xr.Dataset({"y": ("model", observed)}),
        "log_likelihood": xr.Dataset({"y": marginal_log_likelihood(fit).drop_vars("model")}),
    })
    with warnings.catch_warnings():  # the Pareto-k warning: LOO's own record has the counts
        warnings.simplefilter("ignore")
        return np.asarray(loo_pit(tree, var_names=["y"])["y"].values)


def predictive_checks(fit: Fit, folder: Path | None = None, folds: int = FOLDS, echo: Echo = quiet,
                      new_family: bool = True) -> dict[str, dict[str, Any]]:
    """checks.json: one entry per predictive check, each with ``passed`` and the numbers behind it.

    The family structure's new-family check fits ``folds`` fits without a fold of families (saved, and
    reused, under ``folder``, by default the fit's ``checks/`` folder); ``new_family=False`` leaves it out, its
    entry saying that it was not computed and that ``bayes-sauce check`` computes it."""
    pit = known_family_pit(fit)
    if not _families(fit):
        return {"new_model_same_inputs": {"what": "LOO-PIT of each model's score under a new model with the same "
                                                  "inputs", **pit_summary(pit), "model_id": fit.rows["model_id"].tolist()}}
    fam = fit.design.families
    compared = fam.models_per_family[fam.family_idx] >= 2
    known = {"what": "LOO-PIT of each model's score under a new member of its family (families with two or more "
                     "models; a family of one is a new family once its model is left out)",
             **pit_summary(pit[compared]), "model_id": fit.rows.loc[compared, "model_id"].tolist()}
    what = (f"PIT of each family's root (or first member) under a new family, from {folds} fits each without a fold "
            "of families (by an unseen developer where the developer based no other)")
    if not new_family:
        return {"new_model_in_known_family": known,
                "new_family": {"what": what, **pit_summary([]), "computed": False,
                               "note": f"not computed: `bayes-sauce check {fit.path or 'FIT'}` computes it ({folds} "
                                       "fits without a fold of families each)"}}
    held = new_family_pit(fit, folder or fit.path / "checks", folds, echo)
    usable = held["pit"].notna()
    return {
        "new_model_in_known_family": known,
        "new_family": {
            "what": what, **pit_summary(held.loc[usable, "pit"].to_numpy()),
            "model_id": held.loc[usable, "model_id"].tolist(),
            "folds": folds, "fold_gates_passed": bool(held["fold_gate_passed"].all()),
            "developer_unseen": int((~held.loc[usable, "developer_seen"]).sum()),
            "not_predictable": held.loc[~usable, "model_id"].tolist()},
    }


def ppc_table(fit: Fit) -> pd.DataFrame:
    """Observed ECDF of scores and the ECDF bands of replicated datasets: ``fresh`` (every model a new one:
    in the family structure, its family a new one too) and ``own`` (the fit's posterior predictive: each
    model's own effect, or, with families, a new member of its own family)."""
    scale = fit.design.scale
    observed = fit.rows[scale.outcome].to_numpy(dtype=float)
    time = fit.spec.data.time
    frame = as_new_families(fit.rows, time) if _families(fit) else dataset_frame(fit.rows, time)
    fresh = predict(fit.thinned(PREDICTIVE_SAMPLES), frame, SEED)["score"]  # the draws sample_datasets keeps
    own = replicated_scores(fit.tree["posterior_predictive"].to_dataset(), scale)
    fresh = sample_datasets(fresh.rename({NEW_DIM: "model"}), PREDICTIVE_SAMPLES)
    own = sample_datasets(own, PREDICTIVE_SAMPLES)
    grid = np.linspace(min(observed.min(), fresh.min()), max(observed.max(), fresh.max()), 200)
    return pd.concat([pd.DataFrame({"score": grid, "observed": (observed[:, None] <= grid).mean(axis=0)}),
                      ecdf_band(fresh, grid, fit.prob, "fresh"), ecdf_band(own, grid, fit.prob, "own")], axis=1)
