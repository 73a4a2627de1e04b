"""Two views of one posterior, computed from the same draws (see ``keys`` for their ids):

- The **paper view**: the paper's four components as the paper defines them, at each draw's compute slope. Given
  beta, the paper's regression leaves its cohort and group effects to least squares on what compute leaves of each
  model's latent logit (eta) over the release-cohort and releasing-group dummies (the 13 groups of the paper); the
  model-specific part is everything else, failed evaluations kept. Applied to the paper's own OLS fit it gives back
  that fit (Frisch-Waugh-Lovell), and its Shapley shares are the paper's (:func:`paper_decomposition`). It is the only
  view compared with the paper's numbers.
- The **model view**: the fitted model's own components, named for what they are (in the family structure: compute,
  the pretraining cohort, the base developer, the base model's family, the fine-tune, damage by fine-tuning, a failed
  evaluation and evaluation noise), with each draw's failed evaluations, damage and single-family split drawn from
  their conditional distributions (``latent``): what the paper's regression cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.read import DataValidationError
from bayes_sauce.data.schema import BASE_GROUP, POOLS
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.paths import OLS_SPEC
from bayes_sauce.quantities import decompose, latent
from bayes_sauce.quantities.headline import Efficiency
from bayes_sauce.quantities.keys import MODEL, PAPER
from bayes_sauce.replication import ols
from bayes_sauce.scale import COMPUTE_ORIGIN_LOG10_FLOPS
from bayes_sauce.spec.schema import Spec, SpecError, merge, read_spec_dict, spec_from_dict

PAPER_RESIDUAL = decompose.RESIDUAL
PAPER_MEANINGS = {
    "compute": "beta * (log10 FLOPs - 18), x in the paper's units",
    "time": "the release cohort's effect vs the first cohort (least squares given beta)",
    "developer": "the releasing developer's group effect vs Other-Small, the paper's 13 groups (least squares given "
                 "beta)",
    PAPER_RESIDUAL: "everything else, failed evaluations included",
}


@dataclass(frozen=True)
class View:
    """One view's per-model components (decompose's convention, with ``beta`` and ``level``), its Shapley shares,
    what its spreads measure, and its period and group effects on the logit scale (vs the first period, vs
    Other-Small)."""

    name: str
    components: xr.Dataset
    shares: xr.DataArray
    efficiency: Efficiency
    progress: xr.DataArray
    groups: xr.DataArray
    meanings: dict[str, str]
    failed: xr.DataArray | None = None  # per draw and model: a failed evaluation in that draw (model view)
    # per draw and model: a self-reported score's protocol offset (None: the model has none or no row is self-reported)
    protocol: xr.DataArray | None = None

    @property
    def residual(self) -> str:
        return decompose.component_names(self.components)[-1]


def paper_spec(spec: Spec) -> Spec:
    """The paper's OLS spec (``models/ols.toml``) with a fit's outcome and time."""
    raw = merge(read_spec_dict(OLS_SPEC), {"data": {"outcome": spec.data.outcome, "time": spec.data.time}})
    return spec_from_dict(raw, str(OLS_SPEC))


def _columns(design: ols.Design, names: list[str]) -> xr.DataArray:
    """Some of the design's regressors as a (model, var) array."""
    return xr.DataArray(design.X[names].to_numpy(dtype=float), dims=("model", "var"),
                        coords={"model": design.models["model_id"].to_numpy(), "var": names})


@dataclass(frozen=True)
class PaperDecomposition:
    """The paper's regression at a given slope: per-model components, Shapley shares, cohort and group effects."""

    components: xr.Dataset
    shares: xr.DataArray
    progress: xr.DataArray  # (..., period): the cohort effects, 0 in the base period
    groups: xr.DataArray  # (..., group): the group effects, 0 in the base group


