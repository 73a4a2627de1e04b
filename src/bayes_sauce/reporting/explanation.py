"""What `bayes-sauce explain` shows: one model's decomposition as text and as a waterfall figure with its table."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bayes_sauce.predictive.new_models import KNOWN  # noqa: E402
from bayes_sauce.quantities.explain import Explanation, NewExplanation  # noqa: E402
from bayes_sauce.quantities.keys import component_name  # noqa: E402
from bayes_sauce.reporting.paper import format_value  # noqa: E402

RELATIONS = {"family": "the same base-model family", "developer": "the same developer, as no other model shares its family",
             "compute": "every model, as none shares its family or developer"}
NEW_RELATIONS = {"family": "its base-model family", "developer": "its (base) developer's models",
                 "compute": "every model, as none shares its family or developer"}


def waterfall_table(e: Explanation) -> pd.DataFrame:
    """The figure's bars: level, then each component from where the last ended (medians), then eta."""
    parts = e.parts.set_index("part")
    rows, end = [], 0.0
    for part in ["level", *e.components]:
        start, end = end, end + parts.loc[part, "median"]
        rows.append({"part": part, "start": start, "end": end, **parts.loc[part, ["median", "lo", "hi"]].to_dict()})
    rows.append({"part": "eta", "start": 0.0, "end": parts.loc["eta", "median"],
                 **parts.loc["eta", ["median", "lo", "hi"]].to_dict()})
    return pd.DataFrame(rows)


