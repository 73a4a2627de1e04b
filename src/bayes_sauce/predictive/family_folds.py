"""The new-family check, cross-validated: families held out in folds, each predicted by a fit without it.

A family informs its own level, and, where its developer based no other, that developer's level too; an
in-sample PIT of a family's models under "a new family" is therefore pulled towards 0.5 and says little.
Here the families are split into ``FOLDS`` folds (seeded, balanced by model count); each fold's fit leaves its
families out and predicts their roots (else their first member) as models of unseen families, by an unseen
developer where the developer based only held-out families.

A fold's fit is the fitted model with the held-out families' models weighted 0 in the likelihood
(``families.LIKELIHOOD_WEIGHT``): the model keeps its shape, so one compiled model (the fit's own, where this
process fitted it) samples every fold, and what the fold leaves without data (the held-out families' levels, and the
levels of developers and fine-tuners left without a model) is drawn from its population, as a new family's is.
Each fold is parameterised as the fit was (its pilot's centring weights), with those effects non-centred (weight 0:
data-free, a centred effect would make a funnel), so no fold runs a pilot. What stays the whole data's is the design:
the compute centre, each developer's mean compute (the Mundlak term) and which developers based a single family.
Each fold's gate is recorded; its draws are thinned to ``PIT_DRAWS`` for the prediction and saved (with its
gate) under the fit's ``checks/``, where a later check with the same fit, code and machine reuses them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_sauce.defaults import NEW_FAMILY_FOLDS as FOLDS
from bayes_sauce.defaults import SEED
from bayes_sauce.fit import centring
from bayes_sauce.fit.attempts import sample_gated
from bayes_sauce.fit.fit import (FORMAT_VERSION, Fit, code_digest, environment_digest, fingerprint,
                                 rounded_as_stored, thinned)
from bayes_sauce.fit.fit_store import Echo, quiet, saved_fit
from bayes_sauce.fit.sampling import compile_nutpie
from bayes_sauce.model.design import base_developers, sets_level
from bayes_sauce.model.effects import RAW_SUFFIX
from bayes_sauce.model.families import LIKELIHOOD_WEIGHT
from bayes_sauce.model.new_rows import dataset_frame
from bayes_sauce.periods import PERIOD_COLUMN
from bayes_sauce.predictive.predict import predict

# Posterior draws a fold's prediction reads (of its 4 x 1,500 at the default settings): a PIT is the share of
# predictive draws below the observed score, whose Monte Carlo error is at most 0.5 / sqrt(1,000) = 0.016 (the
# draws of a new family's level and noise are independent across draws), a tenth of the half-width of the 95%
# simultaneous band the check reads for ~200 families (about 1.36 / sqrt(200) = 0.096).
PIT_DRAWS = 1000


def family_folds(rows: pd.DataFrame, folds: int = FOLDS, seed: int = SEED) -> pd.Series:
    """Fold number per row: families in a seeded random order, each put in the fold with fewest models so far."""
    sizes = rows.groupby("family").size()
    order = np.random.default_rng(seed).permutation(sizes.index.to_numpy())
    load, fold_of = np.zeros(folds, dtype=int), {}
    for family in order:
        k = int(np.argmin(load))
        fold_of[family] = k
        load[k] += sizes[family]
    return rows["family"].map(fold_of).astype(int)


def first_members(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per family: the one that sets its level (``design.sets_level``), else its first member in the data."""
    order = rows.assign(_sets=sets_level(rows)).sort_values("_sets", ascending=False, kind="stable")
    return rows.loc[order.drop_duplicates("family").index].sort_index()


