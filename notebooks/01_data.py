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
# # 01 The data: language models, their compute and their MMLU-Pro scores
#
# The dataset of Mertens, Fischl-Lanzoni and Thompson (2026): every model released between October 2022
# and March 2025 with an MMLU-Pro score and a training-compute estimate. This notebook shows where the
# rows come from and what is wrong with some of them, how score grows with compute for each developer
# group and release period, how the best model moved over time, and what the paper's outcome, the
# logit of the chance-normalised score, does to scores near chance.
#
# Everything below calls `bayes_sauce` (`data.load`, `summary.describe`, `headline.running_best`,
# `plots.*`); the notebook only arranges it. `data/README.md` documents every column.

# %% tags=["parameters"]
FIT_SIZE = "full"  # unused here (no fit); kept so every notebook takes the same parameters
DATA = ""  # a CSV in the authors' or the curated schema; empty: the shipped data/models.csv

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from bayes_sauce.data.filters import Filters
from bayes_sauce.data.load import load
from bayes_sauce.data.summary import compute_range_ratio, describe
from bayes_sauce.notebooks import emit, resolve, versions
from bayes_sauce.quantities import headline
from bayes_sauce.reporting import data_plots as plots
from bayes_sauce.scale import logit_measurement_sd, scale_of

# %matplotlib inline
pd.set_option("display.width", 140)

# %% [markdown]
# ## The rows and the exclusions
#
# `load()` reads, validates and derives the columns, then applies the paper's release window
# (2022-10 .. 2025-03). Every dropped row is listed with its reason; on the shipped file the window drops
# nothing, because the curated file is already the paper's estimation sample.

# %%
dataset = load(resolve(DATA) if DATA else None)
models = dataset.models
print(describe(dataset))

# %% [markdown]
# **Sources** (the counts are in the summary above and the table below). Most scores come from the Open LLM
# Leaderboard v2 (5-shot, 12,032 questions, one harness); the others (GPT-4.5, Claude, Gemini, Grok,
# DeepSeek-V3, Gemma) were self-reported by their developers under other protocols, often chain-of-thought,
# zero-shot. Compute is `6 N D`; for fine-tunes and merges `D` is the base model's pretraining tokens, so
# fine-tuning compute is not counted, and the closed models' sizes are outside guesses. The table below lists
# the known defects that matter for the headline numbers.

# %%
defects = pd.DataFrame({
    "defect": [
        "score self-reported under another protocol (not the leaderboard)",
        "size (N, D) is an outside estimate (closed model)",
        "tokens inherited from the base model (fine-tune or merge)",
        "mixture-of-experts (compute counts all parameters)",
    ],
    "models": [
        int((~models["is_leaderboard"]).sum()),
        int(models["size_from_estimate"].sum()),
        int(models["tokens_inherited"].sum()),
        int(models["is_moe"].sum()),
    ],
})
defects

# %% [markdown]
# Two single rows carry headline numbers of the paper: CantoneseLLMChat-v0.5 is recorded with only 0.4B
# training tokens (it is the cheapest model above 15% normalised MMLU-Pro, the 8,016x fall), and the
# distilled or pruned models of Nvidia (Minitron) and Microsoft (phi-1) look very compute-efficient because
# their teachers' compute is missing.

# %%
cheap = models.nsmallest(5, "flops")[["display_name", "developer", "params_b", "tokens_b", "log10_flops", "mmlu_pro"]]
cheap

# %% [markdown]
# ## Score against compute, by developer group and release period
#
# What to see: score rises with log compute in every period, with a wide vertical spread at any given
# compute (the model-specific part the paper puts at 47% of the variance). The ten majors (diamonds) sit
# mostly above the cloud of small developers at the same compute. How the models divide between the cohorts is
# printed under the table of cohorts: the last holds most of them and almost all the Other-Med fine-tunes.

# %%
fig = plots.score_vs_compute(models)

# %%
fig = plots.score_vs_compute_by_period(models, "cohort")

# %% [markdown]
# Counts per developer group and cohort: several majors have models in only one or two cohorts, and the
# closed labs (OpenAI, Anthropic, xAI) have one or two models in all, which is why their effects are barely
# identified.

# %%
counts = models.pivot_table(index="developer_group", columns="cohort", values="model_id", aggfunc="size",
                            fill_value=0)
counts["all"] = counts.sum(axis=1)
counts.sort_values("all", ascending=False)

# %%
by_cohort = models.groupby("cohort").agg(models=("model_id", "size"), median_score=("mmlu_pro", "median"),
                                         median_log10_flops=("log10_flops", "median"),
                                         best_score=("mmlu_pro", "max"))
display(by_cohort)
print("Models per cohort: " + ", ".join(f"{c} {n} ({n / len(models):.0%})" for c, n in by_cohort["models"].items()))