def waterfall(e: Explanation, prob: float) -> plt.Figure:
    """Bars from the level through each component to the latent logit; whiskers: each part's interval."""
    table = waterfall_table(e)
    fig, ax = plt.subplots(figsize=(0.85 * len(table) + 2, 3.6), constrained_layout=True)
    for i, r in table.iterrows():
        total = r["part"] in ("level", "eta")
        colour = "0.55" if total else ("C2" if r["median"] >= 0 else "C3")
        ax.bar(i, r["end"] - r["start"], bottom=r["start"], color=colour, width=0.6)
        ax.errorbar(i, r["end"], yerr=[[r["median"] - r["lo"]], [r["hi"] - r["median"]]], color="k", capsize=3, lw=1)
        ax.annotate(f"{r['median']:+.2f}", (i, max(r["start"], r["end"])), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
        if i + 1 < len(table) and table.loc[i + 1, "part"] != "eta":
            ax.plot([i + 0.3, i + 0.7], [r["end"], r["end"]], color="k", lw=0.6)
    ax.axhline(0, color="k", lw=0.8)
    labels = ["latent logit" if p == "eta" else _component_label(p, e) for p in table["part"]]
    ax.set_xticks(range(len(table)), labels, rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("logit of the chance-normalised score")
    parts = e.parts.set_index("part")
    observed, expected = parts.loc["score"], parts.loc["expected_score"]
    ax.set_title(f"{e.row['display_name']}\nobserved score {format_value(observed['median'], '')}; expected from its "
                 f"inputs {format_value(expected['median'], '')} [{format_value(expected['lo'], '')}, "
                 f"{format_value(expected['hi'], '')}] (median, {prob:.0%} interval)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _show(r: pd.Series, scale: float = 1.0, fmt: str = ".3f") -> str:
    """'median [lo, hi]' of a part, times ``scale``."""
    return f"{r['median'] * scale:{fmt}} [{r['lo'] * scale:{fmt}}, {r['hi'] * scale:{fmt}}]"


def _component_label(part: str, e: Explanation) -> str:
    """A component's name, the developer's with whose effect it is (a fine-tune's developer component is its base's)."""
    name = component_name(part)
    return f"{name} ({e.developer})" if part == "developer" and e.developer else name


def explanation_text(e: Explanation, prob: float, outcome: str) -> str:
    """The decomposition, the expected score, the median-developer score and the relatives, for the terminal."""
    row, parts = e.row, e.parts.set_index("part")
    family = row.get("family")
    base = "its own base model" if e.finetuner == e.developer else f"a base model of {e.developer}"
    who = (f"fine-tuned by {e.finetuner} ({row['developer_group']}) from {base}" if e.finetuner
           else f"developer {e.developer or row['developer']} ({row['developer_group']})")
    lines = [f"{e.model_id} ({row['display_name']}): {who}, released "
             f"{row['release_month']}, {10 ** row['log10_flops']:.3g} training FLOPs"
             + (f"; family {family}" if pd.notna(family) else ""),
             f"Observed {outcome} {row[outcome]:.3f}; expected from its inputs {_show(parts.loc['expected_score'])} "
             f"(median [{prob:.0%} interval]; its "
             + ("family's level, fine-tuner and compute" if pd.notna(family) and "family" in e.components
                else "compute, period and developer") + ", without a deviation of its own); a new model with "
             f"these inputs would score {_show(parts.loc['new_model_score'])}",
             "", "Latent logit = level + components (median [interval]; compute-equivalent = 10**(component/beta))"
             + ("; they add up to the observed score's logit:" if "family" in e.components else ":")]
    for part in ["level", *e.components, "eta"]:
        r = parts.loc[part]
        name = "= latent logit" if part == "eta" else _component_label(part, e)
        equivalent = f"  worth {format_value(r['compute_equivalent'], 'x')} compute" if pd.notna(r["compute_equivalent"]) else ""
        lines.append(f"  {name:<28} {_show(r):<28}{equivalent}")
        if part == "model_effect" and "finetuner_effect" in parts.index:
            lines.append(f"    of which {e.finetuner}'s effect as a fine-tuner: {_show(parts.loc['finetuner_effect'])}")
    if "score_with_median_developer" in parts.index:
        whose = (f"{e.developer}'s (the base model's developer; {e.finetuner}'s fine-tuner effect unchanged)"
                 if e.finetuner else f"{e.developer or row['developer']}'s")
        lines += ["", f"With the median developer's effect instead of {whose}: score "
                      f"{_show(parts.loc['score_with_median_developer'])}, a change of "
                      f"{_show(parts.loc['score_change_with_median_developer'], 100.0, '+.1f')} points"]
    lines += ["", f"Nearest relatives, from {RELATIONS[e.relation]} (nearest in compute first):"]
    for _, r in e.relatives.iterrows():
        lines.append(f"  {r['model_id']:<48} {r['log10_flops']:6.2f} log10 FLOPs  observed {r['observed']:.3f}  expected "
                     f"{r['expected_median']:.3f} [{r['expected_lo']:.3f}, {r['expected_hi']:.3f}]")
    if not len(e.relatives):
        lines.append("  (none: the fit has no other model)")
    return "\n".join(lines)


def new_explanation_text(e: NewExplanation, prob: float) -> str:
    """A model the fit never saw: how it was predicted, its score, P(damaged), P(failed), and its nearest relatives."""
    p = e.prediction
    if p["predicted_as"] == KNOWN:
        how = (f"a fine-tune of {p['base_model']} by {p['developer']}: a new member of the family {p['family']} (its "
               f"level, base developer {p['base_developer']} and period {p['period']})")
    elif p["base_model"]:
        how = (f"a fine-tune of {p['base_model']}, which the fit does not have, by {p['developer']}: the first model of "
               f"a new family around {p['base_developer'] or p['developer']}'s line ({p['period']})")
    else:
        how = f"a new pretraining run of {p['developer']}: the first model of a new family ({p['period']})"
    kind = p.get("finetuner_effect", "") or ""
    tuner = (f"{p['developer']}'s fitted effect as a fine-tuner, {_show(e.finetuner_effect)} (logit)" if kind == "fitted"
             else f"a fresh fine-tuner effect ({p['developer']} has no fitted one)" if kind == "fresh"
             else "no fine-tuner effect")
    lines = [f"{p['model']}: {how}; {tuner}",
             f"Predicted score {p['score_median']:.3f} [{p['score_lo']:.3f}, {p['score_hi']:.3f}] (median [{prob:.0%} "
             f"interval]); expected from its inputs {_show(e.expected.rename(lambda c: c.removeprefix('expected_')))}"]
    if "p_failure" in p:
        lines.append(f"P(damaged fine-tune) {p['p_damaged']:.3f}, P(failed evaluation) {p['p_failure']:.3f}")
    if p["extrapolation"]:
        lines.append(f"Extrapolated past the data: {p['extrapolation']}")
    lines += ["", f"Nearest fitted models, from {NEW_RELATIONS[e.relation]} (nearest in compute first):"]
    for _, r in e.relatives.iterrows():
        lines.append(f"  {r['model_id']:<48} {r['log10_flops']:6.2f} log10 FLOPs  observed {r['observed']:.3f}  expected "
                     f"{r['expected_median']:.3f} [{r['expected_lo']:.3f}, {r['expected_hi']:.3f}]")
    return "\n".join(lines)
