"""Sentences on where a fit's headline numbers and the paper's differ, and why, generated from the numbers and from
the structure actually fitted (the spec's options, the views' components, the rows' lineage).

The paper view is the paper's regression read at each posterior draw of beta, so it differs from the paper's numbers
through beta (and, where the model's latent logit is not the observed one, eta) alone; the model view says what the
paper's regression cannot see. Nothing here types in an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import kurtosis, skew

from bayes_sauce.data.schema import BASE_GROUP, MAJORS
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.quantities import headline
from bayes_sauce.quantities.informed import RULE, uninformed
from bayes_sauce.quantities.keys import MODEL, PAPER, Key, component_name
from bayes_sauce.replication.ols import Replication
from bayes_sauce.reporting.paper import format_value


@dataclass(frozen=True)
class Comparison:
    """The headline table beside the paper, with what the sentences about differences need."""

    tables: dict[str, pd.DataFrame]
    fit: Fit
    ols: Replication | None

    @property
    def rows(self) -> pd.DataFrame:
        return self.tables["headline"].set_index("quantity")

    @property
    def outside(self) -> pd.Series:
        """Quantities whose published value lies outside our interval."""
        r = self.rows
        return r["paper"].notna() & r["lo"].notna() & ((r["paper"] < r["lo"]) | (r["paper"] > r["hi"]))

    def has(self, key: Key) -> bool:
        return key.id in self.rows.index

    def show(self, q: str | Key) -> str:
        """'median [lo, hi]' of a quantity in its unit."""
        r = self.rows.loc[q.id if isinstance(q, Key) else q]
        interval = f" [{format_value(r['lo'], r['unit'])}, {format_value(r['hi'], r['unit'])}]" if pd.notna(r["lo"]) else ""
        return f"{format_value(r['median'], r['unit'])}{interval}"

    def versus(self, q: str | Key) -> str:
        """'ours vs the paper's' for one quantity, flagged when the paper's value is outside our interval."""
        q = q.id if isinstance(q, Key) else q
        if pd.isna(self.rows.loc[q, "paper"]):
            return f"{self.show(q)} (the paper has no such number)"
        paper = format_value(self.rows.loc[q, "paper"], self.rows.loc[q, "unit"])
        return f"{self.show(q)} vs the paper's {paper}" + (" (outside our interval)" if self.outside[q] else "")

    @property
    def beta(self) -> tuple[float, float]:
        """Our median compute slope and the paper's."""
        return tuple(self.rows.loc["compute_slope", ["median", "paper"]])


def slope_reasons(fit: Fit) -> list[str]:
    """Why the fitted beta is not the paper's OLS slope, from the spec's options."""
    model = fit.spec.model
    reasons = []
    if model.mundlak:
        reasons.append("it is the slope within a developer (the Mundlak term takes each developer's mean compute)")
    if model.structure == "families":
        reasons.append("it is estimated between base models' pretraining runs, a fine-tune sitting at its base's "
                       "level (its compute apart from its family's has its own slope, beta_within)")
        reasons.append("each score is weighed by its question sampling and evaluation noise on the accuracy scale")
    elif model.likelihood == "binomial":
        reasons.append("the binomial likelihood weighs each model by the precision of its score")
    if model.developers != "fixed_groups":
        reasons.append("developers are partially pooled rather than 13 fixed group dummies")
    return reasons


def views_note(c: Comparison) -> list[str]:
    """What the paper view is, and the one thing through which it differs from the paper: beta."""
    if not c.has(Key("shapley", PAPER, "compute")):
        return ["**The paper view is missing**: the fitted rows cannot support the paper's regression (one cluster, "
                "no model of the base group, or fewer models than coefficients), so nothing is compared with the "
                "paper's numbers."]
    paper = c.beta[1]
    latent = ("the observed logit" if c.fit.spec.model.structure == "families" or c.fit.spec.model.likelihood !=
              "binomial" else "the model's latent logit (the binomial likelihood takes question sampling out)")
    reasons = slope_reasons(c.fit)
    text = (f"**The paper view** is the paper's regression read at each posterior draw of the compute slope: given "
            f"beta, its cohort and group effects are the least squares on what compute leaves of eta ({latent}) over "
            "the paper's release-cohort and releasing-group dummies, and its Shapley shares are the paper's method; at "
            "the paper's own slope it is the paper's fit exactly. So the paper view differs from the paper's numbers "
            f"through beta: ours {c.show('compute_slope')} vs the paper's {format_value(paper, '')}")
    text += (f", because {'; '.join(reasons)}." if reasons else ".")
    return [text]


