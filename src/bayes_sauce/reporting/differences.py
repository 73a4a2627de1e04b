"""Sentences on where a fit's headline numbers and the paper's differ, and why, generated from the numbers.

Each function looks at one family of quantities (variance shares, developer multipliers, spreads, the
rest), compares our interval with the paper's value and states the reason that applies, with the
numbers that support it; nothing here types in an estimate.
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
from bayes_sauce.replication.ols import Replication
from bayes_sauce.reporting.paper import format_value

FEW_MODELS = 2  # developers with at most this many models are barely identified
SHRINK_FACTOR = 1.5  # developer multipliers this far from the paper's are called out


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

    def show(self, q: str) -> str:
        """'median [lo, hi]' of a quantity in its unit."""
        r = self.rows.loc[q]
        interval = f" [{format_value(r['lo'], r['unit'])}, {format_value(r['hi'], r['unit'])}]" if pd.notna(r["lo"]) else ""
        return f"{format_value(r['median'], r['unit'])}{interval}"

    def versus(self, q: str) -> str:
        """'ours vs the paper's' for one quantity, flagged when the paper's value is outside our interval."""
        if pd.isna(self.rows.loc[q, "paper"]):
            return f"{self.show(q)} (the paper has no such number)"
        paper = format_value(self.rows.loc[q, "paper"], self.rows.loc[q, "unit"])
        return f"{self.show(q)} vs {paper}" + (" (outside)" if self.outside[q] else "")

    @property
    def beta(self) -> tuple[float, float]:
        """Our median compute slope and the paper's."""
        return tuple(self.rows.loc["compute_slope", ["median", "paper"]])

    @property
    def sizes(self) -> tuple[int, int]:
        """Developers in the fit, and the paper's developer groups among its rows."""
        return len(self.fit.design.coords["developer"]), self.fit.rows["developer_group"].nunique()


def shapley_note(c: Comparison) -> list[str]:
    """Why the variance shares differ from the paper's Figure 1: the method and the model, with numbers."""
    shapley = [q for q in c.rows.index if q.startswith("shapley_")]
    if not c.outside[shapley].any():
        return []
    n_dev, n_groups = c.sizes
    listed = "; ".join(f"{q.removeprefix('shapley_')} {c.versus(q)}" for q in shapley)
    text = (f"**Variance shares.** Ours vs the paper's: {listed}. "
            "Two things differ. The method: the paper's value of a coalition is the R2 of the observed logit score on "
            "that coalition's dummies; ours is the R2 of the latent logit eta on one vector per component")
    method = c.tables["shapley"]["ols_component_method"]
    text += (f"; the paper's own OLS fit decomposed our way gives {' / '.join(format_value(v, 'share') for v in method)}."
             if method.notna().all() else ".")
    if c.fit.spec.model.developers != "fixed_groups":
        text += (f" The model: our developer component varies over {n_dev} raw developers, each partially pooled, the "
                 f"paper's over {n_groups} groups, so differences between developers inside a group count as developer "
                 "rather than model-specific variation.")
    return [text]


