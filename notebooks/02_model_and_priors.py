# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 The model, its priors, the fit and its checks
#
# The default Bayesian model (`models/hierarchical.toml`) written out, what its priors imply on the score
# scale before any data are seen, the fit, its convergence diagnostics, posterior predictive checks and
# PSIS-LOO with its Pareto k. The notebook reads the posterior that `bayes-sauce fit` or `bayes-sauce run`
# saved; when there is none it fits one itself, through the same code, and saves it.

# %% tags=["parameters"]
FIT_SIZE = "full"  # "full": the saved fit (or 4 chains x 1000 draws); "small": 2 chains x 150 draws (tests)
FIT_DIR = ""  # fit folder; empty: results/hierarchical (full) or results/notebooks/hierarchical-small (small)
SEED = 20260207  # for a new fit and the prior draws
PRIOR_DRAWS = 500

# %%
import warnings

import arviz as az
import arviz_plots as azp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.fit.diagnostics import gate_table
from bayes_sauce.fit.fit import Fit
from bayes_sauce.notebooks import emit, ensure_fit, fit_dir_for, resolve, versions
from bayes_sauce.periods import PERIOD_COLUMN
from bayes_sauce.predictive import prior
from bayes_sauce.predictive.checks import ppc_table, replicated_scores
from bayes_sauce.predictive.loo import marginal_log_likelihood
from bayes_sauce.quantities import posterior
from bayes_sauce.reporting import plots
from bayes_sauce.reporting.differences import ppc_note
from bayes_sauce.reporting.tables import paper_reference

# %matplotlib inline
pd.set_option("display.width", 140)
# PSIS warns about high Pareto k on every call; the section on LOO shows and explains them.
warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto distribution")

# %%
fit_dir = ensure_fit(fit_dir_for(FIT_SIZE, FIT_DIR), FIT_SIZE, SEED)
fit = Fit.load(fit_dir)
attrs = fit.tree.attrs
outcome, time = fit.spec.data.outcome, fit.spec.data.time
print(f"Fit '{fit.spec.name}' in {fit_dir}: {len(fit.rows)} models, {attrs['chains']} chains x {attrs['draws']} draws "
      f"after {attrs['tune']} tuning steps ({attrs['sampler']}, seed {attrs['seed']}), git commit {attrs['git_commit'][:10]}")

# %% [markdown]
# ## The model
#
# For model $i$ of developer $d(i)$, in pool $g(d)$ (the paper's Other-Small / Other-Med / Other-Large size
# bins, and the ten majors together), released in period $t(i)$, with training compute $C_i$:
#
# $$k_i \sim \mathrm{Binomial}\big(12{,}032,\; 0.1 + 0.9\,\mathrm{logit}^{-1}(\eta_i)\big)$$
# $$\eta_i = \alpha + \beta\,(\log_{10} C_i - c_0) + \tau_{t(i)} + u_{d(i)} + e_i$$
# $$u_d \sim \mathrm{Normal}(\mu_{g(d)}, \sigma_{\text{developer}}), \qquad e_i \sim \mathrm{Normal}(0, \sigma_{\text{model}})$$
#
# * $k_i$: correct answers out of MMLU-Pro's 12,032 questions; 0.1 is the chance floor (ten options), so
#   $\eta$ is the logit of the chance-normalised score, the paper's outcome, but measured with the right
#   binomial noise instead of taken as exact.
# * $\beta$: logit gain per 10x compute; $c_0$ centres compute (the data's mean log10 FLOPs).
# * $\tau_t$: shared progress, one offset per cohort (the paper's three), the first at 0.
# * $u_d$: every one of the 256 raw developers has its own effect, shrunk toward its pool mean $\mu_g$
#   (pool means are fixed effects against Other-Small, as the paper's dummies); a developer with one model is
#   pulled strongly to its pool, a developer with 40 hardly at all.
# * $e_i$: the model-specific effect (fine-tuning recipe, data quality, evaluation failures).
#
# Compute-equivalent multipliers are `10**(effect / beta)`: how many times more compute would buy the same
# logit gain. The priors, on the logit scale, with the reasons in the spec file:

# %%
priors = pd.DataFrame([{"parameter": name, **p.model_dump(exclude_none=True)}
                       for name, p in fit.spec.priors if p is not None]).set_index("parameter")
used = {"alpha", "beta", "group", "sigma_developer", "sigma_model", "period"}
priors.loc[[p for p in priors.index if p in used]]

# %% [markdown]
# ## Prior predictive checks: what the priors say before the data
#
# Draw every parameter from its prior, then scores for the 809 models (their compute, period and developer
# as in the data). What to see in the ECDF: the prior datasets spread from "every model near chance" to
# "every model near 100%", and the observed ECDF (black) lies well inside that band: the priors allow the
# data without favouring them.