def model_view_note(c: Comparison) -> list[str]:
    """How the model view splits what the paper calls developer and model-specific."""
    shares = c.tables["shapley"]
    model = shares[shares["view"] == MODEL]
    if not len(model):
        return []
    listed = "; ".join(f"{component_name(r.component)} {format_value(r.median, 'share')} "
                       f"[{format_value(r.lo, 'share')}, {format_value(r.hi, 'share')}]" for r in model.itertuples())
    paper = shares[(shares["view"] == PAPER) & (shares["component"] == "model")]
    lead = (f"The paper view's model-specific share is {format_value(paper['median'].iloc[0], 'share')} (the paper's "
            f"{format_value(paper['paper'].iloc[0], 'share')}). " if len(paper) else "")
    return [f"**What the paper's regression cannot see.** {lead}The model view splits eta's variance among the fitted "
            f"model's own components (one regressor per component; not comparable with the paper's numbers): {listed}."]


def protocol_note(c: Comparison) -> list[str]:
    """Compute's frontier shares with self-reported scores at face value and on the leaderboard scale, and what the
    difference means; or why a fit gives them once."""
    fit = c.fit
    own = ~fit.rows["is_leaderboard"].astype(bool)
    once = "**Self-reported scores.** The frontier shares are given once, every score at face value as the paper reads it"
    if not fit.spec.model.protocol_offset:
        return [f"{once}: the model has no protocol offset (model.protocol_offset off)."]
    if not own.any():
        return [f"{once}: no fitted model's score is self-reported."]
    view = PAPER if c.has(Key("shapley", PAPER, "compute")) else MODEL
    shown, ends = [], []
    for start, start_id, end, end_id in headline.frontier_pairs(fit.rows, fit.spec.data.outcome):
        face = Key("frontier_share", view, "compute", pair=(start, end))
        board = Key("frontier_share", view, "compute", pair=(start, end), variant=headline.LEADERBOARD_SCALE)
        if c.has(board):
            shown.append(f"{start} to {end} {c.show(face)} at face value, {c.show(board)} on the leaderboard scale")
            ends += [label for label, model in ((start, start_id), (end, end_id))
                     if own[fit.rows["model_id"] == model].any() and label not in ends]
    if not shown:
        return [f"{once}: the end-points of each frontier pair were measured under the same protocol."]
    offset = Key("scalar", subject="protocol_offset")
    return [f"**Self-reported scores at the frontier.** {int(own.sum())} of the {len(fit.rows)} fitted models' scores "
            f"are self-reported (their developers' own protocols), {', '.join(ends)} among them; the model reads each "
            "as its leaderboard-harness score plus an offset" + (f" of {c.show(offset)} logit" if c.has(offset) else "")
            + f". Compute's share of the logit gain ({view} view): {'; '.join(shown)}. The difference is the part of "
            "the gain that is the self-reported protocol, not the models: at face value (as the paper) it counts as "
            "gain, in the paper view's model-specific part and the model view's protocol share, so every other share "
            "is smaller; on the leaderboard scale compute's share is of the gain the models made."]


def lineage_note(c: Comparison) -> list[str]:
    """Why the developer multipliers differ between the views: whose developer effect a model carries."""
    design, rows = c.fit.design, c.fit.rows
    groups = c.tables["developer_multipliers"]
    if design.families is None or not len(groups) or groups["model_median"].isna().all():
        return []
    developers = np.array(design.coords["developer"])
    base = developers[design.families.base_of_family[design.families.family_idx]]
    major_base = pd.Series(base, index=rows.index).isin(MAJORS) & ~rows["is_major"].astype(bool)
    small = rows["developer_group"] == BASE_GROUP
    carried = int((pd.Series(base).isin(MAJORS)).sum())
    top = groups.dropna(subset=["median", "model_median"]).head(3)
    listed = "; ".join(f"{g} {format_value(m, 'x')} (paper view) and {format_value(mm, 'x')} (model view)"
                       for g, m, mm in zip(top["group"], top["median"], top["model_median"]))
    return [f"**Developer multipliers, two meanings.** The paper's group effect averages over the models a group's "
            f"developers released; the model's developer effect is that of the developer who pretrained a model's base, "
            f"so {carried} of {len(rows)} models carry a major's developer effect against {int(rows['is_major'].sum())} "
            f"released by majors. {int((major_base & small).sum())} of the {int(small.sum())} models released by "
            f"{BASE_GROUP} developers are fine-tunes or merges of a major's base model: in the paper they lift "
            f"{BASE_GROUP}'s mean, the baseline of every multiplier; in the model they carry that major's effect, and "
            f"{BASE_GROUP} is the pool of developers that pretrained their own bases. Hence, at the top: {listed}."]


