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
# # 03 The headline numbers: posterior against the paper
#
# Every headline number of the paper computed for each posterior draw, by the same decomposition code as
# the OLS replication, and summarised as the posterior median and 90% equal-tailed interval: the variance
# shares, the frontier decomposition, the within-firm spreads (overall and per developer), the developer
# multipliers with the probability that each developer is the most compute-efficient, and shared progress.
# The last section sets the posterior beside the paper's OLS refitted on the same rows and says why they
# differ. All tables and figures come from `reporting.report.build_report`, the code behind `bayes-sauce report`.

# %% tags=["parameters"]
FIT_SIZE = "full"  # "full": the saved fit (or 4 chains x 1000 draws); "small": 2 chains x 150 draws (tests)
FIT_DIR = ""  # fit folder; empty: results/hierarchical (full) or results/notebooks/hierarchical-small (small)
SEED = 20260207  # for a new fit, when there is none to read

# %%
import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr
from IPython.display import Markdown, display

from bayes_sauce.fit.fit import Fit
from bayes_sauce.notebooks import emit, ensure_fit, fit_dir_for, versions
from bayes_sauce.quantities import posterior
from bayes_sauce.quantities.headline import MIN_MODELS_PER_FIRM
from bayes_sauce.reporting import plots
from bayes_sauce.reporting.paper import compare, comparison_markdown
from bayes_sauce.reporting.report import build_report
from bayes_sauce.reporting.tables import ols_reference, paper_reference

# %matplotlib inline
pd.set_option("display.width", 140)
pd.set_option("display.max_rows", 120)

# %%
fit_dir = ensure_fit(fit_dir_for(FIT_SIZE, FIT_DIR), FIT_SIZE, SEED)
report = build_report(Fit.load(fit_dir))
plt.close("all")  # the report's figures are shown one by one below
fit, tables = report.fit, report.tables
headline = tables["headline"].set_index("quantity")
d = fit.diagnostics
print(f"Fit '{fit.spec.name}' in {fit_dir}: {fit.tree.attrs['chains']} chains x {fit.tree.attrs['draws']} draws; "
      f"diagnostics gate {'PASSED' if d['passed'] else 'FAILED: ' + '; '.join(d['failures'])}")
if not d["passed"]:
    display(Markdown("> **This fit FAILED the diagnostics gate: its numbers are not reliable.** "
                     "(Expected for the test suite's small fit.)"))

# %% [markdown]
# ## Every headline number beside the paper's
#
# One row per quantity: the posterior median, its 90% interval, the paper's published value and the
# difference. `headline.csv` beside the fit has the same rows with each quantity's definition.

# %%
comparison = compare(tables["headline"], paper_reference(fit.spec))
display(Markdown(comparison_markdown(comparison, fit.prob)))

# %%
with_paper = tables["headline"].dropna(subset=["paper", "lo", "hi"])
inside = with_paper[(with_paper["paper"] >= with_paper["lo"]) & (with_paper["paper"] <= with_paper["hi"])]
print(f"{len(inside)} of the {len(with_paper)} quantities with a published value and a posterior interval have the "
      f"paper's value inside the {fit.prob:.0%} interval; outside: {', '.join(sorted(set(with_paper['quantity']) - set(inside['quantity'])))}")

# %% [markdown]
# The posterior of the most quoted numbers, draw by draw, with the paper's value in red. What to see: where
# the red line sits in the histogram. On the full fit the slope, the shared-progress multiplier, the
# within-firm spread and the DeepSeek-V3 frontier share have the paper's value inside or near the bulk, while
# the variance shares do not (the next section says why).

# %%
key_ids = ["compute_slope", "shapley_compute", "shapley_developer", "shapley_model",
           "progress_multiplier_last_vs_first", "within_firm_spread_p90_p10",
           "frontier_compute_share__Llama-2-70B__DeepSeek-V3", "developer_multiplier__Nvidia",
           "threshold_compute_fall_all_fitted"]
quantities = {q.id: q for q in posterior.quantities(fit) if q.id in key_ids}
key_ids = [q for q in key_ids if q in quantities]
draws = xr.Dataset({q: quantities[q].value for q in key_ids}).to_dataframe()[key_ids]
fig = plots.quantity_posteriors(draws, headline["paper"].to_dict(), headline["unit"].to_dict())

