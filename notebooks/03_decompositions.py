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
# the OLS replication, and summarised as the posterior median and 90% equal-tailed interval, in two views of the
# same draws. The **paper view** is the paper's own decomposition (release cohort, the 13 groups of the releasing
# developer, model-specific = everything else, failed evaluations kept) read at each draw's compute slope: the
# only view compared with the paper's numbers, and the one each claim's posterior probability is computed in. The
# **model view** is the fitted model's own components (compute, pretraining cohort, base developer, base-model
# family, fine-tune, damage, failed evaluation, evaluation noise), with each draw's failed evaluations, damage and
# single-family splits drawn from their conditional distributions: what the paper's regression cannot see. All
# tables and figures come from `reporting.report.build_report`, the code behind `bayes-sauce report`; every
# number in the text below is printed by a code cell from the fit it reads (the paper's published values are
# quoted as the claims they are).

# %% tags=["parameters"]
FIT_SIZE = "full"  # "full": the saved fit (or 4 chains x 1000 draws); "small": 2 chains x 150 draws (tests)
FIT_DIR = ""  # fit folder; empty: results/hierarchical (full) or results/notebooks/hierarchical-small (small)
SEED = 20260207  # for a new fit, when there is none to read
FOLDS = 0  # folds of families for the report's new-family check; 0: the report's own (5) at full size, 2 at small

# %%
import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr
from IPython.display import Markdown, display

from bayes_sauce.defaults import NEW_FAMILY_FOLDS
from bayes_sauce.fit.fit import Fit
from bayes_sauce.notebooks import emit, ensure_fit, fit_dir_for, versions
from bayes_sauce.quantities.headline import FRONTIER_PAIRS, LEVEL_MODELS, MIN_MODELS_PER_FIRM
from bayes_sauce.quantities.keys import MODEL, PAPER, Key
from bayes_sauce.reporting import plots
from bayes_sauce.reporting.claims import RULE, verdicts
from bayes_sauce.reporting.differences import checks_note
from bayes_sauce.reporting.paper import compare, comparison_markdown, format_value
from bayes_sauce.predictive.check_step import run_checks
from bayes_sauce.reporting.report import build_report
from bayes_sauce.reporting.tables import ols_reference, paper_reference

# %matplotlib inline
pd.set_option("display.width", 140)
pd.set_option("display.max_rows", 120)

# %%
fit_dir = ensure_fit(fit_dir_for(FIT_SIZE, FIT_DIR), FIT_SIZE, SEED)
folds = FOLDS or (NEW_FAMILY_FOLDS if FIT_SIZE == "full" else 2)
# The predictive checks are the check step's (`bayes-sauce check`; the new-family check from `folds` fits each
# without a fold of families, saved under the fit's checks/ folder): read where `run` or notebook 02 computed them,
# else computed here. Then one call, so that the notebook shows exactly what `bayes-sauce report` writes.
run_checks(Fit.load(fit_dir), folds)
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
display(Markdown("The model's predictive checks (notebook 02 shows them):\n\n" + checks_note(report.checks)))

def show(q: str | Key) -> str:
    """A headline quantity as 'median [lo, hi]' in its unit."""
    r = headline.loc[q.id if isinstance(q, Key) else q]
    return f"{format_value(r['median'], r['unit'])} [{format_value(r['lo'], r['unit'])}, {format_value(r['hi'], r['unit'])}]"

def say(*lines: str) -> None:
    """Sentences computed from the fit, shown as text."""
    display(Markdown(" ".join(line for line in lines if line)))

# %% [markdown]
# ## The paper's claims: their posterior probability
#
# Each claim as the paper states it (the frontier compute share between 80% and 90%, a within-firm spread above
# 40x, ...), its posterior probability in the paper view, and the verdict that follows by the rule printed under
# the table (`claims.csv`). The paper's value inside our interval is kept as a second, weaker column. What to see:
# which claims the data settle, and which stay open however close the paper's value is to ours.

