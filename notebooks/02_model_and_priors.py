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
# The default Bayesian model (`models/hierarchical.toml`: base-model families nested in their developers,
# fine-tuners, damaged fine-tunes and failed evaluations as a mixture, the Mundlak term) written out, what its
# priors imply on the score scale before any data are seen, the fit, its convergence diagnostics, the two
# predictive checks (a new model of a known family, a new family) and PSIS-LOO with its Pareto k. The notebook reads the posterior that `bayes-sauce fit` or `bayes-sauce run`
# saved; when there is none it fits one itself, through the same code, and saves it.

# %% tags=["parameters"]
FIT_SIZE = "full"  # "full": the saved fit (or 4 chains x 1000 draws); "small": 2 chains x 150 draws (tests)
FIT_DIR = ""  # fit folder; empty: results/hierarchical (full) or results/notebooks/hierarchical-small (small)
SEED = 20260207  # for a new fit and the prior draws
PRIOR_DRAWS = 500
FOLDS = 0  # folds of families for the new-family check when the fit folder has no checks.json; 0: the report's own (5) at full size, 2 at small

# %%
import warnings

import arviz as az
import arviz_plots as azp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from arviz_stats.ecdf_utils import ecdf_pit
from IPython.display import Markdown, display
from scipy.stats import norm

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.lineage import repo_of
from bayes_sauce.defaults import NEW_FAMILY_FOLDS
from bayes_sauce.defaults import SEED as CHECK_SEED
from bayes_sauce.fit.diagnostics import gate_table
from bayes_sauce.fit.fit import Fit
from bayes_sauce.notebooks import emit, ensure_fit, fit_dir_for, resolve, versions
from bayes_sauce.periods import PERIOD_COLUMN
from bayes_sauce.predictive import prior
from bayes_sauce.predictive.check_step import run_checks
from bayes_sauce.predictive.checks import PIT_SIMULATIONS, ppc_table, replicated_scores
from bayes_sauce.predictive.finetune_check import finetune_check
from bayes_sauce.predictive.loo import marginal_log_likelihood
from bayes_sauce.predictive.predict import predict_models
from bayes_sauce.quantities import posterior
from bayes_sauce.reporting import plots
from bayes_sauce.reporting.differences import checks_note, ppc_note
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
# The default spec's structure is `families` (`model/families.py` has the equations in code). A *family* is a
# pretrained base model and everything fine-tuned or merged from it (`data/lineage.py`); its *base developer*
# pretrained it. For model $i$ of family $F$ (base developer $B = B(F)$, the family's compute $x_F$ and
# period $t_F$, those of its root), fine-tuned or merged by developer $d(i)$, with $x$ the centred log10
# training compute:
#
# $$\ell_B = \alpha + \mu_{g(B)} + \gamma\,\bar x_B + u_B, \qquad u_B \sim \mathrm{Normal}(0, \sigma_{\text{developer}})$$
# $$g_F \sim \mathrm{Normal}\big(\ell_{B(F)} + \beta\, x_F + \tau_{t_F},\; \sigma_{\text{family}}\big)$$
# $$\mu_i = g_F + \beta_{\text{within}}\,(x_i - x_F) + [i \text{ is a fine-tune}]\; v_{d(i)}, \qquad v_d \sim \mathrm{Normal}(0, \sigma_{\text{finetuner}})$$
#
# and the observed logit of the chance-normalised score $y_i$ (with $s_i$ its binomial sampling SD from
# MMLU-Pro's 12,032 questions) is drawn from
#
# * **core**: the normalised accuracy $\sim \mathrm{Normal}\big(\mathrm{logit}^{-1}(\mu_i),\ \sqrt{p(1-p)/n + \varepsilon^2}/(1 - 0.1)\big)$,
#   question sampling plus evaluation noise $\varepsilon$ on the accuracy scale, written as a density of $y_i$
#   (so that near the chance floor, where a logit is stretched, a score is as noisy as anywhere else);
# * for a fine-tune or merge in a family of two or more, a **mixture**:
#   $(1 - \pi)\big[(1 - w)\,\text{core} + w\,\mathrm{Normal}(\mu_i - \delta,\ \sqrt{V_i + \sigma_{\text{damaged}}^2})\big]
#   + \pi\,\mathrm{Normal}(m_{\text{fail}},\ \sqrt{s_{\text{fail}}^2 + s_i^2})$,
#   with $V_i$ the core's noise as a logit variance.
#
# What each part means:
#
# * $\beta$: the logit gain per 10x compute *between pretraining runs of a given developer* (the paper's
#   slope, same name and unit). $\gamma\,\bar x_B$ is the Mundlak term: the developer's mean log compute over
#   its families predicts its level, so a developer whose effect correlates with its compute does not bend
#   $\beta$ (Mundlak 1978).
# * $\mu_{g}$: pool means (the paper's Other-Small / Other-Med / Other-Large bins, the ten majors together)
#   as fixed effects against Other-Small; $u_B$ the developer's own level, shrunk toward its pool. A
#   developer that pretrained a single family cannot be told from that family: it gets one combined level,
#   split between developer and family in proportion to the two variances for reporting.
# * $g_F$: the family's (base model's) level; $\sigma_{\text{family}}$ how much a pretraining run differs
#   from its developer's line.
# * $\beta_{\text{within}}$: the slope of a model's compute apart from its family's (pruned, distilled,
#   upscaled or continued-pretraining models, token counts recorded another way), so that such accounting
#   does not drag $\beta$.
# * $v_d$: a fine-tuner's own effect on its fine-tunes (only for fine-tuners with two or more).
# * $w$, $\delta$, $\sigma_{\text{damaged}}$: the share of fine-tunes damaged by fine-tuning, how far they
#   fall and their extra spread: a fine-tune rarely beats its base by much but can lose a lot.
# * $\pi = \mathrm{logit}^{-1}(\text{failure\_rate})$: the share of fine-tunes whose evaluation failed; a
#   failure scores just above chance whatever its inputs ($m_{\text{fail}}$, $s_{\text{fail}}$ fixed in the
#   spec). Each model's posterior probability of that component is its `p_failure` (notebook 03).
# * $\tau_t$: shared progress, one offset per cohort (the paper's three), the first at 0.
#
# The model-specific deviations are integrated out of the likelihood: there is no parameter per model, and
# the pointwise log-likelihood is that of a new model of the same family. Decompositions (notebook 03) split
# each model's latent logit into compute, time (shared progress), developer, family and model effect (the
# rest: fine-tuner, compute within the family, the fine-tune's own deviation). Compute-equivalent multipliers
# are `10**(effect / beta)`. The spec's structure and options, then the priors it uses (the reasons are in
# the spec file):