# %%
prior_fit = prior.sample_prior(fit.spec, Dataset(models=fit.rows), PRIOR_DRAWS, SEED)
prior_tree = prior_fit.tree
prior_ppc = prior.prior_predictive_table(prior_fit)
fig = plots.ppc_ecdf(prior_ppc, fit.prob, kinds={"prior": "Replicated from the priors alone"},
                     title="Prior predictive check: distribution of scores across models")

# %%
prior_scores = replicated_scores(prior_tree["prior_predictive"].to_dataset(), fit.design.scale)
observed = fit.rows[outcome]
in_range = float(((prior_scores >= observed.min()) & (prior_scores <= observed.max())).mean())
print(f"Prior predictive scores: {in_range:.0%} inside the observed range [{observed.min():.3f}, {observed.max():.3f}], "
      f"{float((prior_scores > 0.9).mean()):.0%} above 0.9, {float((prior_scores < 0.11).mean()):.0%} within a point of chance.")

# %% [markdown]
# The scaling curve under the prior: expected score against compute per cohort, for the average developer.
# What to see: flat, rising and even falling curves are all allowed (`beta ~ Normal(0.5, 0.5)` gives a
# negative slope 16% prior probability), and the bands cover almost the whole score range, so the
# posterior curve (second figure) is the data's.

# %%
grid = np.linspace(fit.rows["log10_flops"].min() - 0.25, fit.rows["log10_flops"].max() + 0.25, 60)
fig = plots.scaling_curve(posterior.scaling_curve(prior_fit, posterior.components(prior_fit), grid), fit.rows, outcome,
                          PERIOD_COLUMN[time], fit.prob)
fig.axes[0].set_title(f"PRIOR scaling curve by period: average developer, model effect 0 ({fit.prob:.0%} band)")

# %%
fig = plots.scaling_curve(posterior.scaling_curve(fit, posterior.components(fit), grid), fit.rows, outcome,
                          PERIOD_COLUMN[time], fit.prob)
fig.axes[0].set_title(f"POSTERIOR scaling curve by period: average developer, model effect 0 ({fit.prob:.0%} band)")

# %% [markdown]
# What the priors imply for the headline numbers themselves, computed per prior draw by the same code as
# the posterior's (`posterior.quantities` on the prior draws). What to see: the prior intervals are orders of
# magnitude wide (a developer multiplier's 90% prior interval runs from about 1e-15x to 1e13x, as `beta` near 0
# makes `10**(x/beta)` explode), so none of the paper's claims is put in by the priors; the posterior intervals
# are narrow.

# %%
key_ids = ["compute_slope", "shapley_compute", "shapley_developer", "shapley_model",
           "progress_multiplier_last_vs_first", "within_firm_spread_p90_p10",
           "frontier_compute_share__Llama-2-70B__DeepSeek-V3", "developer_multiplier__Nvidia",
           "developer_multiplier__Microsoft"]
paper = paper_reference(fit.spec)
with np.errstate(all="ignore"):
    prior_table = posterior.summarise(posterior.quantities(prior_fit), paper, fit.prob)
    post_table = posterior.summarise(posterior.quantities(fit), paper, fit.prob)
columns = ["median", "lo", "hi"]
implied = pd.concat({"prior": prior_table.set_index("quantity")[columns],
                     "posterior": post_table.set_index("quantity")[columns],
                     "paper": post_table.set_index("quantity")[["paper"]]}, axis=1).reindex(key_ids)
implied.style.format("{:.3g}")

# %% [markdown]
# The scalar parameters, prior against posterior. What to see: every posterior is a narrow spike inside a
# wide prior (the data, not the prior, set them).

# %%
scalars = [v for v in ("beta", "intercept", "sigma_developer", "sigma_model") if v in fit.tree.posterior]
both = xr.DataTree.from_dict({"prior": prior_tree["posterior"].to_dataset()[scalars],
                              "posterior": fit.tree.posterior.to_dataset()[scalars]})
pc = azp.plot_prior_posterior(both, var_names=scalars)
pc.add_title("Prior vs posterior of the scalar parameters (logit scale)")

# %% [markdown]
# ## The fit and its diagnostics
#
# The gate every reported fit passes: R-hat <= 1.01, bulk and tail ESS >= 400 for every varying quantity,
# no divergences, E-BFMI >= 0.3. A small fit (the test suite's) fails it by design; its numbers only show
# that the notebook runs.

# %%
print(gate_table(fit.diagnostics))
print("Timings (s):", {k: round(v, 1) for k, v in fit.diagnostics.get("timings", {}).items()})

