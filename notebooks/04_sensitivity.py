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
# # 04 Sensitivity: the headline numbers under other priors and model choices
#
# `bayes-sauce sensitivity models/sensitivity/default.toml` refits the default (family) model with each prior's
# scale halved and doubled (the compute slope, developers, base-model families, fine-tuners, the failure rate,
# shared progress), with parts of the model switched off or replaced (no Mundlak term, no failure component,
# normal fine-tune deviations instead of the damaged mixture, no evaluation noise on the accuracy scale,
# developers pooled without groups), with the previous default (`developer_pooling`: no lineage, one effect per
# developer and per model, binomial) and the paper's logit-normal outcome on that structure, with random walks
# over quarters or months instead of cohorts, on the paper's robustness subsamples and on the MATH outcome, and
# writes every variant's headline numbers to `results/sensitivity/default/sensitivity.csv`. This notebook reads
# that table when it exists; otherwise it runs a small sweep (`models/sensitivity/smoke.toml`: the default and
# one prior variant, short chains) through the same code, so that it always runs top to bottom.

# %% tags=["parameters"]
FIT_SIZE = "full"  # the fallback sweep's size is the sweep file's own (smoke.toml: 2 chains x 100 draws)
SENSITIVITY_DIR = "results/sensitivity/default"  # read its sensitivity.csv when present
SWEEP = "models/sensitivity/smoke.toml"  # run when there is no sensitivity.csv to read
SWEEP_OUT = ""  # where the fallback sweep writes; empty: results/sensitivity/<sweep name>

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from bayes_sauce.defaults import INTERVAL_PROB
from bayes_sauce.notebooks import emit, resolve, versions
from bayes_sauce.quantities.headline import KEY_QUANTITIES
from bayes_sauce.reporting import plots
from bayes_sauce.reporting.paper import format_value
from bayes_sauce.reporting.psense import psense_markdown
from bayes_sauce.reporting.sweep import robustness_markdown
from bayes_sauce.sensitivity.sweep import robustness
from bayes_sauce.spec.sweep import DEFAULT_VARIANT

# %matplotlib inline
pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 80)

# %%
folder = resolve(SENSITIVITY_DIR)
if (folder / "sensitivity.csv").exists():
    source = "read"
    print(f"Reading the sweep written by `bayes-sauce sensitivity` in {folder}")
else:
    from bayes_sauce.reporting.sweep import write_outputs
    from bayes_sauce.sensitivity.sweep import run_sweep
    from bayes_sauce.spec.sweep import read_sweep

    source = "swept"
    sweep = read_sweep(resolve(SWEEP))
    out = resolve(SWEEP_OUT) if SWEEP_OUT else resolve("results/sensitivity") / sweep.name
    print(f"No {folder / 'sensitivity.csv'}: running the sweep {SWEEP} into {out} (its fits are cached there)")
    result = run_sweep(sweep, None, out)
    write_outputs(result)
    folder = result.out
table = pd.read_csv(folder / "sensitivity.csv")
variants = pd.read_csv(folder / "variants.csv")
psense = pd.read_csv(folder / "psense.csv") if (folder / "psense.csv").exists() else pd.DataFrame()

# %% [markdown]
# ## The variants
#
# One row per variant: what it changes against the default spec, whether its fit passed the diagnostics gate
# (R-hat, ESS, divergences, E-BFMI) and how long it took. Only variants that passed count in the robustness
# summary below; a failed one is drawn hollow in the figure. (The smoke sweep's short chains fail the gate by
# design: its numbers only show the machinery.)

# %%
variants[["variant", "kind", "changes", "status", "n_models", "seconds"]]

# %% [markdown]
# ## How far each headline number moves
#
# One panel per headline number; one row per variant, coloured by the kind of choice it changes. The grey band
# is the default fit's 90% interval, the dashed line the paper's value, multipliers on a log axis. What to see:
# a variant's point outside the grey band moves that number by more than its own posterior uncertainty.

# %%
fig = plots.sensitivity_forest(table, KEY_QUANTITIES, DEFAULT_VARIANT, INTERVAL_PROB)

# %% [markdown]
# The same as a table: per headline number and kind of choice, the range of the variants' medians and the
# variants whose median falls outside the default's interval (only variants that passed the gate).