def developer_notes(c: Comparison) -> list[str]:
    """Developer multipliers far from the paper's and why, the ranking at the top, and the closed labs."""
    groups = c.tables["developer_multipliers"]
    if not len(groups):
        return []
    notes = []
    ids = "developer_multiplier__" + groups["group"]
    ratio = groups["median"] / groups["paper"]
    far = groups[((np.maximum(ratio, 1 / ratio) >= SHRINK_FACTOR) | c.outside[ids].to_numpy()).to_numpy()]
    if len(far):
        def listing(sub: pd.DataFrame) -> str:
            return "; ".join(f"{g} {c.versus(f'developer_multiplier__{g}')}" for g in sub["group"])

        is_major = far["group"].isin([headline.safe_label(m) for m in MAJORS])
        if c.fit.spec.model.developers == "pooled_groups":
            parts = [f"{listing(far[is_major])}: partial pooling pulls each major's effect toward the majors' common "
                     "mean, more the further it lies from it and the fewer models it has (the paper's fixed effects "
                     "are the no-pooling limit)" if is_major.any() else "",
                     f"{listing(far[~is_major])}: an Other bin's multiplier is its pool mean, an average over its "
                     "developers (each shrunk toward it), where the paper's dummy averages over its models"
                     if (~is_major).any() else ""]
        else:
            parts = [f"{listing(far)}: the binomial likelihood weighs each model by the precision of its score"]
        beta, beta_paper = c.beta
        if pd.notna(beta_paper) and abs(beta / beta_paper - 1) > 0.02:
            parts.append(f"our slope is {'steeper' if beta > beta_paper else 'flatter'} (beta "
                         f"{format_value(beta, '')} vs {format_value(beta_paper, '')}), which makes every multiplier "
                         f"10**(effect/beta) {'smaller' if beta > beta_paper else 'larger'} for the same logit effect")
        notes.append(f"**Developer multipliers** at least {SHRINK_FACTOR}x from the paper's or outside our interval. "
                     + ". ".join(p[0].upper() + p[1:] for p in parts if p) + ".")
    developers = c.tables["developers"].set_index("developer")
    majors = groups.set_index("group")
    if "p_most_efficient_major" in developers and majors["paper"].notna().any():
        ranks = developers["p_most_efficient_major"].dropna().sort_values(ascending=False)
        paper_top = majors["paper"].idxmax()
        leader = "the same developer leads" if headline.safe_label(ranks.index[0]) == paper_top else "a different developer leads"
        certainty = (f"{ranks.index[0]} leads with at least 90% probability" if ranks.iloc[0] >= 0.9 else
                     "no major is the most efficient with 90% probability")
        notes.append(f"**Ranking.** The paper's most compute-efficient major is {paper_top} "
                     f"({format_value(majors.loc[paper_top, 'paper'], 'x')}); the posterior's P(most efficient among "
                     f"the majors): {', '.join(f'{d} {p:.2f}' for d, p in ranks.head(4).items())}. So {leader}, and "
                     f"{certainty}.")
    few = developers[developers["is_major"].astype(bool) & (developers["n_models"] <= FEW_MODELS)]
    if len(few):
        def ols_interval(d: str) -> str:
            lo, hi = majors.loc[d, ["ols_lo", "ols_hi"]] if d in majors.index else (np.nan, np.nan)
            return f" (OLS [{format_value(lo, 'x')}, {format_value(hi, 'x')}])" if pd.notna(lo) else ""

        listed = "; ".join(f"{d} ({int(r.n_models)} model{'s' * (r.n_models > 1)}) {format_value(r.vs_base_median, 'x')} "
                           f"[{format_value(r.vs_base_lo, 'x')}, {format_value(r.vs_base_hi, 'x')}]{ols_interval(d)}"
                           for d, r in few.iterrows())
        notes.append(f"**Closed labs.** {listed}, vs {BASE_GROUP}: with so few models the data barely identify them, "
                     "and their intervals stay wide (the paper's OLS intervals on the same rows in brackets).")
    return notes


def spread_notes(c: Comparison) -> list[str]:
    """Within-firm spreads outside our interval, split into the model-effect gap and the slope."""
    spread = [q for q in ("within_firm_spread_p90_p10", "within_firm_spread_p75_p25") if q in c.rows.index]
    if c.ols is None:
        return []
    ols_rows = c.ols.headline.set_index("quantity")
    beta, ols_beta = c.beta[0], ols_rows.loc["compute_slope", "median"]
    return [f"**{q}.** Ours {c.versus(q)}: the spread is 10**(gap/beta); our gap between the model-effect quantiles is "
            f"about {np.log10(c.rows.loc[q, 'median']) * beta:.2f} logits (the OLS residuals': "
            f"{np.log10(ols_rows.loc[q, 'median']) * ols_beta:.2f}) and our beta {format_value(beta, '')} (the OLS's "
            f"{format_value(ols_beta, '')})." for q in spread if c.outside[q]]


