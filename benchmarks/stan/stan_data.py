"""Data, draws and checks for ``hierarchical.stan``, the default spec as a Stan program (the Stan row of
``benchmarks/samplers.py``).

``stan_data`` reads the same ``Design`` the PyMC model is built from (``prepare(spec, load(...))``, with the centring
weights the fit's pilot chose, ``Design.centring``), so Stan fits exactly the rows and the parameterisation nutpie
fits; the reference labels are taken from the same rules (``bayes_sauce.model.build`` / ``design``). ``to_tree`` turns
pystan's draws into a DataTree with the PyMC free variables' names, so that ``pm.compute_deterministics`` gives the
stored deterministics and ``bayes_sauce.fit.diagnostics.diagnose`` the gate over the same quantities as the other rows.
(This folder has no ``__init__.py`` on purpose: a package named ``stan`` would shadow pystan's.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from bayes_sauce.model.design import Design
from bayes_sauce.model.families import EDGE_TOLERANCE
from bayes_sauce.spec.schema import Spec

PROGRAM = Path(__file__).with_name("hierarchical.stan")
# What hierarchical.stan implements: the default spec's model options (anything else is another program).
IMPLEMENTS = {"structure": "families", "likelihood": "marginal", "developers": "pooled_groups",
              "developer_dist": "normal", "closed_models": "same", "mundlak": True, "family_dist": "skew_normal",
              "finetunes": "mixture", "failures": "mixture", "accuracy_noise": True, "protocol_offset": True,
              "developer_time": "none"}
# Priors hard-coded in the program (checked against the spec, so that a changed prior fails loudly).
PRIORS = {"alpha": ("Normal", {"mu": 0.0, "sigma": 1.5}), "beta": ("Normal", {"mu": 0.5, "sigma": 0.5}),
          "period": ("Normal", {"mu": 0.0, "sigma": 1.0}), "group": ("Normal", {"mu": 0.0, "sigma": 1.0}),
          "sigma_developer": ("HalfNormal", {"sigma": 1.0}), "mundlak": ("Normal", {"mu": 0.0, "sigma": 0.5}),
          "sigma_family": ("HalfNormal", {"sigma": 1.0}), "family_skew": ("Normal", {"mu": 0.0, "sigma": 2.0}),
          "sigma_finetuner": ("HalfNormal", {"sigma": 0.5}), "beta_within": ("Normal", {"mu": 0.0, "sigma": 0.5}),
          "accuracy_noise": ("HalfNormal", {"sigma": 0.02}), "damaged_share": ("Beta", {"alpha": 1.0, "beta": 9.0}),
          "damaged_shift": ("Gamma", {"alpha": 4.0, "beta": 4.0}),
          "sigma_damaged": ("Gamma", {"alpha": 2.0, "beta": 4.0}),
          "failure_rate": ("Normal", {"mu": -3.0, "sigma": 1.5}),
          "protocol_offset": ("Normal", {"mu": 0.55, "sigma": 0.15})}
# Sampler statistics carried into sample_stats (pystan name -> ArviZ name).
STATS = {"lp__": "lp", "accept_stat__": "acceptance_rate", "stepsize__": "step_size", "treedepth__": "tree_depth",
         "n_leapfrog__": "n_steps", "divergent__": "diverging", "energy__": "energy"}


def check_spec(spec: Spec) -> None:
    """Raise unless the spec is the model the program implements (options, time, priors)."""
    wrong = {k: getattr(spec.model, k) for k, v in IMPLEMENTS.items() if getattr(spec.model, k) != v}
    if spec.data.time != "cohort":
        wrong["time"] = spec.data.time
    for name, (dist, params) in PRIORS.items():
        prior = getattr(spec.priors, name)
        if prior.dist != dist or {k: float(v) for k, v in prior.params.items()} != params:
            wrong[f"priors.{name}"] = (prior.dist, prior.params)
    if wrong:
        raise ValueError(f"hierarchical.stan implements the default spec; this spec differs: {wrong}")


def _with_zero(n_labels: int, reference: int) -> list[int]:
    """1-based positions into append_row(free, 0) giving the free offsets with 0 at ``reference``."""
    return [j + 1 if j < reference else n_labels if j == reference else j for j in range(n_labels)]


def stan_data(spec: Spec, design: Design) -> dict:
    """The program's data block from the design the PyMC model is built on (index arrays 1-based), its centring
    weights included (zeros, the non-centred form, for a group the design has none for, as the PyMC model takes)."""
    check_spec(spec)
    fam, scale = design.families, design.scale
    n_dev, n_fam = len(design.coords["developer"]), len(fam.base_of_family)
    n_pool, n_period = len(design.coords["pool"]), len(design.coords["period"])
    # A developer that based one family samples a combined level (build._combined_levels).
    single = design.units_per_developer == 1
    family_of = np.zeros(n_dev, dtype=np.int64)
    family_of[fam.base_of_family] = np.arange(n_fam)
    period_ref = int(np.bincount(fam.period_idx, minlength=n_period).argmax())  # build._periods
    alone = np.bincount(fam.base_of_family, minlength=n_dev)[fam.base_of_family] == 1
    # Fine-tuners: an effect for two fine-tunes or more (families._fine_tuners).
    n_tuner = len(design.coords["finetuner"])
    sampled = np.flatnonzero(fam.finetunes_per_finetuner >= 2)
    finetune = fam.is_finetune
    low = np.log(scale.edge) - np.log1p(-scale.edge)
    compared = finetune & (fam.models_per_family[fam.family_idx] >= 2)
    at_low, at_high = fam.logit <= low + EDGE_TOLERANCE, fam.logit >= -low - EDGE_TOLERANCE

    def idx(mask):
        return (np.flatnonzero(mask) + 1).tolist()

    return {
        "N": len(fam.logit), "D": n_dev, "F": n_fam, "K": n_tuner, "P": n_pool, "T": n_period,
        "pool_perm": _with_zero(n_pool, design.reference("pool")), "period_perm": _with_zero(n_period, period_ref),
        "pool_of_developer": (design.pool_of_developer + 1).tolist(),
        "mean_log_compute": design.mean_log_compute.tolist(),
        "w_developer": design.centring_weights("developer_level", n_dev).tolist(),
        "single": single.astype(float).tolist(), "family_of": (family_of + 1).tolist(),
        "base_of_family": (fam.base_of_family + 1).tolist(), "family_x": fam.x_c.tolist(),
        "family_period": (fam.period_idx + 1).tolist(), "F_shared": int((~alone).sum()), "shared": idx(~alone),
        "w_family": design.centring_weights("family_level", int((~alone).sum())).tolist(),
        "K_sampled": len(sampled), "tuner_sampled": (sampled + 1).tolist(),
        "w_tuner": design.centring_weights("finetuner_effect", len(sampled)).tolist(),
        "family_idx": (fam.family_idx + 1).tolist(), "dx": (design.x_c - fam.x_c[fam.family_idx]).tolist(),
        "tuner_of_model": np.where(finetune, fam.finetuner_idx + 1, n_tuner + 1).tolist(),
        "is_closed": design.is_closed.astype(float).tolist(),
        "y": fam.logit.tolist(), "floor_": scale.floor, "n_questions": float(scale.n_questions), "edge": scale.edge,
        "N_cmp": int(compared.sum()), "cmp": idx(compared), "solo": idx(~compared),
        "N_low": int(at_low.sum()), "at_low": idx(at_low), "N_high": int(at_high.sum()), "at_high": idx(at_high),
        "N_cmp_low": int(at_low[compared].sum()), "cmp_at_low": idx(at_low[compared]),
        "N_cmp_high": int(at_high[compared].sum()), "cmp_at_high": idx(at_high[compared]),
        "failure_logit_mean": spec.model.failure_logit_mean, "failure_logit_sd": spec.model.failure_logit_sd,
    }


def to_tree(fit, model) -> xr.DataTree:
    """pystan's draws as a DataTree: posterior (the PyMC model's free variables, same names and shapes) and
    sample_stats (divergences, energy, ...), dims (chain, draw, ...)."""
    draws = fit._draws  # (sampler and parameter columns, draw, chain)
    names = list(fit.sample_and_sampler_param_names) + list(fit.constrained_param_names)
    posterior = {}
    for rv in model.free_RVs:
        shape = tuple(fit.dims[fit.param_names.index(rv.name)])
        rows = [names.index(c) for c in _columns(rv.name, shape)]
        values = np.moveaxis(draws[rows], 0, -1).transpose(1, 0, 2)  # (chain, draw, element)
        values = values.reshape(*values.shape[:2], *shape)
        posterior[rv.name] = (("chain", "draw", *(f"{rv.name}_dim_{i}" for i in range(len(shape)))), values)
    stats = {}
    for stan_name, name in STATS.items():
        values = draws[names.index(stan_name)].T  # (chain, draw)
        stats[name] = (("chain", "draw"), values.astype(bool) if name == "diverging" else
                       values.astype(np.int64) if name in ("tree_depth", "n_steps") else values)
    n_draws = draws.shape[1]
    coords = {"chain": np.arange(fit.num_chains), "draw": np.arange(n_draws)}
    return xr.DataTree.from_dict({"posterior": xr.Dataset(posterior, coords=coords),
                                  "sample_stats": xr.Dataset(stats, coords=coords)})


def _columns(name: str, shape: tuple) -> list[str]:
    """pystan's flat column names of a scalar or vector parameter (``name.1``, ``name.2``, ...)."""
    if not shape:
        return [name]
    if len(shape) != 1:
        raise ValueError(f"{name}: only scalars and vectors are expected, got shape {shape}")
    return [f"{name}.{i + 1}" for i in range(shape[0])]


