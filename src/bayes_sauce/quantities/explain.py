"""One model's score taken apart, per posterior draw: the level and each component of its latent logit (whatever
components the model has), the score its inputs lead the model to expect, its nearest relatives, and what it would
score with the median developer's effect in place of its own.

Components come from the model itself (``posterior.components``, through ``fit.evaluate``); the score is the
model's own link (``design.scale.accuracy``) applied to the sum, so nothing here re-derives the model. In the family
structure the components sum to the observed logit (model effects are integrated out of the likelihood, so the
model-specific component is what is left), so the expected score comes from ``predict``: the model's inputs (its
family, fine-tuner, compute) without a deviation of its own, and the score a new model with those inputs would get.
The developer component is the developer of the model's base (the family's), whose name the explanation carries;
a fine-tune's fine-tuner effect is part of its model-specific component, and is shown as such.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import interval_frame
from bayes_sauce.model.new_rows import dataset_frame
from bayes_sauce.predictive.base_models import closest
from bayes_sauce.predictive.new_models import new_model_rows, prediction_table
from bayes_sauce.predictive.predict import NEW_DIM, predict
from bayes_sauce.quantities import decompose, posterior
from bayes_sauce.quantities.headline import safe_label

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
    needle = model_id.lower()
    named = [i for i, name in zip(ids, models["display_name"].astype(str)) if needle in name.lower()]
    return list(dict.fromkeys([*closest(model_id, ids, n), *named]))[:n]


def file_stem(model_id: str) -> str:
    """A file name for a model's explanation: its id made safe, with a digest of the id where that changed it
    (ids that differ only in characters a file name cannot carry, such as 'org__模型' and 'org__数据', would
    otherwise share one file)."""
    stem = safe_label(model_id)
    return stem if stem == model_id else f"{stem}-{hashlib.sha256(model_id.encode()).hexdigest()[:8]}"


def resolve(model_id: str, models: pd.DataFrame) -> str:
    """``model_id`` if the fit has it; otherwise UnknownModelError naming the closest ids."""
    if model_id in set(models["model_id"].astype(str)):
        return model_id
    matches = close_matches(model_id, models)
    hint = f"; did you mean {', '.join(matches)}?" if matches else "; see the model_id column of the fit's models.csv"
    raise UnknownModelError(f"no model '{model_id}' in the fit ({len(models)} models){hint}")


@dataclass(frozen=True)
class Explanation:
    """The parts of one model's latent logit and score (median, lo, hi), its relatives and how they were chosen;
    ``developer``: whose effect the developer component is (in the family structure, the base model's developer);
    ``finetuner``: a fine-tune's developer, whose effect is part of its model-specific component (else None)."""

    model_id: str
    components: list[str]
    parts: pd.DataFrame
    relatives: pd.DataFrame
    relation: str
    row: pd.Series
    developer: str = ""
    finetuner: str | None = None


def _nearest(models: pd.DataFrame, keys: list[tuple[str, object]], log10_flops: float, n: int) -> tuple[pd.DataFrame, str]:
    """The models sharing the first (column, value) of ``keys`` that any share, else every model; nearest compute first."""
    for relation, value in keys:
        known = relation in models and value is not None and not pd.isna(value) and value != ""
        same = models[models[relation] == value] if known else models.iloc[:0]
        if len(same):
            break
    else:
        relation, same = "compute", models
    distance = (same["log10_flops"] - log10_flops).abs()
    return same.assign(compute_distance=distance).sort_values(["compute_distance", "model_id"]).head(n), relation


def relatives_of(models: pd.DataFrame, model_id: str, n: int = RELATIVES) -> tuple[pd.DataFrame, str]:
    """Other models of the same family, else of the same developer, else every model; nearest in compute first."""
    me = models.set_index("model_id").loc[model_id]
    return _nearest(models[models["model_id"] != model_id], [("family", me.get("family")), ("developer", me["developer"])],
                    me["log10_flops"], n)


def _parts(comps: xr.Dataset, names: list[str], eta: xr.DataArray, score: xr.DataArray, extra: dict,
           prob: float) -> pd.DataFrame:
    """Long table: level, each component, eta; the score they sum to; the expected and predicted scores, the
    fine-tuner's effect and the median-developer score (``extra``, each with its kind)."""
    values = {"level": comps["level"], **{c: comps[c] for c in names}, "eta": eta, "score": score,
              **{k: v for k, (v, _) in extra.items()}}
    frame = pd.concat([interval_frame(v, prob).assign(part=k) for k, v in values.items()], ignore_index=True)
    kind = {"level": "level", "eta": "total", "score": "score", **{c: "component" for c in names},
            **{k: kind for k, (_, kind) in extra.items()}}
    frame["kind"] = frame["part"].map(kind)
    frame["unit"] = frame["kind"].map({"score": "score", "counterfactual": "score", "expected": "score",
                                       "predictive": "score"}).fillna("logit")
    multiplier = {c: decompose.multiplier(comps[c], comps["beta"]) for c in names if c != COMPUTE}
    equivalent = pd.Series({c: float(m.median()) for c, m in multiplier.items()}, dtype=float)
    frame["compute_equivalent"] = frame["part"].map(equivalent)
    return frame[["part", "kind", "median", "lo", "hi", "unit", "compute_equivalent"]]


def expected_scores(fit: Fit, model_ids: list[str], seed: int = 0) -> xr.Dataset:
    """Per fitted model, what its inputs lead the model to expect (``predict`` of its own row, without its own
    deviation): ``expected`` (the score at the mean of its logit: its family's level, fine-tuner effect and compute,
    or its developer's line) and ``new_model_score`` (the score of a new model with the same inputs)."""
    rows = fit.rows.set_index("model_id").loc[model_ids].reset_index()
    draws = predict(fit, dataset_frame(rows, fit.spec.data.time), seed, only=("mean", "score"))
    out = xr.Dataset({"expected": fit.design.scale.accuracy(draws["mean"]), "new_model_score": draws["score"]})
    return out.drop_vars(NEW_DIM, errors="ignore").rename_dims({NEW_DIM: "model"}).assign_coords(model=model_ids)


def explain(fit: Fit, model_id: str, n_relatives: int = RELATIVES) -> Explanation:
    """Decompose one fitted model's latent logit and score into its components, per draw, with intervals."""
    model_id = resolve(model_id, fit.rows)
    comps = posterior.components(fit)
    names = [str(v) for v in comps.data_vars if v not in NOT_COMPONENTS]
    eta_all = comps["level"] + sum(comps[c] for c in names)
    score_all = fit.design.scale.accuracy(eta_all)
    me = dict(model=model_id)
    position = list(fit.rows["model_id"]).index(model_id)
    developer = str(fit.design.coords["developer"][fit.design.developer_idx[position]])
    relatives, relation = relatives_of(fit.rows, model_id, n_relatives)
    expected = expected_scores(fit, [model_id, *relatives["model_id"]])
    extra = {"expected_score": (expected["expected"].sel(me), "expected"),
             "new_model_score": (expected["new_model_score"].sel(me), "predictive")}
    finetuner = None
    fam = fit.design.families
    if fam is not None and fam.is_finetune[position]:
        finetuner = str(fit.rows["developer"].iloc[position])
        effect = fit.posterior["finetuner_effect"].sel(finetuner=finetuner)
        extra["finetuner_effect"] = (effect, "detail")
    if DEVELOPER in names:
        # The median over the developers whose effects the developer component takes (in the family structure:
        # the base developers; a fine-tune's is its base's).
        median_developer = fit.posterior["developer_effect"].median("developer")
        alternative = fit.design.scale.accuracy(eta_all.sel(me) - comps[DEVELOPER].sel(me) + median_developer)
        extra |= {"score_with_median_developer": (alternative, "counterfactual"),
                  "score_change_with_median_developer": (alternative - score_all.sel(me), "counterfactual")}
    parts = _parts(comps.sel(me), names, eta_all.sel(me), score_all.sel(me), extra, fit.prob)
    others = relatives["model_id"].tolist()
    fitted = interval_frame(expected["expected"].sel(model=others), fit.prob, "expected_")
    medians = pd.DataFrame({f"{c}_median": comps[c].sel(model=others).median(("chain", "draw"))
                            .to_numpy() for c in names}, index=fitted.index)
    outcome = fit.spec.data.outcome
    columns = ["model_id", "display_name", "developer", "release_month", "log10_flops", outcome]
    relatives = pd.concat([relatives[[c for c in columns if c in relatives]].reset_index(drop=True),
                           fitted.reset_index(drop=True), medians.reset_index(drop=True)], axis=1)
    row = fit.rows.set_index("model_id").loc[model_id]
    return Explanation(model_id, names, parts, relatives.rename(columns={outcome: "observed"}), relation, row,
                       developer, finetuner)


@dataclass(frozen=True)
class NewExplanation:
    """A model the fit never saw: ``predict``'s row for it (how it was predicted, P(damaged), P(failed), the score),
    the score expected from its inputs, its fine-tuner's fitted effect (None where fresh or not a fine-tune), and
    the fitted models nearest to it with the scores their inputs lead the model to expect."""

    prediction: pd.Series
    expected: pd.Series
    finetuner_effect: pd.Series | None
    relatives: pd.DataFrame
    relation: str


def explain_new(fit: Fit, frame: pd.DataFrame, n_relatives: int = RELATIVES, seed: int = 0,
                extend_last_cohort: bool = False, new_family: bool = False) -> NewExplanation:
    """``explain`` for one model the fit never saw (``new_models``' input, e.g. a fine-tune of a base model):
    its prediction beside the fitted models nearest to it, in one pass through the model."""
    rows = new_model_rows(frame, fit, extend_last_cohort, new_family=new_family)
    row = rows.iloc[0]
    # Its family's models, else its (base) developer's.
    relatives, relation = _nearest(fit.rows, [("family", row.get("family")),
                                              ("developer", row.get("base_developer") or row["developer"])],
                                   row["log10_flops"], n_relatives)
    asked = pd.concat([rows.iloc[[0]], dataset_frame(relatives, fit.spec.data.time)], ignore_index=True)
    draws = predict(fit, asked, seed, only=("mean", "score"))
    expected = interval_frame(fit.design.scale.accuracy(draws["mean"]), fit.prob, "expected_").reset_index(drop=True)
    table = prediction_table(rows.iloc[[0]], draws.isel({NEW_DIM: [0]}), fit.prob)
    effect = None
    if "finetuner_effect" in draws and draws["finetuner_effect"].values[0] == "fitted":
        tuner = fit.posterior["finetuner_effect"].sel(finetuner=row["developer"])
        effect = interval_frame(tuner, fit.prob).iloc[0]
    outcome = fit.spec.data.outcome
    columns = ["model_id", "display_name", "developer", "release_month", "log10_flops", outcome]
    relatives = pd.concat([relatives[columns].reset_index(drop=True), expected.iloc[1:].reset_index(drop=True)], axis=1)
    return NewExplanation(table.iloc[0], expected.iloc[0], effect, relatives.rename(columns={outcome: "observed"}),
                          relation)