def other_notes(c: Comparison, explained: set[str]) -> list[str]:
    """Any other quantity outside our interval, with the reason that applies to its kind."""
    beta, beta_paper = c.beta
    n_dev, n_groups = c.sizes
    notes = []
    for q in c.rows.index[c.outside]:
        if any(q.startswith(prefix) for prefix in explained):
            continue
        if q.startswith(("frontier_", "level_")):
            why = (f"compute's part of a gain is beta times the difference in log compute, so shares move with beta "
                   f"(ours {format_value(beta, '')} vs {format_value(beta_paper, '')}) and with the two models' "
                   "estimated developer and model effects")
        elif q.startswith("progress_"):
            why = f"period effects are estimated beside {n_dev} developer effects rather than {n_groups} group dummies"
        elif q == "compute_slope":
            why = (f"the binomial likelihood weighs models by the precision of their scores, and developers enter as "
                   f"{n_dev} pooled effects rather than {n_groups} group dummies")
        else:
            why = "see its definition in headline.csv"
        notes.append(f"**{q}.** Ours {c.versus(q)}: {why}.")
    return notes


def threshold_note(c: Comparison) -> list[str]:
    """The observed threshold fall beside its fitted-score counterpart."""
    if not {"threshold_compute_fall_all", "threshold_compute_fall_all_fitted"} <= set(c.rows.index):
        return []
    return [f"**Threshold fall.** On observed scores the minimum compute reaching the threshold fell "
            f"{c.show('threshold_compute_fall_all')}; on fitted scores (model-specific effects removed) "
            f"{c.show('threshold_compute_fall_all_fitted')}. The observed ratio rests on the single cheapest model to "
            "cross the line; the fitted one asks when compute, period and developer alone predict crossing it."]


def disagreements(tables: dict[str, pd.DataFrame], fit: Fit, ols: Replication | None) -> list[str]:
    """Sentences on where the posterior and the paper differ, and why, generated from the numbers."""
    c = Comparison(tables, fit, ols)
    notes = shapley_note(c) + developer_notes(c) + spread_notes(c)
    notes += other_notes(c, {"shapley_", "developer_multiplier__", *(["within_firm_spread_p"] if ols else [])})
    notes += threshold_note(c)
    compared = c.rows["paper"].notna() & c.rows["lo"].notna()
    notes.append(f"Of the {int(compared.sum())} quantities with a published value and a posterior interval, "
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
    missing = [name for name, c in checks.items() if not c["n"]]
    parts = []
    if clear:
        parts.append("WARNING: this model FAILS a predictive check: " + "; ".join(clear) + ". Its predictions of "
                     "that kind are miscalibrated by that much; see the model checks.")
    if narrow:
        parts.append("A predictive check fails narrowly: " + "; ".join(narrow) + ". A calibrated model leaves a "
                     f"{next(iter(failed.values()))['band']:.0%} band in one check of twenty, often by that little; "
                     "see the model checks.")
    if missing:
        parts.append("Not checked (no model the check applies to): " + ", ".join(missing) + ".")
    return " ".join(parts)


def checks_note(checks: dict[str, dict]) -> str:
    """One sentence per predictive check of checks.json: what it compares, passed or not, and by how much."""
    lines = []
    for name, c in checks.items():
        if c["n"] == 0:
            lines.append(f"- `{name}` **could not be computed**: {c['what']}; {c['note']}.")
            continue
        verdict = "**passes**" if c["passed"] else "**fails narrowly**" if narrowly(c) else "**FAILS**"
        where = "stays inside" if c["passed"] else f"leaves it {_outside(c)}"
        line = (f"- `{name}` {verdict}: {c['what']}; n = {c['n']}, the PIT ECDF {where} the {c['band']:.0%} "
                f"simultaneous band (largest deviation from uniform {c['max_abs_ecdf_deviation']:.3f}).")
        if "folds" in c and not c["fold_gates_passed"]:
            line += " Some fold fits failed the diagnostics gate (see checks.json)."
        lines.append(line)
    return "\n".join(lines)