def constrained_point(model, values: dict) -> dict:
    """PyMC's value-variable point (log / log-odds transformed) from constrained values of the free variables."""
    point = {}
    for rv in model.free_RVs:
        x = np.asarray(values[rv.name], dtype=float)
        transform = model.rvs_to_transforms.get(rv)
        kind = type(transform).__name__ if transform is not None else None
        if kind == "LogTransform":
            x = np.log(x)
        elif kind == "LogOddsTransform":
            x = np.log(x) - np.log1p(-x)
        elif kind == "AsinhTransform":
            x = np.arcsinh(x)
        elif kind is not None:
            raise ValueError(f"{rv.name}: transform {kind} not handled")
        point[model.rvs_to_values[rv].name] = x
    return point


def logp_check(posterior, model, points: list[dict]) -> np.ndarray:
    """Log densities (no Jacobians) of PyMC and Stan at ``points`` (constrained values per free variable), each
    relative to the first point: the columns agree where the two programs are the same model (Stan's ``~`` drops
    constants, which cancel in the differences). Returns an array (point, [pymc, stan])."""
    logp = model.compile_logp(jacobian=False)
    out = []
    for values in points:
        context = {n: np.asarray(values[n], dtype=float).tolist() for n in posterior.param_names}
        unconstrained = posterior.unconstrain_pars(context)
        out.append([float(logp(constrained_point(model, values))),
                    float(posterior.log_prob(unconstrained, adjust_transform=False))])
    out = np.array(out)
    return out - out[0]