# %% [markdown]
# ## Variance shares
#
# The paper's Figure 1 splits the variance of the logit score into compute, shared progress, developer and
# model-specific parts (exact Shapley-Owen over R2). Ours is the same decomposition per draw of the latent
# logit. What to see: compute and developer get more, the model-specific part about half the paper's. Two
# reasons, both in the figure: the black ticks are the paper's own OLS decomposed our way (one regressor per
# component), which already moves the shares; and our developer component varies over 256 pooled raw
# developers instead of 13 groups, so differences between developers inside a group move from "model" to
# "developer".

# %%
display(report.figures["shapley"])
tables["shapley"]

# %% [markdown]
# ## The frontier decomposition
#
# "At the frontier, 80-90% of performance differences are explained by compute": each component's share of
# the logit gain between two frontier models (the intercept and the origin of compute cancel, so these are
# identified given the model's split of eta). What to see: compute's share of Llama-2-70B -> DeepSeek-V3 is
# close to the paper's 80%, and above 100% for Llama-2-70B -> GPT-4.5, where GPT-4.5's own model effect is
# negative (it scores less than its estimated 3.7e27 FLOPs predict). The model-specific share carries the
# widest interval: the frontier models are single closed models with self-reported scores and guessed sizes.

# %%
display(report.figures["frontier_pairs"])
tables["frontier_pairs"]

# %% [markdown]
# Along the running-best frontier by quarter, each component's share of the gain since the first frontier
# model, GPT-JT-6B-v1. What to see: on the full fit compute's share is above 100% all along (between about 115%
# and 270%) and the model-specific share negative: GPT-JT-6B-v1 scored far above what its compute predicted, and
# the later frontier models got more compute than their gains reflect. Shared progress adds 20-40% from 2023q4 on.

# %%
display(report.figures["frontier_running"])

# %% [markdown]
# The paper's level shares (compute over the sum of a model's components) for its top models. They depend on
# the arbitrary origin of compute (1e18 FLOPs), the base period and the base group, so they are not identified;
# shown only beside the paper's.

# %%
headline.loc[[q for q in headline.index if q.startswith("level_compute_share__")], ["median", "lo", "hi", "paper"]]

# %% [markdown]
# ## Within-firm spreads
#
# "A firm can train two models with more than 40x compute-efficiency difference": the 90th over the 10th
# percentile of the major developers' model-specific effects, as compute multipliers `10**((q90 - q10) / beta)`,
# per draw. What to see: the paper's 40.55x (red) inside the posterior; the interquartile version is near 4x.

# %%
display(report.figures["within_firm_spread"])

# %% [markdown]
# The same spread per major developer with at least five models. What to see: the spread is nothing like a
# constant of "firms". On the full fit Nvidia's is about 1,300x: it runs from the pruned and distilled Minitron
# models (94B tokens counted, the teacher's compute not; model effects about +0.7 to +1.3 logits) to
# OpenMath2-Llama3.1-8B, a maths fine-tune that scores 0.155 on MMLU-Pro (about -2.6). Google's (about 500x)
# runs from the first Gemma 2B models (about -1.5) to the self-reported scores of Gemma and Gemini (about +1.0
# to +1.3). 01-AI's Yi family is nearly uniform (about 2x). The paper's pooled 40x averages over very different
# firms, and partly measures evaluation protocols: Gemma-2-9B-it appears twice, 0.388 on the leaderboard and
# 0.521 self-reported, 0.6 logits apart, worth about 5x compute on its own.

# %%
prefix = "within_firm_spread_p90_p10__"
per_firm = headline.loc[[q for q in headline.index if q.startswith(prefix)], ["median", "lo", "hi"]].reset_index()
counts = fit.rows[fit.rows["is_major"]].groupby("developer").size()
per_firm["developer"] = per_firm["quantity"].str.removeprefix(prefix)
per_firm["label"] = [f"{dev} ({counts.get(dev, 0)} models)" for dev in per_firm["developer"]]
per_firm = per_firm.sort_values("median", ascending=False)
fig = plots.interval_forest(per_firm, f"Within-firm spread q90/q10 per major developer (>= {MIN_MODELS_PER_FIRM} models)",
                            "compute-equivalent spread, 10**((q90(e) - q10(e)) / beta) (x, log scale)", fit.prob,
                            reference=headline.loc["within_firm_spread_p90_p10", "paper"],
                            reference_label="paper: all majors pooled (40.55x)")

# %% [markdown]
# ## Developer multipliers and rank probabilities
#
# The paper's 13 groups against Other-Small, posterior beside the paper's OLS on the same rows (log axis).
# What to see: every posterior median is closer to 1x than the OLS (partial pooling and a steeper slope), and
# the closed labs' intervals, although far narrower than the OLS's, still span more than a factor of 50.