def single_family_note(c: Comparison) -> list[str]:
    """Developers whose developer and family parts are one combined level, drawn apart per draw."""
    design = c.fit.design
    if design.families is None or c.fit.spec.model.developers == "fixed_groups":
        return []
    single = design.units_per_developer == 1
    developers = np.array(design.coords["developer"])
    majors = [d for d in developers[single] if d in MAJORS]
    shown = [f"{d} {c.show(Key('developer_multiplier', MODEL, subject=d))}" for d in majors
             if c.has(Key("developer_multiplier", MODEL, subject=d))]
    return [f"**Developers with a single family** ({int(single.sum())} of {len(developers)}): the data pin only the sum "
            "of such a developer's level and its family's; each draw takes the developer's part from its conditional "
            "distribution given the sum, so its interval carries that uncertainty" + (f" (model view: {'; '.join(shown)})"
                                                                                     if shown else "") + "."]


def failures_note(c: Comparison) -> list[str]:
    """What carrying the failed evaluations per draw changes."""
    count = Key("failures_per_draw", MODEL)
    if not c.has(count):
        return []
    share = Key("shapley", MODEL, "failed_evaluation")
    return [f"**Failed evaluations, per draw.** In each draw a model is a failed evaluation with its posterior "
            f"probability given the draw's parameters and its score: {c.show(count)} models per draw. The paper view keeps "
            "them, as the paper does; in the model view they form the failed-evaluation component"
            + (f" ({c.show(share)} of the variance)" if c.has(share) else "")
            + " and are left out of the latent efficiencies of the within-firm spreads (no cut on a posterior mean)."]


def spread_note(c: Comparison) -> list[str]:
    """The within-firm spread: the paper's definition, latent efficiencies, and beta's part."""
    paper, latent = Key("within_firm_spread", PAPER, spread="p90_p10"), Key("within_firm_spread", MODEL, spread="p90_p10")
    fixed = Key("within_firm_spread", MODEL, spread="p90_p10", variant="beta_at_median")
    if not (c.has(paper) and c.has(latent)):
        return []
    text = (f"**Within-firm spread.** The paper view (its residuals, evaluation noise and failed evaluations included): "
            f"{c.versus(paper)}. On latent efficiencies (model view: evaluation noise taken out): {c.show(latent)}")
    if c.has(fixed):
        text += (f"; with beta fixed at its median: {c.show(fixed)}. What the full interval adds to the second is "
                 "beta's uncertainty (a spread is 10**(gap/beta)); the second is the efficiencies' own")
    return [text + "."]


def uninformed_note(c: Comparison) -> list[str]:
    """The quantities the data do not inform, by the stated rule."""
    rows = c.rows
    flagged = rows[rows["informed"].map(uninformed)]
    if not len(flagged):
        return []
    return [f"**Not informed by the data** ({RULE}): " + "; ".join(f"{r['name']} {c.show(q)}"
                                                                    for q, r in flagged.iterrows())
            + ". They are reported, never given a verdict."]


def threshold_note(c: Comparison) -> list[str]:
    """The observed threshold fall beside its fitted-score counterpart."""
    observed, fitted = Key("threshold_fall", subject="all"), Key("threshold_fall", MODEL, subject="all", variant="fitted")
    if not (c.has(observed) and c.has(fitted)):
        return []
    return [f"**Threshold fall.** On observed scores the minimum compute reaching the threshold fell "
            f"{c.show(observed)}; on fitted scores (what compute, period and developer predict in the model) "
            f"{c.show(fitted)}. The observed ratio rests on the single cheapest model to cross the line."]


def disagreements(tables: dict[str, pd.DataFrame], fit: Fit, ols: Replication | None) -> list[str]:
    """Sentences on where the posterior and the paper differ, and why, generated from the numbers and the structure."""
    c = Comparison(tables, fit, ols)
    notes = (views_note(c) + model_view_note(c) + protocol_note(c) + lineage_note(c) + single_family_note(c)
             + failures_note(c) + spread_note(c) + uninformed_note(c) + threshold_note(c))
    compared = c.rows["paper"].notna() & c.rows["lo"].notna()
    notes.append(f"Of the {int(compared.sum())} paper-view quantities with a published value and a posterior interval, "
                 f"{int((compared & ~c.outside).sum())} have the paper's value inside our {fit.prob:.0%} interval.")
    return notes