# %%
with np.errstate(invalid="ignore"):  # the first cohort's offset is a constant 0: its R-hat is 0/0
    summary = az.summary(fit.tree, var_names=scalars + ["period_effect"], ci_prob=fit.prob, ci_kind="eti")
summary

# %% [markdown]
# Rank plots: the ranks of each chain's draws among all draws, as ECDF differences; chains that mix well
# stay inside the envelope with no systematic shape. What to see: flat, overlapping lines for every chain.
# The first cohort's offset is fixed at 0 (the reference), so it is left out.

# %%
periods = [str(p) for p in fit.tree.posterior["period"].values][1:]
pc = azp.plot_rank(fit.tree, var_names=scalars + ["period_effect"], coords={"period": periods})
pc.add_title("Rank plots (fractional ranks per chain; flat = well mixed)")

# %% [markdown]
# Energy: the marginal energy distribution against the energy transitions. What to see: the two
# distributions overlap closely (E-BFMI well above 0.3), so the sampler explores the tails of the posterior
# and not only its centre.

# %%
pc = azp.plot_energy(fit.tree)
pc.add_title("Energy: marginal vs transition distributions (right); E-BFMI per chain, dashed at 0.3 (left)")

# %% [markdown]
# ## Posterior predictive checks
#
# Two replications of the whole dataset. With each model's own effect (right) the check is nearly
# circular: every model has its own parameter. The informative one (left) draws a new model effect for each
# row, as if each model were a new one with the same compute, period and developer. What to see: whether
# the observed ECDF (black) stays inside the band, above all at the left end, near chance.
#
# On the full default fit it does not: the observed ECDF leaves the band over most of the score range.
# Observed scores bunch at chance (evaluation failures, notebook 01) and between 0.3 and 0.55, with almost
# nothing above 0.6 but the self-reported closed models; normal model effects on the logit scale spread new
# models more evenly. The model-specific effects are skewed to the left and heavy-tailed (the sentence below
# gives their skewness and kurtosis), which is why the within-firm spreads, quantiles of those effects, should
# be read with care, and why the Student-t variant (`models/student_t.toml`, `model_dist = "student_t"`)
# exists: it had the best new-model LOO of the specs `bayes-sauce compare` ranked when this was written.

# %%
ppc = ppc_table(fit)
fig = plots.ppc_ecdf(ppc, fit.prob)
print(ppc_note(ppc, fit))

# %% [markdown]
# ## PSIS-LOO and Pareto k
#
# Leave-one-out predictive accuracy of a *new* model with the same inputs, by Pareto-smoothed importance
# sampling: the log-likelihood is each observed count's probability with the model-specific effect
# integrated out (and a one-model developer's effect too), the scale `bayes-sauce compare` uses. (The fit's
# own conditional log-likelihood pins each model's effect by its one observation, so leaving it out would
# move that effect from a spike to its prior: almost every Pareto k would exceed 0.7.) What to see: which
# models keep a high k even so, and where they sit on the score scale.

# %%
marginal = xr.DataTree.from_dict({"posterior": fit.posterior,
                                  "log_likelihood": xr.Dataset({"score": marginal_log_likelihood(fit)})})
loo = az.loo(marginal, pointwise=True)
print(loo)
fig = plots.pareto_k(np.asarray(loo.pareto_k).ravel(), fit.rows[outcome].to_numpy(), float(loo.good_k), outcome)

# %%
compare_csv = resolve("results/compare/loo.csv")
if compare_csv.exists():
    print(f"Marginal (new-model) PSIS-LOO from `bayes-sauce compare` ({compare_csv}):")
    display(pd.read_csv(compare_csv))
else:
    print(f"No {compare_csv}: run `bayes-sauce compare` for the LOO of a new model (model effect integrated out), "
          "compared across specs.")

# %% [markdown]
# ## Key outputs and versions

# %% tags=["key-outputs"]
d = fit.diagnostics
emit({
    "fit_dir": str(fit_dir),
    "draws": int(attrs["draws"]),
    "chains": int(attrs["chains"]),
    "gate_passed": bool(d["passed"]),
    "max_rhat": round(d["max_rhat"], 4) if d["max_rhat"] is not None else None,
    "min_ess_bulk": round(d["min_ess_bulk"], 1),
    "divergences": int(d["divergences"]),
    "prior_predictive_share_in_data_range": round(in_range, 3),
    "elpd_loo": round(float(loo.elpd), 1),
    "n_pareto_k_high": int((np.asarray(loo.pareto_k) > float(loo.good_k)).sum()),
    "versions": versions(),
})

# %%
plt.close("all")
pd.Series(versions(), name="version").to_frame()