def paper_decomposition(design: ols.Design, beta: xr.DataArray, eta: xr.DataArray) -> PaperDecomposition:
    """The paper's components and Shapley shares at a given compute slope, per sample of ``beta`` and ``eta``.

    Given beta, the intercept, the cohort and the group effects are the least squares of eta - beta * x on a
    constant and the design's cohort and group dummies; compute = beta * (x - 18), time (the paper's shared
    progress) and developer the fitted cohort and group effects, model_effect = the rest. The shares are :func:`decompose.explained_shapley` over the
    design's groups of regressors. For the OLS's own beta and eta = its outcome, this is the OLS fit and the
    replication's Shapley shares.
    """
    groups = {k: design.groups[k] for k in ("compute", "time", "developer")}
    model_ids = design.models["model_id"].to_numpy()
    x = xr.DataArray(design.X[ols.COMPUTE_TERM].to_numpy(dtype=float), dims="model", coords={"model": model_ids})
    dummies = [*groups["time"], *groups["developer"]]
    z = np.column_stack([np.ones(len(x)), design.X[dummies].to_numpy(dtype=float)])
    solve = xr.DataArray(np.linalg.pinv(z), dims=("var", "model"), coords={"var": ["const", *dummies], "model": model_ids})
    eta = eta.assign_coords(model=model_ids)
    coef = xr.dot(solve, eta - beta * x, dim="model")
    progress = xr.dot(_columns(design, groups["time"]), coef.sel(var=groups["time"]), dim="var")
    developer = xr.dot(_columns(design, groups["developer"]), coef.sel(var=groups["developer"]), dim="var")
    level = coef.sel(var="const", drop=True) + beta * COMPUTE_ORIGIN_LOG10_FLOPS
    compute = beta * (x - COMPUTE_ORIGIN_LOG10_FLOPS)
    comps = xr.Dataset({"compute": compute, "time": progress, "developer": developer,
                        PAPER_RESIDUAL: eta - level - compute - progress - developer}).transpose(..., "model")
    shares = decompose.explained_shapley(_columns(design, [c for g in groups.values() for c in g]), groups,
                                         compute + progress + developer, eta)

    def effects(terms: list[str], base: str, dim: str) -> xr.DataArray:
        values = coef.sel(var=terms).rename(var=dim)
        return xr.concat([xr.zeros_like(values.isel({dim: 0})).assign_coords({dim: base}), values], dim=dim)

    return PaperDecomposition(comps.assign(beta=beta, level=level), shares,
                              effects(groups["time"], design.base_period, "period"),
                              effects(groups["developer"], design.base_group, "group"))


def latent_eta(comps: xr.Dataset) -> xr.DataArray:
    """Each model's latent logit per draw: the level plus every component of the model's own decomposition (in the
    family structure the observed logit; with a binomial likelihood the latent one)."""
    return comps["level"] + sum(comps[c] for c in decompose.component_names(comps))


def paper_view(fit: Fit, comps: xr.Dataset) -> View | None:
    """The paper view of a fit (None where its rows cannot support the paper's regression: one cluster, no model
    of the base group, fewer models than coefficients)."""
    try:
        design = ols.build_design(paper_spec(fit.spec), Dataset(models=fit.rows), str(OLS_SPEC))
    except (SpecError, DataValidationError):
        return None
    paper = paper_decomposition(design, comps["beta"], latent_eta(comps))
    return View(PAPER, paper.components, paper.shares,
                Efficiency(paper.components[PAPER_RESIDUAL], "model-specific effects (the paper's residuals)"),
                paper.progress, paper.groups, PAPER_MEANINGS, protocol=_protocol(comps).get("protocol"))


def developer_baseline(spec: Spec) -> str:
    """What a developer effect is measured against, by the spec's developer structure."""
    return {"pooled": "the average developer", "fixed_groups": f"{BASE_GROUP} (fixed group effects)"}.get(
        spec.model.developers, f"the {BASE_GROUP} pool's mean")


def model_group_effects(fit: Fit, developer_effect: xr.DataArray) -> xr.DataArray:
    """Each of the paper's groups' effect vs Other-Small in the model, per draw: a major's (the only developer of its
    group) is its developer effect as given, an Other bin's its pool mean; without group effects in the model, the
    mean of its developers' effects against Other-Small's."""
    post, design = fit.posterior, fit.design
    groups = design.coords["group"]
    if "group_effect" not in post:
        by_group = developer_effect.groupby(xr.DataArray(np.array(groups)[design.group_of_developer], dims="developer",
                                                         name="group")).mean()
        return (by_group - by_group.sel(group=BASE_GROUP)) if BASE_GROUP in groups else by_group
    effect = post["group_effect"]
    if fit.spec.model.developers != "pooled_groups":
        return effect
    own = [g not in POOLS for g in groups]
    developer = [int(np.flatnonzero(design.group_of_developer == i)[0]) if own[i] else 0 for i in range(len(groups))]
    mine = developer_effect.isel(developer=xr.DataArray(developer, dims="group")).drop_vars("developer")
    return xr.where(xr.DataArray(own, dims="group"), mine.assign_coords(group=groups), effect).transpose(*effect.dims)