def ppc_note(table: pd.DataFrame, fit: Fit) -> str:
    """How far the observed score distribution lies from replicated datasets of new models (and new families)."""
    prob = fit.prob
    inside = table[(table["observed"] > 0) & (table["observed"] < 1)]  # the observed range
    out = (inside["observed"] < inside["fresh_lo"]) | (inside["observed"] > inside["fresh_hi"])
    gap = (inside["observed"] - inside["fresh_median"]).abs()
    worst = inside.loc[gap.idxmax()]
    fresh = ("new models in new families (same developer, compute and period)" if fit.spec.model.structure == "families"
             else "fresh model effects (new models with the same compute, period and developer)")
    text = (f"**Score distribution.** Replicated as {fresh}, the observed ECDF of scores lies outside the {prob:.0%} "
            f"band over {out.mean():.0%} of the observed score range (largest gap {gap.max():.2f} at score "
            f"{worst['score']:.2f}).")
    if out.mean() > 0.1 and fit.spec.model.structure != "families":
        effects = fit.posterior["model_effect"].mean(SAMPLE_DIMS).values
        text += (" Normal model-specific effects on the logit scale do not reproduce the shape of the score "
                 f"distribution: the posterior-mean model effects have skewness {skew(effects):.2f} and excess "
                 f"kurtosis {kurtosis(effects):.1f}. Read quantities that rest on the tails of those effects "
                 "(the within-firm spreads) with care.")
    return text


def _outside(check: dict) -> str:
    return f"over {check['share_of_grid_outside']:.1%} of the grid, by at most {check['max_excess']:.3f}"


def narrowly(check: dict) -> bool:
    """A failed check whose PIT ECDF leaves the band by less than half the ECDF's sampling error at its middle
    (0.5 / sqrt(n)): a calibrated model leaves a 95% band in one check of twenty, often by that little."""
    return check["max_excess"] < 0.25 / check["n"] ** 0.5


def failed_checks_warning(checks: dict[str, dict]) -> str:
    """A sentence naming the predictive checks that fail or could not be computed ('' when all pass): said at
    the top of the report. A narrow failure is said as such, not as a warning in capitals."""
    failed = {name: c for name, c in checks.items() if not c["passed"] and c["n"]}
    clear = [f"{name} (outside the band {_outside(c)})" for name, c in failed.items() if not narrowly(c)]
    narrow = [f"{name} (outside the band {_outside(c)}, less than half the ECDF's sampling error "
              f"{0.5 / c['n'] ** 0.5:.3f})" for name, c in failed.items() if narrowly(c)]
    missing = [f"{name} ({c['note']})" for name, c in checks.items() if not c["n"]]
    parts = []
    if clear:
        parts.append("WARNING: this model FAILS a predictive check: " + "; ".join(clear) + ". Its predictions of "
                     "that kind are miscalibrated by that much; see the model checks.")
    if narrow:
        parts.append("A predictive check fails narrowly: " + "; ".join(narrow) + ". A calibrated model leaves a "
                     f"{next(iter(failed.values()))['band']:.0%} band in one check of twenty, often by that little; "
                     "see the model checks.")
    if missing:
        parts.append("Not checked: " + "; ".join(missing) + ".")
    return " ".join(parts)


def checks_note(checks: dict[str, dict]) -> str:
    """One sentence per predictive check of checks.json: what it compares, passed or not, and by how much."""
    lines = []
    for name, c in checks.items():
        if c["n"] == 0:
            lines.append(f"- `{name}` **{'was not computed' if c.get('computed') is False else 'could not be computed'}"
                         f"**: {c['what']}; {c['note']}.")
            continue
        verdict = "**passes**" if c["passed"] else "**fails narrowly**" if narrowly(c) else "**FAILS**"
        where = "stays inside" if c["passed"] else f"leaves it {_outside(c)}"
        line = (f"- `{name}` {verdict}: {c['what']}; n = {c['n']}, the PIT ECDF {where} the {c['band']:.0%} "
                f"simultaneous band (largest deviation from uniform {c['max_abs_ecdf_deviation']:.3f}).")
        if "folds" in c and not c["fold_gates_passed"]:
            line += " Some fold fits failed the diagnostics gate (see checks.json)."
        lines.append(line)
    return "\n".join(lines)
