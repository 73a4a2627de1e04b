"""What a headline quantity is, as a structure: its kind, the view it belongs to, its component, subject, pair of
models, percentiles and variant. The id of ``headline.csv`` and the readable name are rendered from it, so nothing
parses an id back, and adding a quantity or a view is one entry here.

Two views of one posterior (``quantities.views``): the **paper** view, the paper's four components as the paper
defines them (its ids are the replication's, so the two tables line up and only it is compared with the paper's
numbers), and the **model** view, the fitted model's own finer components (ids end in ``__model_view``). Quantities
that are the same in both (the slope, the model's scalar parameters, facts of the data) have no view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAPER, MODEL = "paper", "model"
VIEWS = (PAPER, MODEL)
VIEW_SUFFIX = {PAPER: "", MODEL: "__model_view", "": ""}

# Display names of every component a view can have (the paper's four; the model's, by structure), and of the model's
# own components and level (``model.build.COMPONENTS``, as ``bayes-sauce explain`` shows them).
COMPONENT_NAMES = {
    "compute": "compute", "progress": "shared progress", "time": "shared progress", "developer": "developer",
    "model": "model-specific efficiency", "model_effect": "model-specific efficiency", "level": "level (intercept)",
    "pretraining_cohort": "shared progress (pretraining cohort)", "release_cohort": "shared progress (release cohort)",
    "base_developer": "base developer", "family": "base-model family", "fine_tune": "fine-tune",
    "damage": "damage by fine-tuning", "failed_evaluation": "failed evaluation", "evaluation_noise": "evaluation noise",
    "controls": "controls", "protocol": "self-reported protocol",
}
# A component's token inside an id where it differs from its name: the paper's names for the replication's
# components (a data variable cannot be called "model").
ID_TOKENS = {"model_effect": "model", "time": "progress"}
SPREADS = {"p90_p10": (0.10, 0.90), "p75_p25": (0.25, 0.75)}
SPREAD_NAMES = {"p90_p10": "90th/10th percentile", "p75_p25": "75th/25th percentile"}
SUBSETS = {"all": "all models", "majors": "major developers' models"}
VARIANT_NAMES = {"beta_at_median": "beta fixed at its median", "fitted": "fitted scores",
                 "leaderboard_scale": "self-reported scores less the protocol offset"}


def safe_label(label: str) -> str:
    """A model or group label usable inside an id and a file name (spaces and symbols -> '-')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")


def component_name(component: str) -> str:
    """A component's display name, lower case ("shared progress", "base-model family")."""
    return COMPONENT_NAMES.get(component, component.replace("_", " "))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Key:
    """The identity of a headline quantity; ``id`` and ``name`` are rendered from it."""

    kind: str
    view: str = ""
    component: str = ""
    subject: str = ""  # a parameter, period, group, developer or model label
    pair: tuple[str, ...] = ()  # (from, to) model labels of a frontier comparison
    spread: str = ""  # percentiles of a within-firm spread: a key of SPREADS
    variant: str = ""  # a key of VARIANT_NAMES

    @property
    def stem(self) -> str:
        """The id without the view's suffix."""
        s, c, pair = safe_label(self.subject), ID_TOKENS.get(self.component, self.component), "__".join(self.pair)
        stem = {
            "scalar": self.subject,
            "shapley": f"shapley_{c}",
            "finite_population_sd": f"finite_population_sd__{c}",
            "progress_multiplier": f"progress_multiplier__{self.subject}",
            "progress_last_vs_first": "progress_multiplier_last_vs_first",
            "halving_time": "progress_halving_time_months",
            "developer_multiplier": f"developer_multiplier__{s}",
            "p_most_efficient_major": f"p_most_efficient_major__{s}",
            "within_firm_spread": f"within_firm_spread_{self.spread}" + (f"__{s}" if s else ""),
            "frontier_share": f"frontier_{c}_share__{pair}",
            "frontier_compute_growth": f"frontier_compute_growth__{pair}",
            "level_compute_share": f"level_compute_share__{s}",
            "compute_range": "compute_range_p95_p5",
            "threshold_fall": f"threshold_compute_fall_{self.subject}",
        }.get(self.kind, self.kind)
        return stem + (f"__{self.variant}" if self.variant else "")

    @property
    def id(self) -> str:
        return self.stem + VIEW_SUFFIX[self.view]

    @property
    def name(self) -> str:
        """The readable name of the report, the page and the terminal."""
        c = _capital(component_name(self.component))
        a, b = (self.pair + ("", ""))[:2]
        spread = SPREAD_NAMES.get(self.spread, self.spread)
        models = f"{self.subject}'s models" if self.subject else "major developers"
        base = {
            "compute_slope": "Compute slope (logit gain per 10x training compute)",
            "n_obs": "Models fitted",
            "r2": "R2 of the paper's regression",
            "scalar": f"Posterior of {self.subject}",
            "failure_share": "Share of evaluations that failed, where a failure is possible (model.failures)",
            "failures_per_draw": "Models that are failed evaluations (count per draw)",
            "shapley": f"{c}'s share of the variance in scores",
            "finite_population_sd": f"SD over models of the {component_name(self.component)} component",
            "progress_multiplier": f"Compute saved by shared progress, {self.subject} vs the first period",
            "progress_last_vs_first": "Compute saved by shared progress, last period vs first",
            "halving_time": "Months for the compute needed at a fixed score to halve",
            "developer_multiplier": f"{self.subject}'s compute multiplier vs Other-Small",
            "p_most_efficient_major": f"P({self.subject} is the most compute-efficient major)",
            "within_firm_spread": f"Within-firm efficiency spread, {models} ({spread})",
            "frontier_share": f"{c}'s share of the gain, {a} to {b}",
            "frontier_compute_growth": f"Training compute growth, {a} to {b}",
            "level_compute_share": f"Compute's share of {self.subject}'s level (not identified)",
            "compute_range": "Range of training compute across models (95th/5th percentile)",
            "threshold_fall": f"Fall in compute needed for the score threshold ({SUBSETS.get(self.subject, self.subject)})",
        }.get(self.kind, _capital(self.kind.replace("_", " ")))
        variant = f", {VARIANT_NAMES.get(self.variant, self.variant.replace('_', ' '))}" if self.variant else ""
        view = f" ({self.view} view)" if self.view else ""
        return base + variant + view