# %%
display(report.figures["developer_multipliers"])
tables["developer_multipliers"]

# %% [markdown]
# Which major is the most compute-efficient? The share of posterior draws in which each has the largest
# multiplier. What to see: no major reaches 90%; Microsoft and Nvidia share most of the probability (on the full
# fit 0.46 and 0.36), Nvidia through its pruned and distilled Minitron models, Microsoft through phi models trained
# largely on data written by larger models: in both cases the teachers' compute is not counted.

# %%
developers = tables["developers"].set_index("developer")
p_major = developers["p_most_efficient_major"].dropna()
fig = plots.probability_bars(p_major, "P(most compute-efficient among the ten majors)",
                             "share of posterior draws with the largest multiplier")

# %% [markdown]
# Every raw developer with at least five models, against the average developer (the unweighted mean of all 256
# developers' effects). What to see: on the full fit the top of the whole table is not a major but data defects.
# hon9kon9ize (one model, CantoneseLLMChat, recorded with 0.4B tokens) leads at about 150x; cpayne1303's 2M- and
# 31M-parameter models score at chance, which is above what the logit line extrapolated down to 1e16-1e17 FLOPs
# predicts (a floor effect, not efficiency); Delta-Vector's 8B fine-tunes inherit Minitron's 94B tokens; and
# speakleash's Bielik-11B (the top developer with five or more models, P(most efficient) about 0.4) counts only
# its 400B continued-pretraining tokens, not its Mistral base's. A multiplier is only as good as the compute
# figure under it.

# %%
ranked = developers[developers["n_models"] >= 5].sort_values("vs_population_median", ascending=False).head(20)
forest = pd.DataFrame({"label": [f"{dev} ({n}, {g})" for dev, n, g in zip(ranked.index, ranked["n_models"], ranked["group"])],
                       "median": ranked["vs_population_median"], "lo": ranked["vs_population_lo"],
                       "hi": ranked["vs_population_hi"]})
fig = plots.interval_forest(forest, "Top 20 developers with >= 5 models: compute multiplier vs the average developer",
                            "compute multiplier vs the average developer, 10**(effect/beta) (x, log scale)", fit.prob,
                            reference=1.0, reference_label="the average developer")

# %%
developers.head(10)[["group", "n_models", "vs_population_median", "vs_population_lo", "vs_population_hi",
                     "p_most_efficient", "p_most_efficient_major"]]

# %% [markdown]
# ## Shared progress and the scaling curve
#
# The expected score against compute for each cohort, for the average developer and a model effect of 0. What
# to see: the gap between the first cohort and the later two (the progress multiplier, about 7-10x compute), and
# how little the two later cohorts differ.

# %%
display(report.figures["scaling_curve"])
headline.loc[[q for q in headline.index if q.startswith("progress_")], ["median", "lo", "hi", "paper", "unit"]]

# %% [markdown]
# ## What changes against the OLS replication, and why
#
# The paper's OLS refitted on the same rows (its point estimate and delta-method interval) beside the posterior.
# The sentences after the table are generated from these numbers (`differences.disagreements`), so they stay true
# when the data or the fit change.

# %%
ols = ols_reference(fit)
columns = ["median", "lo", "hi"]
side = pd.concat({"OLS (paper's equation, same rows)": ols.headline.set_index("quantity")[columns],
                  "posterior": headline[columns], "paper": headline[["paper"]]}, axis=1, join="inner")
side.loc[[q for q in key_ids + ["developer_multiplier__Microsoft", "developer_multiplier__OpenAI"] if q in side.index]]

# %%
display(Markdown("\n".join(f"- {note}" for note in report.notes)))

# %% [markdown]
# ## Key outputs and versions

# %% tags=["key-outputs"]
emit({
    "gate_passed": bool(d["passed"]),
    "n_headline_quantities": len(tables["headline"]),
    "n_with_paper_value": len(with_paper),
    "n_paper_inside_interval": len(inside),
    **{q: [round(float(headline.loc[q, c]), 4) for c in ("median", "lo", "hi")]
       for q in ("compute_slope", "shapley_compute", "within_firm_spread_p90_p10",
                 "frontier_compute_share__Llama-2-70B__DeepSeek-V3") if q in headline.index},
    "p_most_efficient_major": {k: round(float(v), 3) for k, v in p_major.sort_values(ascending=False).items()},
    "versions": versions(),
})

# %%
plt.close("all")
pd.Series(versions(), name="version").to_frame()