# %%
claims = tables["claims"]
display(claims[["claim", "statement", "probability", "verdict", "paper_value", "median", "lo", "hi", "paper"]])
display(Markdown("\n".join(f"- **{v.claim.title}** ({v.status}). {v.sentence}" for v in verdicts(tables, fit.prob))
                 + "\n\n" + RULE))

# %% [markdown]
# ## Every headline number beside the paper's
#
# One row per quantity of the paper view (and the parameters both views share): the posterior median, its 90%
# interval, the paper's published value and the difference. `headline.csv` beside the fit has every row of both
# views, with each quantity's view, readable name, definition and whether the data inform it.

# %%
views = tables["headline"]["view"]
comparison = compare(tables["headline"][views != MODEL], paper_reference(fit.spec))
display(Markdown(comparison_markdown(comparison, fit.prob)))

# %%
with_paper = tables["headline"].dropna(subset=["paper", "lo", "hi"])
inside = with_paper[(with_paper["paper"] >= with_paper["lo"]) & (with_paper["paper"] <= with_paper["hi"])]
print(f"{len(inside)} of the {len(with_paper)} quantities with a published value and a posterior interval have the "
      f"paper's value inside the {fit.prob:.0%} interval; outside: {', '.join(sorted(set(with_paper['quantity']) - set(inside['quantity'])))}")

# %% [markdown]
# The posterior of the most quoted numbers, draw by draw, with the paper's value in red (paper view), and the model
# view's counterparts. What to see: where the red line sits in each histogram, and how far the model view moves.

# %%
key_ids = [k.id for k in (Key("compute_slope"), Key("shapley", PAPER, "compute"), Key("shapley", PAPER, "developer"),
                          Key("shapley", PAPER, "model_effect"), Key("progress_last_vs_first", PAPER),
                          Key("within_firm_spread", PAPER, spread="p90_p10"),
                          Key("within_firm_spread", MODEL, spread="p90_p10"),
                          Key("frontier_share", PAPER, "compute", pair=FRONTIER_PAIRS[0]),
                          Key("developer_multiplier", PAPER, subject="Nvidia"),
                          Key("developer_multiplier", MODEL, subject="Nvidia"))]
spreads = tables["within_firm_spread"]
draws = pd.concat([spreads.set_index(["chain", "draw"]),
                   xr.Dataset({"compute_slope": fit.posterior["beta"]}).to_dataframe()], axis=1)
shown = [q for q in key_ids if q in draws]
fig = plots.quantity_posteriors(draws[shown], headline["paper"].to_dict(), headline["unit"].to_dict())

# %% [markdown]
# ## Variance shares
#
# The paper's Figure 1 splits the variance of the logit score into compute, shared progress, developer and
# model-specific parts (exact Shapley-Owen over R2). The paper view is that decomposition at each draw's beta (the
# black ticks: the paper's OLS on the same rows, which it equals at the OLS's own slope). The model view splits the
# same variance among the fitted model's components: part of what the paper calls model-specific is the efficiency
# of the pretraining run a model descends from (its family), part are failed evaluations and evaluation noise. What
# to see: how the paper's 47% model-specific share divides in the model view.

# %%
display(report.figures["shapley"])
shares = tables["shapley"]
display(shares)
for view, rows in shares.groupby("view", sort=False):
    say(f"{view.capitalize()} view: " + "; ".join(
        f"{r.component} {format_value(r.median, 'share')} [{format_value(r.lo, 'share')}, {format_value(r.hi, 'share')}]"
        + (f" (paper {format_value(r.paper, 'share')})" if pd.notna(r.paper) else "") for r in rows.itertuples()) + ".")

# %% [markdown]
# ## Base-model families and failed evaluations
#
# `model_effects.csv` (written by the report) has one row per model: its family, its posterior probability of
# being a failed evaluation (`p_failure`) and the posterior median of each component of its latent logit. No model
# is cut: in each draw a model is a failed evaluation with its posterior probability, the paper view keeps failures
# as the paper does, and the model view counts them as their own component. What to see: whether the likely
# failures are the near-chance fine-tunes of notebook 01 whose family's other members score well, and how many
# models a draw counts as failed.

