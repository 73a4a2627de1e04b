"""One model's score taken apart, per posterior draw: the level and each component of its latent logit (whatever
components the model has), its fitted score, its nearest relatives, and what it would score with the median
developer's effect in place of its own.

Components come from the model itself (``posterior.components``, through ``fit.evaluate``); the score is the
model's own link (``design.scale.accuracy``) applied to the sum, so nothing here re-derives the model.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import interval_frame
from bayes_sauce.quantities import decompose, posterior

NOT_COMPONENTS = ("beta", "level")  # the other variables of posterior.components
DEVELOPER = "developer"  # the component the median-developer question replaces
COMPUTE = "compute"
RELATIVES = 8
SUGGESTIONS = 5


class UnknownModelError(ValueError):
    """A model id that is not in the fit; the message suggests the closest ids."""


def close_matches(model_id: str, models: pd.DataFrame, n: int = SUGGESTIONS) -> list[str]:
    """Model ids like ``model_id``: difflib's closest, then ids or display names containing it (any case)."""
    ids = models["model_id"].astype(str).tolist()
    lower = {i.lower(): i for i in ids}
    found = [lower[m] for m in difflib.get_close_matches(model_id.lower(), list(lower), n=n, cutoff=0.5)]
    needle = model_id.lower()
    found += [i for i, name in zip(ids, models["display_name"].astype(str)) if needle in i.lower() or needle in name.lower()]
    return list(dict.fromkeys(found))[:n]


def resolve(model_id: str, models: pd.DataFrame) -> str:
    """``model_id`` if the fit has it; otherwise UnknownModelError naming the closest ids."""
    if model_id in set(models["model_id"].astype(str)):
        return model_id
    matches = close_matches(model_id, models)
    hint = f"; did you mean {', '.join(matches)}?" if matches else "; see the model_id column of the fit's models.csv"
    raise UnknownModelError(f"no model '{model_id}' in the fit ({len(models)} models){hint}")


@dataclass(frozen=True)
class Explanation:
    """The parts of one model's latent logit and score (median, lo, hi), its relatives and how they were chosen."""

    model_id: str
    components: list[str]
    parts: pd.DataFrame
    relatives: pd.DataFrame
    relation: str
    row: pd.Series


def relatives_of(models: pd.DataFrame, model_id: str, n: int = RELATIVES) -> tuple[pd.DataFrame, str]:
    """Other models of the same family, else of the same developer, else every model; nearest in compute first."""
    me = models.set_index("model_id").loc[model_id]
    others = models[models["model_id"] != model_id]
    for relation in ("family", "developer"):
        if relation in models and pd.notna(me[relation]):
            same = others[others[relation] == me[relation]]
            if len(same):
                break
    else:
        relation, same = "compute", others
    distance = (same["log10_flops"] - me["log10_flops"]).abs()
    return same.assign(compute_distance=distance).sort_values(["compute_distance", "model_id"]).head(n), relation


def _parts(comps: xr.Dataset, names: list[str], eta: xr.DataArray, score: xr.DataArray, counterfactual: dict,
           prob: float) -> pd.DataFrame:
    """Long table: level, each component, eta; the fitted score; the median-developer score and the difference."""
    values = {"level": comps["level"], **{c: comps[c] for c in names}, "eta": eta, "score": score, **counterfactual}
    frame = pd.concat([interval_frame(v, prob).assign(part=k) for k, v in values.items()], ignore_index=True)
    kind = {"level": "level", "eta": "total", "score": "score", **{c: "component" for c in names},
            **{k: "counterfactual" for k in counterfactual}}
    frame["kind"] = frame["part"].map(kind)
    frame["unit"] = frame["kind"].map({"score": "score", "counterfactual": "score"}).fillna("logit")
    multiplier = {c: decompose.multiplier(comps[c], comps["beta"]) for c in names if c != COMPUTE}
    equivalent = pd.Series({c: float(m.median()) for c, m in multiplier.items()}, dtype=float)
    frame["compute_equivalent"] = frame["part"].map(equivalent)
    return frame[["part", "kind", "median", "lo", "hi", "unit", "compute_equivalent"]]


def explain(fit: Fit, model_id: str, n_relatives: int = RELATIVES) -> Explanation:
    """Decompose one fitted model's latent logit and score into its components, per draw, with intervals."""
    model_id = resolve(model_id, fit.rows)
    comps = posterior.components(fit)
    names = [str(v) for v in comps.data_vars if v not in NOT_COMPONENTS]
    eta_all = comps["level"] + sum(comps[c] for c in names)
    score_all = fit.design.scale.accuracy(eta_all)
    me = dict(model=model_id)
    counterfactual = {}
    if DEVELOPER in names:
        # The median over the model's developers (in the family structure: the base developers, whose effect a
        # fine-tune's developer component is).
        median_developer = fit.posterior["developer_effect"].median("developer")
        alternative = fit.design.scale.accuracy(eta_all.sel(me) - comps[DEVELOPER].sel(me) + median_developer)
        counterfactual = {"score_with_median_developer": alternative,
                          "score_change_with_median_developer": alternative - score_all.sel(me)}
    parts = _parts(comps.sel(me), names, eta_all.sel(me), score_all.sel(me), counterfactual, fit.prob)
    relatives, relation = relatives_of(fit.rows, model_id, n_relatives)
    fitted = interval_frame(score_all.sel(model=relatives["model_id"].tolist()), fit.prob, "fitted_")
    medians = pd.DataFrame({f"{c}_median": comps[c].sel(model=relatives["model_id"].tolist()).median(("chain", "draw"))
                            .to_numpy() for c in names}, index=fitted.index)
    outcome = fit.spec.data.outcome
    columns = ["model_id", "display_name", "developer", "release_month", "log10_flops", outcome]
    relatives = pd.concat([relatives[[c for c in columns if c in relatives]].reset_index(drop=True),
                           fitted.reset_index(drop=True), medians.reset_index(drop=True)], axis=1)
    row = fit.rows.set_index("model_id").loc[model_id]
    return Explanation(model_id, names, parts, relatives.rename(columns={outcome: "observed"}), relation, row)
