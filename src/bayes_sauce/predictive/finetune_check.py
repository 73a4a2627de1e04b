"""Are ``predict``'s intervals for a new fine-tune of a known base calibrated? A held-out check on the fit's own data.

Every fine-tune of a family with two or more models is asked of ``predict`` as a user would ask it (base_model =
its family, developer = its fine-tuner, its own parameters, tokens, date and source), and the draws are weighted by
Pareto-smoothed importance sampling with the fit's pointwise log-likelihood (in the family structure that of a new
member of the family), so that the model's own score does not inform its prediction: PSIS-LOO (ArviZ's
``loo_pit`` and ``loo_expectations``). Reported: the LOO-PIT (and whether its ECDF stays in the simultaneous band),
the share of observed scores inside the 50% and 90% intervals, and the median absolute error of the LOO median,
beside the naive predictor "the base model's own score" on the fine-tunes whose base is in the data.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats import loo_expectations, loo_pit

from bayes_sauce.defaults import SEED
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS, proportion_interval
from bayes_sauce.model.new_rows import PredictionError
from bayes_sauce.predictive.checks import pit_summary
from bayes_sauce.predictive.loo import marginal_log_likelihood
from bayes_sauce.predictive.new_models import new_model_rows
from bayes_sauce.predictive.predict import NEW_DIM, TABLE, predict

LEVELS = (0.5, 0.9)
PARETO_K_THRESHOLD = 0.7
POINTS = 100.0  # scores are reported in points (percent)


def held_out_frame(fit: Fit) -> pd.DataFrame:
    """The fit's fine-tunes in families of two or more, as ``predict``'s user input (a base_model column)."""
    rows = fit.rows
    size = rows.groupby("family")["model_id"].transform("size")
    tunes = rows[~rows["is_root"].astype(bool) & (size >= 2)]
    return pd.DataFrame({
        "model": tunes["model_id"].astype(str), "base_model": tunes["family"].astype(str),
        "params_b": tunes["params_b"].astype(float).astype(str), "tokens_b": tunes["tokens_b"].astype(float).astype(str),
        "developer": tunes["developer"].astype(str), "developer_group": tunes["developer_group"].astype(str),
        "release_month": tunes["release_month"].astype(str),
        "is_closed": (~tunes["is_leaderboard"].astype(bool)).map({True: "true", False: "false"}),
    }).reset_index(drop=True)


def _base_scores(fit: Fit, families: pd.Series) -> np.ndarray:
    """Each family's root's observed score where the root is a row of the fit, else NaN."""
    rows = fit.rows
    outcome = fit.spec.data.outcome
    roots = rows[rows["is_root"].astype(bool)].drop_duplicates("family").set_index("family")[outcome]
    return families.map(roots).to_numpy(dtype=float)


def finetune_check(fit: Fit, seed: int = SEED) -> tuple[dict[str, Any], pd.DataFrame]:
    """The held-out check's summary and its per-model table (LOO median and interval bounds, PIT, Pareto k, the
    base's score). Needs the fit's log_likelihood group (a fit folder written by ``fit``, loaded whole)."""
    if fit.spec.model.structure != "families":
        raise PredictionError(f"fit '{fit.name}' has no families: the held-out check of fine-tunes needs the family "
                              "structure")
    frame = held_out_frame(fit)
    if frame.empty:
        raise PredictionError(f"fit '{fit.name}' has no fine-tune in a family of two or more models")
    rows = new_model_rows(frame, fit)
    draws = predict(fit, rows, seed, only=TABLE)
    score = draws["score"].rename({NEW_DIM: "model"}).assign_coords(model=frame["model"].to_numpy())
    observed = fit.rows.set_index("model_id").loc[frame["model"], fit.spec.data.outcome].to_numpy(dtype=float)
    log_lik = marginal_log_likelihood(fit).sel(model=frame["model"].to_numpy())
    tree = xr.DataTree.from_dict({
        "posterior": fit.posterior[["beta"]],
        "posterior_predictive": xr.Dataset({"score": score}),
        "observed_data": xr.Dataset({"score": ("model", observed)}).assign_coords(model=frame["model"].to_numpy()),
        "log_likelihood": xr.Dataset({"score": log_lik.transpose(*SAMPLE_DIMS, "model")}),
    })
    probs = sorted({0.5, *((1 - lv) / 2 for lv in LEVELS), *((1 + lv) / 2 for lv in LEVELS)})
    with warnings.catch_warnings():  # the Pareto-k warning: the table and summary count them
        warnings.simplefilter("ignore")
        pit = np.asarray(loo_pit(tree, var_names=["score"])["score"].values)
        quantiles, khat = loo_expectations(tree, var_name="score", kind="quantile", probs=probs)
    q = {p: np.asarray(quantiles.sel(quantile=p).values) for p in probs}
    table = frame[["model", "base_model", "developer"]].rename(columns={"model": "model_id", "base_model": "family"})
    table = table.assign(finetuner_effect=draws["finetuner_effect"].values, observed=observed, loo_median=q[0.5],
                         **{f"loo_q{round(p * 100):02d}": q[p] for p in probs if p != 0.5},
                         pit=pit, pareto_k=np.asarray(khat.values), base_score=_base_scores(fit, frame["base_model"]),
                         p_failure=fit.evaluate(["p_failure"])["p_failure"].mean(SAMPLE_DIMS)
                         .sel(model=frame["model"].to_numpy()).values)
    return summarise(table), table


def summarise(table: pd.DataFrame) -> dict[str, Any]:
    """Coverage of the 50% and 90% intervals (with a Clopper-Pearson 90% interval for the share), median absolute
    errors of the LOO median and of the base's own score (on the fine-tunes whose base is in the data), LOO-PIT."""
    y = table["observed"].to_numpy()
    out: dict[str, Any] = {"n": int(len(table))}
    for level in LEVELS:
        lo, hi = (table[f"loo_q{round(p * 100):02d}"].to_numpy() for p in ((1 - level) / 2, (1 + level) / 2))
        inside = int(((lo <= y) & (y <= hi)).sum())
        out[f"coverage_{round(level * 100)}"] = inside / len(y)
        out[f"coverage_{round(level * 100)}_interval"] = list(proportion_interval(inside, len(y), 0.9))
    error = np.abs(table["loo_median"].to_numpy() - y) * POINTS
    out["median_abs_error_points"] = float(np.median(error))
    based = table["base_score"].notna().to_numpy()
    out["n_base_in_data"] = int(based.sum())
    out["median_abs_error_points_base_in_data"] = float(np.median(error[based])) if based.any() else None
    naive = np.abs(table["base_score"].to_numpy() - y)[based] * POINTS
    out["naive_base_score_median_abs_error_points"] = float(np.median(naive)) if based.any() else None
    out["pareto_k_above_0_7"] = int((table["pareto_k"] > PARETO_K_THRESHOLD).sum())
    pit = pit_summary(table["pit"].to_numpy())
    out["loo_pit"] = {k: pit[k] for k in ("passed", "band", "share_of_grid_outside", "max_excess",
                                          "max_abs_ecdf_deviation")}
    out["by_finetuner_effect"] = {kind: {"n": int(len(part)),
                                         "coverage_90": float(((part["loo_q05"] <= part["observed"])
                                                               & (part["observed"] <= part["loo_q95"])).mean()),
                                         "median_abs_error_points": float(
                                             np.median(np.abs(part["loo_median"] - part["observed"])) * POINTS)}
                                  for kind, part in table.groupby("finetuner_effect")}
    return out
