"""Readable names for quantity ids and model components: the one mapping the report page, report.md and the
terminal use, so ``frontier_compute_share__Llama-2-70B__DeepSeek-V3`` reads "Compute's share of the gain,
Llama-2-70B to DeepSeek-V3". Ids no rule knows read as themselves with spaces, so a new quantity still shows.
"""

from __future__ import annotations

import re

from bayes_sauce.quantities.headline import THRESHOLD_NORM_SCORE

# Display names of the decomposition's components, by their output name (headline.SHARE_NAMES' values) or their
# name in the model (model.build.COMPONENTS); a component not listed reads as its name.
COMPONENT_NAMES = {
    "compute": "compute", "progress": "shared progress", "time": "shared progress", "developer": "developer",
    "model": "model-specific efficiency", "model_effect": "model-specific efficiency", "family": "base-model family",
    "fine_tune": "fine-tune", "controls": "controls", "level": "level (intercept)",
}
SUBSETS = {"all": "all models", "majors": "major developers' models"}
PERCENTILE_PAIRS = {"p90_p10": "90th/10th percentile", "p75_p25": "75th/25th percentile"}


def component_name(component: str) -> str:
    """A component's display name, lower case ("shared progress", "model-specific efficiency")."""
    return COMPONENT_NAMES.get(component, component.replace("_", " "))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _spread(tag: str) -> str:
    return PERCENTILE_PAIRS.get(tag, tag.replace("_", "/"))


# (pattern over the whole id, name template); the first that matches names the id. Groups are filled in by
# name; ``c`` is a component, ``a``/``b`` models, ``g`` a group or developer, ``p`` a period.
RULES: tuple[tuple[str, object], ...] = (
    (r"compute_slope", "Compute slope (logit gain per 10x training compute)"),
    (r"n_obs", "Models fitted"),
    (r"r2", "R2 of the paper's regression"),
    (r"sigma_developer", "Spread of developer effects (SD, logit)"),
    (r"sigma_model", "Spread of model-specific effects (SD, logit)"),
    (r"sigma_(?P<x>.+)", lambda m: f"Spread of {m['x'].replace('_', ' ')} effects (SD, logit)"),
    (r"shapley_(?P<c>.+)", lambda m: f"{_capital(component_name(m['c']))}'s share of the variance in scores"),
    (r"finite_population_sd__(?P<c>.+)", lambda m: f"SD over models of the {component_name(m['c'])} component"),
    (r"progress_multiplier_last_vs_first", "Compute saved by shared progress, last period vs first"),
    (r"progress_multiplier__(?P<p>.+)", lambda m: f"Compute saved by shared progress, {m['p']} vs the first period"),
    (r"progress_halving_time_months", "Months for the compute needed at a fixed score to halve"),
    (r"developer_multiplier__(?P<g>.+)", lambda m: f"{m['g']}'s compute multiplier vs Other-Small"),
    (r"p_most_efficient_major__(?P<g>.+)", lambda m: f"P({m['g']} is the most compute-efficient major)"),
    (r"within_firm_spread_(?P<t>p\d+_p\d+)__(?P<g>.+)",
     lambda m: f"Within-firm efficiency spread, {m['g']}'s models ({_spread(m['t'])})"),
    (r"within_firm_spread_(?P<t>p\d+_p\d+)",
     lambda m: f"Within-firm efficiency spread, major developers ({_spread(m['t'])})"),
    (r"frontier_(?P<c>.+)_share__(?P<a>.+)__(?P<b>.+)",
     lambda m: f"{_capital(component_name(m['c']))}'s share of the gain, {m['a']} to {m['b']}"),
    (r"frontier_compute_growth__(?P<a>.+)__(?P<b>.+)", lambda m: f"Training compute growth, {m['a']} to {m['b']}"),
    (r"level_compute_share__(?P<a>.+)", lambda m: f"Compute's share of {m['a']}'s level (not identified)"),
    (r"compute_range_p95_p5", "Range of training compute across models (95th/5th percentile)"),
    (r"threshold_compute_fall_(?P<s>all|majors)_fitted",
     lambda m: f"Fall in compute needed for {THRESHOLD_NORM_SCORE:.0%} normalised score, fitted ({SUBSETS[m['s']]})"),
    (r"threshold_compute_fall_(?P<s>all|majors)",
     lambda m: f"Fall in compute needed for {THRESHOLD_NORM_SCORE:.0%} normalised score ({SUBSETS[m['s']]})"),
)
_COMPILED = tuple((re.compile(pattern), name) for pattern, name in RULES)


def readable(quantity: str) -> str:
    """The display name of a headline quantity id (the id with spaces when no rule knows it)."""
    for pattern, name in _COMPILED:
        if m := pattern.fullmatch(quantity):
            return name(m) if callable(name) else name
    return _capital(quantity.replace("__", ", ").replace("_", " "))