# %%
print(f"structure = {fit.spec.model.structure!r}; " + ", ".join(
    f"{k} = {v!r}" for k, v in fit.spec.model.model_dump().items() if k != "structure"))
priors = pd.DataFrame([{"parameter": name, **p.model_dump(exclude_none=True)}
                       for name, p in fit.spec.priors if p is not None]).set_index("parameter")
# A prior is used when the fit has its variable (the offsets' priors are named for what they offset).
variables = {"group": ("pool_offset", "group_offset"), "period": ("period_offset",)}
used = [p for p in priors.index if any(v in fit.posterior for v in variables.get(p, (p,)))]
priors.loc[used]

# %% [markdown]
# ## Prior predictive checks: what the priors say before the data
#
# Draw every parameter from its prior, then scores for the fitted models (their compute, period, family and
# developer as in the data). What to see in the ECDF: how far the prior datasets spread, from "every model near
# chance" to "every model near 100%", and whether the observed ECDF (black) lies inside that band: priors that
# allow the data without favouring them. The sentence under the figure gives the shares.

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
# What to see: flat, rising and even falling curves are all allowed (the sentence below gives the prior
# probability of a negative slope), and how much of the score range the bands cover, against the posterior
# curve (second figure).

# %%
b = fit.spec.priors.beta
if b.dist == "Normal":
    print(f"beta ~ Normal({b.mu}, {b.sigma}): prior P(beta < 0) = {norm.cdf(0, b.mu, b.sigma):.0%}.")
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
# the posterior's (`posterior.quantities` on the prior draws). What to see: how many orders of magnitude wide
# the prior intervals of the multipliers are (`beta` near 0 makes `10**(x/beta)` explode; the sentence under the
# table gives one), so that none of the paper's claims is put in by the priors, against the posterior
# intervals.

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
display(implied.style.format("{:.3g}"))
if "developer_multiplier__Nvidia" in implied.index:
    row = implied.loc["developer_multiplier__Nvidia"]
    print(f"Nvidia's multiplier vs Other-Small: {fit.prob:.0%} prior interval {row[('prior', 'lo')]:.1e}x to "
          f"{row[('prior', 'hi')]:.1e}x, posterior {row[('posterior', 'lo')]:.3g}x to {row[('posterior', 'hi')]:.3g}x.")