PROTOCOL_MEANING = ("a self-reported score's offset from the leaderboard harness's (0 for a leaderboard score; "
                    "model.protocol_offset)")


def _protocol(comps: xr.Dataset) -> dict[str, xr.DataArray]:
    """The protocol offset's part, where the model has one and the data hold a self-reported score (else it is zero
    for every model and its share would be round-off)."""
    return {"protocol": comps["protocol"]} if "protocol" in comps and bool((comps["protocol"] != 0).any()) else {}


def model_view(fit: Fit, comps: xr.Dataset) -> View:
    """The model view: the fitted model's own components per draw (see the module's docstring)."""
    post, design = fit.posterior, fit.design
    split = latent.developer_split_draws(fit)
    groups = model_group_effects(fit, post["developer_effect"] + split)
    versus = developer_baseline(fit.spec)
    if design.families is None:
        parts = {"compute": comps["compute"], "release_cohort": comps["time"], "developer": comps["developer"],
                 **_protocol(comps), "model_effect": comps["model_effect"]}
        latent_effects = fit.spec.model.likelihood == "binomial"
        meanings = {"compute": PAPER_MEANINGS["compute"],
                    "release_cohort": "the period effect of the cohort it was released in, vs the first",
                    "developer": f"its developer's own effect vs {versus}",
                    "model_effect": "its model-specific effect" + (" (latent: the binomial likelihood takes the question "
                                                            "sampling out)" if latent_effects else
                                                            " (the residual: evaluation noise included)"),
                    "protocol": PROTOCOL_MEANING}
        failed = None
        efficiency = Efficiency(parts["model_effect"], "model-specific effects" + (" (latent)" if latent_effects else ""))
    else:
        fam = design.families
        ids = comps["model"].values

        def per_model(values: np.ndarray) -> xr.DataArray:
            return xr.DataArray(values, dims="model", coords={"model": ids})

        moved = split.isel(developer=per_model(fam.base_of_family[fam.family_idx])).drop_vars("developer")
        if post.sizes.get("finetuner", 0):
            tuner = post["finetuner_effect"].isel(finetuner=per_model(np.maximum(fam.finetuner_idx, 0))).drop_vars(
                "finetuner").where(per_model(fam.is_finetune), 0.0)
        else:  # data without fine-tunes
            tuner = xr.zeros_like(comps["time"])
        states = latent.mixture_states(fit)
        failed = states.failed
        failure = states.deviation.where(failed, 0.0)
        parts = {
            "compute": comps["compute"] + (post["beta_within"] - post["beta"]) * per_model(design.x_c - fam.x_c[
                fam.family_idx]),
            "pretraining_cohort": comps["time"],
            "base_developer": comps["developer"] + moved,
            "family": comps["family"] - moved,
            "fine_tune": tuner,
            **_protocol(comps),
            "damage": states.damage,
            "failed_evaluation": failure,
            "evaluation_noise": states.deviation - states.damage - failure,
        }
        meanings = {
            "compute": "beta * (its family's pretraining compute in log10 FLOPs - 18) + beta_within * (its own compute "
                       "apart from its family's)",
            "pretraining_cohort": "the period effect of the cohort its base model was pretrained in, vs the first",
            "base_developer": f"the level of the developer that pretrained its base model, vs {versus} (a developer "
                              "with a single family: its part drawn from its conditional distribution)",
            "family": "its base model's (family's) own efficiency beyond its developer's line",
            "fine_tune": "its fine-tuner's effect (0 for a base model)",
            "protocol": PROTOCOL_MEANING,
            "damage": "the latent fall of a damaged fine-tune, drawn per draw given its score",
            "failed_evaluation": "the whole deviation of a model whose evaluation failed, each draw's failures drawn "
                                 "with their posterior probability",
            "evaluation_noise": "what remains: question sampling and evaluation noise",
        }
        efficiency = Efficiency((parts["family"] + parts["fine_tune"] + parts["damage"]).where(~failed),
                                "latent efficiencies (family, fine-tune and damage effects: evaluation noise taken "
                                "out; each draw's failed evaluations left out)")
    components = xr.Dataset({k: v.transpose(*SAMPLE_DIMS, "model") for k, v in parts.items()})
    residual = list(parts)[-1]
    components = components.assign(beta=comps["beta"], level=comps["level"])
    return View(MODEL, components, decompose.component_shapley(components, residual), efficiency,
                post["period_effect"], groups, meanings, failed, parts.get("protocol"))