def as_new_families(rows: pd.DataFrame, time: str, lineage: pd.DataFrame | None = None) -> pd.DataFrame:
    """``new_rows``' input for rows as members of families the fit never saw: a family's members share one fresh
    level, drawn around the line of the family's base developer (found in ``lineage``, by default the rows
    themselves), with that developer's paper group, at each row's own compute and period. A row that does not set
    its family's level in ``lineage`` (``design.sets_level``: a fine-tune, as the fit models it) stays a fine-tune of
    the new family, by its own developer, with the fine-tune mixture, as the fit's likelihood has it."""
    lineage = rows if lineage is None else lineage
    base = rows["family"].map(base_developers(lineage))
    group = lineage.drop_duplicates("developer").set_index("developer")["developer_group"]
    setter = pd.Series(sets_level(lineage).to_numpy(), index=lineage["model_id"].to_numpy())
    finetune = ~rows["model_id"].map(setter).fillna(True).astype(bool).to_numpy()
    return dataset_frame(rows, time).assign(
        developer=np.where(finetune, rows["developer"].to_numpy(), base.to_numpy()), base_developer=base.to_numpy(),
        developer_group=base.map(group).fillna(rows["developer_group"]).to_numpy(), is_finetune=finetune,
        family="new:" + rows["family"].astype(str).to_numpy())


def fold_weights(fit: Fit, compiled, weight: np.ndarray) -> dict[str, np.ndarray]:
    """The fit's centring weights with the effects that ``weight`` leaves without data at 0 (non-centred).

    An effect is left without data where the weighted log-likelihood does not depend on it: its gradient in the
    effect's raw parameter, at a random point, is the same with these weights as with none (every term that reads
    it is multiplied by 0)."""
    names, slices = compiled.shape_info[0], compiled.shape_info[1]
    point = np.random.default_rng(SEED).normal(0.0, 0.3, compiled.n_dim)
    # compiled.logp_func reads the shared variables of the model it was compiled from (not with_data's copies, which
    # only the sampler reads), and that model need not be fit.fitted_model: set the weights on its own variables
    shared = next(var for var in compiled.shared_var_keys if var.name == LIKELIHOOD_WEIGHT)
    before = shared.get_value()
    gradients = []
    try:
        for weights in (weight, np.zeros_like(weight)):
            shared.set_value(weights)
            gradients.append(compiled.logp_func(point)[1])
    finally:
        shared.set_value(before)
    read = gradients[0] != gradients[1]
    return {group: np.where(read[slices[names.index(group + RAW_SUFFIX)]], w, 0.0)
            for group, w in fit.design.centring.items()}


def _fold_identity(fit: Fit, k: int, folds: int, held: pd.Series) -> str:
    """The data identity of fold ``k``'s fit: the fit's data and draws (its centring weights come from them) and
    the held-out models."""
    ids = ",".join(sorted(fit.rows.loc[held.to_numpy(), "model_id"].astype(str)))
    text = f"{fit.tree.attrs.get('data_sha256', '')}|{fit.tree.attrs.get('posterior_digest', '')}|fold {k} of {folds}|{ids}"
    return hashlib.sha256(text.encode()).hexdigest()


class FoldSampler:
    """Samples the folds of one fit with one compiled model (the fit's, where this process fitted it)."""

    def __init__(self, fit: Fit):
        self.fit = fit
        self.model = fit.fitted_model
        if LIKELIHOOD_WEIGHT not in {v.name for v in self.model.data_vars}:
            raise ValueError(f"spec '{fit.name}': the new-family check needs the family structure's likelihood weights")
        self._compiled = fit.compiled

    @property
    def compiled(self):
        if self._compiled is None:
            self._compiled = compile_nutpie(self.model)
        return self._compiled

    def sample(self, weight: np.ndarray, identity: str, echo: Echo) -> Fit:
        """The fit of the rows with these likelihood weights (the gate and its one fallback as in ``fit_spec``), as
        ``fold_fit`` keeps it."""
        compiled = self.compiled.with_data(**{LIKELIHOOD_WEIGHT: weight})
        weights = fold_weights(self.fit, self.compiled, weight)
        pm.set_data({LIKELIHOOD_WEIGHT: weight}, model=self.model)  # what PyMC's own samplers read
        # Sampling puts the fold's centring weights in the model's data; `run` goes on to report from this model,
        # whose own draws are read with the fit's weights: put them back.
        fitted = centring.current(self.model)
        try:
            tree, timings, diagnostics = sample_gated(self.model, self.fit.spec.sampling, [], progress=False,
                                                      compiled=compiled, weights=weights, echo=echo)
        finally:
            pm.set_data({LIKELIHOOD_WEIGHT: np.ones_like(weight)}, model=self.model)
            centring.set_weights(self.model, fitted)
        diagnostics["timings"] = timings.as_dict()
        return fold_fit(self.fit, tree, diagnostics, weight, identity)