# %% [markdown]
# The scalar parameters, prior against posterior. What to see: which posteriors are narrow inside a wide prior
# (the data set them) and which stay close to their prior (the data say little: the failure and damage
# parameters rest on a few dozen models).

# %%
scalars = [v for v in ("beta", "beta_within", "mundlak", "intercept", "sigma_developer", "sigma_family",
                       "sigma_finetuner", "accuracy_noise", "damaged_share", "damaged_shift", "sigma_damaged",
                       "failure_rate", "sigma_model") if v in fit.tree.posterior]
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
# Energy: the marginal energy distribution against the energy transitions. What to see: whether the two
# distributions overlap closely (E-BFMI above the gate's 0.3; the gate table above gives each chain's), so that
# the sampler explores the tails of the posterior and not only its centre.

# %%
pc = azp.plot_energy(fit.tree)
pc.add_title("Energy: marginal vs transition distributions (right); E-BFMI per chain, dashed at 0.3 (left)")

# %% [markdown]
# ## The predictive checks (checks.json)
#
# The checks that decide whether the model describes the data, each as a PIT-ECDF with a simultaneous band
# (ArviZ): every model's observed score is put through the cumulative distribution function of its predictive
# distribution (its PIT); for a calibrated model the PITs are uniform, and their ECDF minus the uniform's stays
# inside the band (95% simultaneous coverage).
#
# * `new_model_in_known_family`: a new member of a model's own family by its own developer, LOO-PIT weighted
#   by Pareto-smoothed importance sampling so that the model's own score does not inform its prediction (over
#   the families of two or more models; a family of one is a new family once its model is left out). It tests
#   the fine-tune part: the spread of fine-tunes around their base, damage and failures.
# * `new_family`: each family's root (or first member) predicted as a model of an unseen family, by fits that
#   never saw it (the families split into folds, each fold fitted on the others; an unseen developer too where
#   the developer pretrained only held-out families). It tests the developer and family levels and the slope.
#
# `bayes-sauce check` (which `run` calls) writes them to `checks.json` in the fit folder; this notebook reads that
# file when it was computed from this fit, code and number of folds. Otherwise it runs the same step
# (`predictive.check_step.run_checks`), the fold fits saved under the fit's `checks/` folder, where notebook 03's
# report reads them.
# What to see: whether each curve stays inside its band, and where it leaves it (a curve above the band at low
# PIT: observed scores lower than predicted; an S shape: the predictive distributions too wide or too narrow).

# %%
folds = FOLDS or (NEW_FAMILY_FOLDS if FIT_SIZE == "full" else 2)
checks, was_saved = run_checks(fit, folds)
print(f"Read {fit_dir / 'checks.json'} (written by `bayes-sauce check`)." if was_saved else
      f"Computed the checks here, the new-family check from {folds} fold fits (saved under {fit_dir / 'checks'}).")
fig, axes = plt.subplots(1, len(checks), figsize=(5.5 * len(checks), 4), squeeze=False)
for ax, (name, c) in zip(axes[0], checks.items()):
    points, ecdf, lower, upper = ecdf_pit(np.asarray(c["pit"], dtype=float), c["band"], PIT_SIMULATIONS,
                                          rng=np.random.default_rng(CHECK_SEED))
    ax.fill_between(points, lower - points, upper - points, color="0.85", step="post",
                    label=f"{c['band']:.0%} simultaneous band")
    ax.step(points, ecdf - points, where="post", color="black", label="observed PIT ECDF - uniform")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set(title=f"{name} (n = {c['n']}): {'passes' if c['passed'] else 'FAILS'}", xlabel="PIT",
           ylabel="ECDF difference")
    ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
display(Markdown(checks_note(checks)))

# %% [markdown]
# ## The distribution of scores against replicated datasets
#
# Two replications of the whole dataset, as ECDFs of scores. The informative one (left) draws every model as a
# new model of a new family, with the same compute, period and developer; the other (right) as a new member of
# its own family (the fit's posterior predictive). What to see: whether the observed ECDF (black) stays inside
# the band, above all at the left end, near chance, where the failed evaluations of notebook 01 sit, and at
# the top, where observed scores stop. The sentence under the figure says how far it leaves the band.

# %%
ppc = ppc_table(fit)
kinds = ({"fresh": "Replicated as new models of new families (same developer, compute, period)",
          "own": "Replicated as new members of each model's own family"}
         if fit.spec.model.structure == "families" else None)
fig = plots.ppc_ecdf(ppc, fit.prob, kinds=kinds)
display(Markdown(ppc_note(ppc, fit)))