# %%
LIKELY = 0.5  # for the listing only: the models more likely failed evaluations than not
effects = tables["model_effects"].merge(
    fit.rows[["model_id", "display_name", "developer", fit.spec.data.outcome]], on="model_id")
failed = effects[effects["p_failure"] > LIKELY].sort_values("p_failure", ascending=False)
if effects["p_failure"].isna().all():
    print("This spec has no failure component: no model is a failed evaluation.")
else:
    per_draw = Key("failures_per_draw", MODEL)
    rate = f" The share of fine-tunes whose evaluation failed: {show('failure_share')}." if "failure_share" in headline.index else ""
    say(f"{len(failed)} of {len(effects)} models have P(failed evaluation) > {LIKELY}; "
        f"{int((effects['p_failure'] > 0.9).sum())} of them above 0.9; models failed per draw: {show(per_draw)}.{rate}")
    display(failed[["display_name", "developer", "family", fit.spec.data.outcome, "p_failure"]].head(40))

# %% [markdown]
# The families whose base model is furthest from its developer's line (the family component, in logits and as
# a compute multiplier `10**(family / beta)`), among families of at least three models. What to see: whether
# the most efficient families are efficient pretraining runs or families whose recorded compute is too low
# (distilled or pruned roots, inherited token counts: notebook 01's defects).

# %%
beta = float(headline.loc["compute_slope", "median"])
if "family_median" in effects:
    fams = effects.groupby("family").agg(models=("model_id", "size"), family_effect=("family_median", "first"),
                                         developer=("developer", "first"))
    fams = fams[fams["models"] >= 3].sort_values("family_effect")
    fams["multiplier"] = 10 ** (fams["family_effect"] / beta)
    display(pd.concat([fams.tail(8)[::-1], fams.head(5)]).style.format({"family_effect": "{:+.2f}",
                                                                        "multiplier": "{:.3g}x"}))

# %% [markdown]
# ## The frontier decomposition
#
# "At the frontier, 80-90% of performance differences are explained by compute": each component's share of
# the logit gain between two frontier models (the intercept and the origin of compute cancel, so these are
# identified given a view's split of eta). Compute's share is the same in both views for two base models
# (beta times their compute gap over their logit gap). What to see: compute's share of each pair against the
# paper's, and in the model view which component takes what the paper calls model-specific.

# %%
display(report.figures["frontier_pairs"])
pairs = tables["frontier_pairs"]
display(pairs)
compute_pairs = pairs[(pairs["component"] == "compute") & (pairs["view"] == PAPER)]
say(*[f"Compute's share of {r.pair} (paper view): {100 * r.median:.0f}% [{100 * r.lo:.0f}%, {100 * r.hi:.0f}%]"
      + (f" (paper {100 * r.paper:.0f}%)." if pd.notna(r.paper) else ".") for r in compute_pairs.itertuples()])

# %% [markdown]
# Along the running-best frontier by quarter (paper view), each component's share of the gain since the first
# frontier model. What to see: whether compute's share stays near the paper's 80-90% or above 100% (then another
# component is negative: the first frontier model scored above what its compute predicted), and when shared
# progress starts to count (the sentence under the figure gives the ranges).

# %%
display(report.figures["frontier_running"])
running = tables["frontier_running"]
if len(running):
    ranges = running.groupby("component", sort=False)["median"].agg(["min", "max"])
    say(f"Since {running['since'].iloc[0]}, the posterior medians of each component's share along the frontier run:",
        "; ".join(f"{c} {100 * r['min']:.0f}% to {100 * r['max']:.0f}%" for c, r in ranges.iterrows()) + ".")

# %% [markdown]
# The paper's level shares (compute over the sum of a model's components) for its top models, in the paper view.
# They depend on the arbitrary origin of compute (1e18 FLOPs), the base period and the base group, so they are not
# identified; shown only beside the paper's.