# %% [markdown]
# ## The frontier over time
#
# The frontier is the running-best model by quarter (`headline.running_best`), the line the paper's
# "80-90% of frontier differences are compute" refers to. What to see: from 2024q1 on every frontier model is
# a closed model whose score was self-reported (red squares) and whose size is an outside estimate, so the
# frontier decomposition rests on the least comparable rows in the data.

# %%
frontier = headline.running_best(models, "mmlu_pro")
frontier_rows = frontier.merge(models[["model_id", "is_leaderboard", "size_from_estimate", "log10_flops"]],
                               on="model_id")
frontier_rows

# %%
fig = plots.frontier_over_time(models, frontier, "mmlu_pro")

# %% [markdown]
# ## What the logit transform and the chance floor do
#
# MMLU-Pro has ten options, so guessing scores 0.1. The paper's outcome is
# `logit((score - 0.1) / 0.9)`: it stretches scores near 1 and, above all, near chance (the lines under the
# figure give the lowest, median and highest logit of the data, and how far apart they are). A logit near
# chance is not well measured: from MMLU-Pro's 12,032 questions a score has a binomial sampling SD of a few
# thousandths, which just above 0.1 is a large part of a logit. The OLS treats every logit as exact; the
# Bayesian model's likelihood puts the noise on the accuracy scale (binomial question sampling plus evaluation
# noise, notebook 02), so a score near chance pins its model's level only loosely. What to see: the left
# panel's steep left end, and in the right panel the noise, flat for most models and rising steeply in the
# last few points above chance.

# %%
outcome = "mmlu_pro"
scale = scale_of(outcome)
floor = scale.floor
score = models[outcome].to_numpy(dtype=float)
logit = scale.to_logit(score)
noise = logit_measurement_sd(score, scale)
fig = plots.chance_floor(score, logit, noise, outcome)

# %%
near_floor = models[outcome] < floor + 0.02
print(f"{near_floor.sum()} of {len(models)} models score within 2 points of chance (< {floor + 0.02:.2f}); "
      f"their logit SD from question sampling is {np.median(noise[near_floor]):.2f} (median), "
      f"vs {np.median(noise[~near_floor]):.3f} for the rest.")
print(f"Lowest logit: {logit.min():.2f} ({models.loc[np.argmin(logit), 'display_name']}, score {score.min():.3f}), "
      f"{np.median(logit) - logit.min():.1f} below the median ({np.median(logit):.2f}); highest {logit.max():.2f} "
      f"({models.loc[np.argmax(logit), 'display_name']}), {logit.max() - np.median(logit):.1f} above it.")
sd = np.sqrt(score * (1 - score) / scale.n_questions)
print(f"Binomial sampling SD of a score: {sd.min():.4f} to {sd.max():.4f}; as a logit SD, median {np.median(noise):.3f}, "
      f"{noise.max():.2f} at the lowest score.")

# %% [markdown]
# Many of the near-chance rows are not weak models but failed evaluations: reasoning-style models (QwQ-32B
# against its Preview, printed below) are not built for the leaderboard's 5-shot log-likelihood protocol, and
# small or broken merges answer at random. On the logit scale they become the most extreme observations of
# all, which is why the default model has a failed-evaluation component (notebook 02) and reports each
# model's probability of being one (notebook 03).

# %%
qwq = models[models["display_name"].isin(["QwQ-32B", "QwQ-32B-Preview"])]
print("; ".join(f"{r.display_name}: {getattr(r, outcome):.3f}" for r in qwq.itertuples()))
near = models.loc[near_floor, ["display_name", "developer", "log10_flops", outcome]].sort_values(outcome)
near.head(12)

# %% [markdown]
# ## Other filters
#
# The paper's robustness subsamples are filters of `load` (each dropped row listed with its reason):

# %%
filters = {
    "majors only": Filters(majors_only=True),
    "leaderboard scores only": Filters(leaderboard_only=True),
    "no outside size estimates": Filters(no_size_estimates=True),
    "total tokens known": Filters(total_tokens_only=True),
    "no release window": Filters(window=None),
}
pd.DataFrame([{"filter": name, "models kept": len(load(resolve(DATA) if DATA else None, f).models)}
              for name, f in filters.items()])

# %% [markdown]
# ## Key outputs and versions
#
# The numbers the test suite checks, then the versions of the packages this notebook ran with.

# %% tags=["key-outputs"]
emit({
    "n_models": len(models),
    "n_excluded": len(dataset.excluded),
    "n_developers": int(models["developer"].nunique()),
    "n_major_models": int(models["is_major"].sum()),
    "n_self_reported": int((~models["is_leaderboard"]).sum()),
    "compute_range_p95_p5": round(compute_range_ratio(models["log10_flops"]), 1),
    "frontier_models": frontier["display_name"].tolist(),
    "n_near_floor": int(near_floor.sum()),
    "versions": versions(),
})

# %%
plt.close("all")
pd.Series(versions(), name="version").to_frame()