# %% [markdown]
# ## PSIS-LOO and Pareto k
#
# Leave-one-out predictive accuracy by Pareto-smoothed importance sampling, on the scale `bayes-sauce compare`
# uses: each observed count's probability with the model-specific deviation integrated out. In the family
# structure the likelihood integrates it itself, so the fit's pointwise log-likelihood is already that of a new
# model of the same family (in the developer structure `marginal_log_likelihood` integrates the model effect,
# and a one-model developer's effect, from the draws). What to see: which models have a high k, and where
# they sit on the score scale.

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
# ## Predicting a new fine-tune of a known base model
#
# Most new models are fine-tunes or merges of a few base models. `bayes-sauce predict --base-model REPO
# --developer LAB` (here `predict_models`, the same code) puts such a model in its base's family: the family's
# level, base developer and period, its fine-tuner's effect (the fitted one, or a fresh one for a lab the fit
# never saw) and the fine-tune mixture, whose weights are the chance that it is a damaged fine-tune (`p_damaged`)
# or a failed evaluation (`p_failure`). Below: two fine-tunes of the base of the largest family with its root in
# the data, one by a lab the fit never saw and one by that family's most frequent fine-tuner, and beside them a
# new pretraining run of the same size and date by the base's developer (the first model of a new family). What
# to see: how much narrower a fine-tune's interval is than a new family's, and how far down its lower end reaches
# (the damaged fine-tunes and failed evaluations).

# %%
if fit.spec.model.structure == "families":
    roots = fit.rows[fit.rows["is_root"].astype(bool)]
    base = roots.loc[roots["family"].map(fit.rows["family"].value_counts()).idxmax()]
    members = fit.rows[(fit.rows["family"] == base["family"]) & ~fit.rows["is_root"].astype(bool)]
    tuner = members["developer"].value_counts().index[0]
    examples = pd.DataFrame([
        {"model": "a new lab's fine-tune", "base_model": repo_of(base["model_id"]), "developer": "a-new-lab"},
        {"model": f"{tuner}'s next fine-tune", "base_model": repo_of(base["model_id"]), "developer": tuner},
        {"model": "a new pretraining run", "params_b": str(base["params_b"]), "tokens_b": str(base["tokens_b"]),
         "developer": base["developer"], "release_month": base["release_month"]},
    ])
    display(predict_models(fit, examples)[["model", "base_model", "predicted_as", "family", "finetuner_effect",
                                           "p_damaged", "p_failure", "score_median", "score_lo", "score_hi"]])
    print(f"The base, {base['model_id']}, scored {base[outcome]:.3f}.")

# %% [markdown]
# Are these intervals calibrated for new fine-tunes? Every fine-tune of a family of two or more is asked of
# `predict` the same way (its family as its base, its own fine-tuner, size, date and source) and its draws are
# weighted by Pareto-smoothed importance sampling with the fit's pointwise log-likelihood (that of a new member of
# the family), so that its own score does not inform its prediction (`bayes-sauce predict-check` writes the same
# numbers). What to see: whether the 50% and 90% intervals hold about 50% and 90% of the observed scores, whether
# the LOO-PIT's ECDF stays inside its band, and whether the median prediction is closer to the observed score than
# the base model's own score is.

# %%
finetunes = None
if fit.spec.model.structure == "families":
    finetunes, finetune_table = finetune_check(fit)
    ci = {k: finetunes[f"coverage_{k}_interval"] for k in (50, 90)}
    print(f"{finetunes['n']} fine-tunes: " + "; ".join(
        f"{k}% intervals hold {finetunes[f'coverage_{k}']:.1%} (90% CI {ci[k][0]:.1%}-{ci[k][1]:.1%})" for k in (50, 90)))
    print(f"LOO-PIT inside its band: {finetunes['loo_pit']['passed']}; Pareto k > 0.7: {finetunes['pareto_k_above_0_7']}")
    print(f"Median absolute error: {finetunes['median_abs_error_points']:.2f} points "
          f"({finetunes['median_abs_error_points_base_in_data']:.2f} on the {finetunes['n_base_in_data']} whose base is "
          f"in the data, where the base's own score misses by {finetunes['naive_base_score_median_abs_error_points']:.2f})")

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
    "checks_passed": {name: bool(c["passed"]) for name, c in checks.items()},
    "finetune_coverage_90": round(finetunes["coverage_90"], 3) if finetunes else None,
    "versions": versions(),
})

# %%
plt.close("all")
pd.Series(versions(), name="version").to_frame()