# %%
levels = [Key("level_compute_share", PAPER, subject=label).id for label in LEVEL_MODELS]
headline.loc[[q for q in levels if q in headline.index], ["median", "lo", "hi", "paper"]]

# %% [markdown]
# ## Within-firm spreads
#
# "A firm can train two models with more than 40x compute-efficiency difference": the 90th over the 10th
# percentile of the major developers' model efficiencies, as compute multipliers `10**((q90 - q10) / beta)`, per
# draw. The paper view measures the paper's residuals (evaluation noise and failed evaluations included); the model
# view the latent efficiencies (family, fine-tune and damage: the noise taken out, each draw's failed evaluations
# left out), also with beta fixed at its posterior median, which shows how much of the interval is the slope's.
# What to see: where the paper's 40.55x (red) falls, and how far the interval narrows with beta fixed.

# %%
display(report.figures["within_firm_spread"])
paper_spread, latent_spread = Key("within_firm_spread", PAPER, spread="p90_p10"), Key("within_firm_spread", MODEL, spread="p90_p10")
fixed_spread = Key("within_firm_spread", MODEL, spread="p90_p10", variant="beta_at_median")
say(f"Within-firm spread q90/q10, paper view: {show(paper_spread)} (paper "
    f"{format_value(headline.loc[paper_spread.id, 'paper'], 'x')}); model view on latent efficiencies: "
    f"{show(latent_spread)}" + (f"; with beta at its median: {show(fixed_spread)}" if fixed_spread.id in headline.index
                                else "") + ".")

# %% [markdown]
# The same spread per major developer with at least five models (paper view). What to see: whether the spread is
# anything like a constant of "firms", and which models make a firm's spread large: the sentences under the figure
# name each firm's most and least efficient model (posterior medians of family + model effect). The paper's pooled
# 40x averages over very different firms, and partly measures data defects and evaluation protocols (pruned or
# distilled models whose teacher's compute is not counted; self-reported scores beside leaderboard ones).

# %%
counts = fit.rows[fit.rows["is_major"]].groupby("developer").size()
firms = sorted(counts[counts >= MIN_MODELS_PER_FIRM].index)
per_firm = pd.DataFrame([{"developer": d, "quantity": q, **headline.loc[q, ["median", "lo", "hi"]].to_dict()}
                         for d in firms if (q := Key("within_firm_spread", PAPER, subject=d, spread="p90_p10").id)
                         in headline.index])
per_firm["label"] = [f"{dev} ({counts.get(dev, 0)} models)" for dev in per_firm["developer"]]
per_firm = per_firm.sort_values("median", ascending=False)
fig = plots.interval_forest(per_firm, f"Within-firm spread q90/q10 per major developer (>= {MIN_MODELS_PER_FIRM} models)",
                            "compute-equivalent spread, 10**((q90(e) - q10(e)) / beta) (x, log scale)", fit.prob,
                            reference=headline.loc[paper_spread.id, "paper"],
                            reference_label="paper: all majors pooled (40.55x)")
efficiency = effects.assign(efficiency=effects.get("family_median", 0.0) + effects["model_effect_median"])
efficiency = efficiency[efficiency["p_failure"].fillna(0) <= LIKELY]
outcome = fit.spec.data.outcome
lines = []
for r in per_firm.itertuples():
    own = efficiency[efficiency["developer"] == r.developer]
    if not len(own):
        continue
    low, high = own.loc[own["efficiency"].idxmin()], own.loc[own["efficiency"].idxmax()]
    lines.append(f"- **{r.developer}**: {format_value(r.median, 'x')} [{format_value(r.lo, 'x')}, "
                 f"{format_value(r.hi, 'x')}]; most efficient {high['display_name']} ({high['efficiency']:+.2f} logits, "
                 f"score {high[outcome]:.3f}), least {low['display_name']} ({low['efficiency']:+.2f}, score {low[outcome]:.3f}).")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Developer multipliers and rank probabilities