def fold_fit(fit: Fit, tree: xr.DataTree, diagnostics: dict, weight: np.ndarray, identity: str) -> Fit:
    """A fold's draws (``tree``: its posterior, sample_stats and centring weights) as a Fit that can be saved: the
    fit's rows, ``PIT_DRAWS`` draws, the fold's data identity and its gate."""
    kept = {group: thinned(tree[group].to_dataset(), PIT_DRAWS) for group in ("posterior", "sample_stats")}
    kept["posterior"] = kept["posterior"].assign_coords(model=fit.rows["model_id"].astype(str).to_numpy())
    thin = xr.DataTree.from_dict(kept)
    thin.attrs.update({
        "format_version": FORMAT_VERSION, "fingerprint": fingerprint(fit.spec, identity),
        "spec_name": fit.spec.name, "spec_json": json.dumps(fit.spec.to_dict()), "data_sha256": identity,
        "data_source": str(fit.tree.attrs.get("data_source", "")), "n_models": int((weight > 0).sum()),
        "centring": tree.attrs["centring"], "code_digest": code_digest(), "environment_digest": environment_digest(),
        "diagnostics_passed": int(diagnostics["passed"]), LIKELIHOOD_WEIGHT: json.dumps(weight.tolist()),
    })
    return Fit(spec=fit.spec, rows=fit.rows, excluded=fit.excluded, tree=rounded_as_stored(thin),
               diagnostics=diagnostics)


def new_family_pit(fit: Fit, folder: Path, folds: int = FOLDS, echo: Echo = quiet) -> pd.DataFrame:
    """Per family: the PIT of its first member's score under the fold fit that never saw the family.

    Columns model_id, family, fold, pit (NaN where no model of the row's period is left in the fold, which a
    cohort spec cannot predict), developer_seen (a model of the base developer is left in the fold), and the fold
    fit's gate result. Fold fits are saved in ``folder/fold<k>`` and reused from there."""
    rows = fit.rows.reset_index(drop=True)
    fold = family_folds(rows, folds, fit.spec.sampling.seed)
    column, outcome, time = PERIOD_COLUMN[fit.spec.data.time], fit.spec.data.outcome, fit.spec.data.time
    sampler = FoldSampler(fit)
    parts = []
    for k in range(folds):
        held = fold == k
        train = rows.loc[~held]
        identity = _fold_identity(fit, k + 1, folds, held)
        fold_fit = saved_fit(folder / f"fold{k + 1}", fingerprint(fit.spec, identity))
        echo(f"  new-family check: fold {k + 1} of {folds} ({int(held.sum())} models held out)"
             + (": reusing its saved fit" if fold_fit is not None else ""))
        if fold_fit is None:
            fold_fit = sampler.sample((~held).to_numpy(dtype=float), identity, echo)
            fold_fit.save(folder / f"fold{k + 1}", replace=True)
        test = first_members(rows.loc[held])
        predictable = test[column].astype(str).isin(set(train[column].astype(str))).to_numpy()
        frame = as_new_families(test, time, rows)
        seen = frame["base_developer"].isin(set(train["developer"])).to_numpy()
        # A base developer of no family left in the fold is an unseen developer there, drawn from its group's pool.
        unseen = ~frame["base_developer"].isin(set(base_developers(train)))
        held_out = "held out:" + frame["base_developer"]
        frame.loc[unseen & (frame["developer"] == frame["base_developer"]), "developer"] = held_out
        frame.loc[unseen, "base_developer"] = held_out
        pit = np.full(len(test), np.nan)
        if predictable.any():
            draws = predict(fold_fit, frame.loc[predictable], SEED)
            score = draws["score"].stack(sample=("chain", "draw")).transpose("new_model", "sample").values
            pit[predictable] = (score <= test.loc[predictable, outcome].to_numpy(dtype=float)[:, None]).mean(axis=1)
        parts.append(pd.DataFrame({"model_id": test["model_id"].to_numpy(), "family": test["family"].to_numpy(),
                                   "fold": k + 1, "pit": pit, "developer_seen": seen,
                                   "fold_gate_passed": fold_fit.passed}))
    return pd.concat(parts, ignore_index=True)