# %%
rob = robustness(table)
if len(rob):
    display(Markdown(robustness_markdown(rob, INTERVAL_PROB)))
else:
    print("No robustness table: the default variant did not pass the diagnostics gate (expected for the smoke sweep).")

# %% [markdown]
# The medians side by side, one column per variant. What each kind of variant asks:
#
# * **Priors**: does halving or doubling a prior's scale move a headline number outside the default's interval?
#   If not, the data, not the priors, set it (compare notebook 02's prior-posterior plots and the power-scaling
#   table below).
# * **Model structure**: which numbers rest on a modelling choice: the Mundlak term (the slope), the failure and
#   damage components (the variance shares and within-firm spreads, which the near-chance rows stretch), the
#   lineage (`developer_pooling`, the previous default) and the likelihood (`logit_normal`, the paper's outcome
#   taken as exact).
# * **Time**: does "shared progress, last vs first" depend on what "first" means (a random walk over quarters
#   starts from a quarter holding few models)?
# * **Subsamples and outcome**: do the paper's claims hold on its robustness subsamples and on MATH?
#
# The sentences under the table are computed from the sweep: for every variant that passed the gate, the
# headline numbers whose median falls outside the default's interval.

# %%
medians = table.dropna(subset=["quantity"]).pivot_table(index="quantity", columns="variant", values="median",
                                                        aggfunc="first")
order = [v for v in variants["variant"] if v in medians.columns]
display(medians.reindex([q for q in KEY_QUANTITIES if q in medians.index])[order].style.format("{:.3g}"))

key = table[table["quantity"].isin(KEY_QUANTITIES)]
default = key[key["variant"] == DEFAULT_VARIANT].set_index("quantity")
lines = []
if len(default) and bool(default["gate_passed"].astype(bool).all()):
    for variant in order:
        sub = key[(key["variant"] == variant) & key["gate_passed"].astype(bool)].set_index("quantity")
        if variant == DEFAULT_VARIANT or sub.empty:
            continue
        ref = default.reindex(sub.index)
        moved = sub[(sub["median"] < ref["lo"]) | (sub["median"] > ref["hi"])]
        lines.append(f"- `{variant}`: " + ("; ".join(
            f"{q} {format_value(r['median'], r['unit'])} (default {format_value(ref.loc[q, 'median'], r['unit'])} "
            f"[{format_value(ref.loc[q, 'lo'], r['unit'])}, {format_value(ref.loc[q, 'hi'], r['unit'])}])"
            for q, r in moved.iterrows()) or "no headline median outside the default's interval") + ".")
    failed_variants = variants.loc[variants["status"] != "passed", "variant"].tolist()
    if failed_variants:
        lines.append(f"- Not counted (did not pass the gate or failed): {', '.join(failed_variants)}.")
    display(Markdown("\n".join(lines) if lines else "The sweep has no variant besides the default."))
else:
    print("The default variant did not pass the diagnostics gate: no comparison against its intervals "
          "(expected for a small sweep).")

# %% [markdown]
# ## Power-scaling sensitivity of the default fit
#
# Without refitting: how much each posterior moves when all the (top-level) priors, or the likelihood, are raised
# to a power near 1 (ArviZ `psense`). A prior value at or above 0.05 means the prior informs that quantity.

# %%
if len(psense) and (psense["variant"] == DEFAULT_VARIANT).any():
    display(Markdown(psense_markdown(psense[psense["variant"] == DEFAULT_VARIANT].drop(columns="variant"))))
else:
    print("No power-scaling table for the default variant.")

# %% [markdown]
# ## Key outputs and versions

# %% tags=["key-outputs"]
passed = variants[variants["status"] == "passed"]
emit({
    "source": source,
    "folder": str(folder),
    "n_variants": len(variants),
    "n_variants_passed": len(passed),
    "quantities": sorted(set(table["quantity"].dropna()) & set(KEY_QUANTITIES)),
    "default_medians": {q: round(float(v), 4) for q, v in
                        medians.get(DEFAULT_VARIANT, pd.Series(dtype=float)).reindex(KEY_QUANTITIES).dropna().items()},
    "versions": versions(),
})

# %%
plt.close("all")
pd.Series(versions(), name="version").to_frame()