#
# The paper's 13 groups against Other-Small: the paper view (the group effect of the paper's regression at each
# draw's beta: the models the group's developers released), the model view (the group's effect in the model: a
# major's own developer effect as the pretrainer of its bases, an Other bin's pool mean) and the paper's OLS on the
# same rows (log axis). What to see: how far the two meanings of "developer" lie apart, and how wide the closed labs'
# intervals are in the model view (one or two models each; a single family's split drawn).

# %%
display(report.figures["developer_multipliers"])
groups = tables["developer_multipliers"]
display(groups)
both = groups.dropna(subset=["median", "model_median"])
higher = int((both["model_median"] > both["median"]).sum())
widest = groups.assign(width=groups["model_hi"] / groups["model_lo"]).sort_values("width", ascending=False).iloc[0]
say(f"{higher} of the {len(both)} groups have a higher multiplier in the model view than in the paper view;",
    f"the widest model-view interval is {widest['group']}'s, a factor of {format_value(widest['width'], 'x')} "
    f"from {format_value(widest['model_lo'], 'x')} to {format_value(widest['model_hi'], 'x')}.")

# %% [markdown]
# Which major is the most compute-efficient, in the model? The share of posterior draws in which each has the
# largest multiplier. What to see: whether any major is clearly the most efficient (the sentence names the two most
# probable), and why: a distilled, pruned or synthetic-data model's teacher's compute is not counted.

# %%
developers = tables["developers"].set_index("developer")
p_major = developers["p_most_efficient_major"].dropna()
fig = plots.probability_bars(p_major, "P(most compute-efficient among the majors)",
                             "share of posterior draws with the largest multiplier")
top = p_major.sort_values(ascending=False)
say(f"P(most compute-efficient major): {', '.join(f'{k} {v:.2f}' for k, v in top.head(3).items())}; "
    f"{'one major exceeds' if top.iloc[0] >= 0.9 else 'no major reaches'} 0.9.")

# %% [markdown]
# Every base developer with at least five models, against the average developer (the unweighted mean of all
# base developers' levels). In the family model a developer's level is that of the base models it pretrained
# (a pure fine-tuner has a fine-tuner effect instead). What to see: whether the top of the table is majors, or
# developers whose compute figure is wrong (tokens recorded for a continued pretraining only, distilled models:
# notebook 01). A multiplier is only as good as the compute figure under it.

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
# to see: the gap between the first cohort and the later ones (the progress multipliers in both views, printed
# under the table), and how much the later cohorts differ.

# %%
display(report.figures["scaling_curve"])
progress = [Key(kind, view, subject=p) for view in (PAPER, MODEL) for kind, p in
            [("progress_multiplier", str(p)) for p in fit.posterior["period"].values[1:]] + [("progress_last_vs_first", "")]]
progress = [k.id for k in progress if k.id in headline.index]
display(headline.loc[progress, ["median", "lo", "hi", "paper", "unit"]])
say(*[f"{headline.loc[q, 'name']}: {show(q)}." for q in progress])

# %% [markdown]
# ## What changes against the OLS replication, and why
#
# The paper's OLS refitted on the same rows (its point estimate and delta-method interval) beside the posterior's
# paper view. The sentences after the table are generated from these numbers and from the structure fitted
# (`differences.disagreements`), so they stay true when the data or the fit change.

# %%
ols = ols_reference(fit)
columns = ["median", "lo", "hi"]
side = pd.concat({"OLS (paper's equation, same rows)": ols.headline.set_index("quantity")[columns],
                  "posterior (paper view)": headline[columns], "paper": headline[["paper"]]}, axis=1, join="inner")
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
    "claims": {r.claim: [r.verdict, None if pd.isna(r.probability) else round(float(r.probability), 3)]
               for r in claims.itertuples()},
    "p_most_efficient_major": {k: round(float(v), 3) for k, v in p_major.sort_values(ascending=False).items()},
    "n_likely_failures": int(len(failed)),
    "checks_passed": {name: bool(c["passed"]) for name, c in report.checks.items()},
    "versions": versions(),
})

# %%
plt.close("all")
pd.Series(versions(), name="version").to_frame()
