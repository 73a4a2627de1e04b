"""The calibration report: ranks.csv, coverage.csv, calibration.png (PIT-ECDF differences with ArviZ's
simultaneous bands) and calibration.md, whose sentences are generated from the numbers."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from arviz_stats.ecdf_utils import ecdf_pit  # noqa: E402

from bayes_sauce.calibration.coverage import COVERAGE_PROB, FAMILY_ALPHA, coverage_table  # noqa: E402
from bayes_sauce.calibration.runner import CalibrationResult  # noqa: E402
from bayes_sauce.defaults import SEED  # noqa: E402
from bayes_sauce.predictive.checks import PIT_BAND, PIT_SIMULATIONS  # noqa: E402

MIN_DATASETS = 20  # below this, the rank test has little power and the report says so


def calibration_figure(ranks: pd.DataFrame, coverage: pd.DataFrame, ncols: int = 5) -> plt.Figure:
    """One panel per quantity: the ECDF of the truth's PIT values minus the uniform CDF, inside ArviZ's
    simultaneous band (``ecdf_pit``, the band a calibrated quantity's ECDF stays inside with probability
    PIT_BAND); a quantity flagged by the rank test is drawn in red."""
    n_panels = len(coverage)
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.3 * nrows), sharex=True, squeeze=False)
    rng = np.random.default_rng(SEED)
    for ax, row in zip(axes.flat, coverage.itertuples()):
        pit = ranks.loc[ranks["quantity"] == row.quantity, "pit"].dropna().to_numpy(dtype=float)
        if not len(pit):
            ax.set_title(f"{row.quantity}\n(undefined in every data set)", fontsize=7, color="C3")
            continue
        x, _, lower, upper = ecdf_pit(np.sort(pit), PIT_BAND, PIT_SIMULATIONS, rng=rng)
        ax.fill_between(x, lower - x, upper - x, step="post", color="0.85", label=f"simultaneous {PIT_BAND:.0%} band")
        grid = np.linspace(0, 1, 401)
        ax.plot(grid, (pit[:, None] <= grid).mean(axis=0) - grid, color="C0" if row.calibrated else "C3", lw=1.3)
        ax.axhline(0, color="0.5", lw=0.6, ls=":")
        ax.set_title(f"{row.quantity}\n(p = {row.rank_p_value:.2g}, n = {row.n_datasets})", fontsize=7,
                     color="black" if row.calibrated else "C3")
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[n_panels:]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("PIT of the truth", fontsize=7)
    fig.suptitle("Simulation-based calibration: ECDF of the truth's rank (as PIT) minus uniform; red = not calibrated",
                 fontsize=9)
    fig.tight_layout()
    return fig


def _names(rows: pd.DataFrame) -> str:
    return ", ".join(f"`{q}`" for q in rows["quantity"]) or "none"


def _coverage_misses(coverage: pd.DataFrame) -> pd.DataFrame:
    """Quantities whose 50% or 90% coverage interval excludes the nominal level."""
    miss = ((coverage["coverage_50_lo"] > 0.5) | (coverage["coverage_50_hi"] < 0.5)
            | (coverage["coverage_90_lo"] > 0.9) | (coverage["coverage_90_hi"] < 0.9))
    return coverage[miss]


def _by_gate(ranks: pd.DataFrame, coverage: pd.DataFrame) -> list[str]:
    """A section comparing the quantities' verdicts and 90% coverage in the fits that passed the gate and in those
    that failed it (only where both kinds of fit exist): whether a flag comes from the hard-to-sample data sets."""
    passed = ranks["gate_passed"].astype(bool)
    if passed.all() or not passed.any():
        return []
    parts = {name: coverage_table(ranks[mask]).set_index("quantity") for name, mask in
             (("passed", passed), ("failed", ~passed))}
    table = pd.DataFrame({"quantity": coverage["quantity"]}).set_index("quantity")
    for name, part in parts.items():
        part = part.loc[table.index]
        table[f"90% coverage, gate {name}"] = [f"{c:.2f} (n = {n})" for c, n in
                                              zip(part["coverage_90"], part["n_datasets"])]
        table[f"rank p, gate {name}"] = part["rank_p_value"]
    n_passed = int(passed.groupby(ranks["dataset"]).first().sum())
    return ["## By the diagnostics gate", "",
            f"The same checks within the {n_passed} data sets whose fit passed "
            "the gate and within those whose fit failed it. Choosing data sets by their fit selects on the data, so "
            "neither subset need be uniform even for a correct model; a quantity flagged only among the failed fits "
            "points at the sampler, one flagged in both at the model.", "",
            table.reset_index().to_markdown(index=False, floatfmt=".3g"), ""]


def calibration_markdown(result: CalibrationResult, coverage: pd.DataFrame, spec_name: str) -> str:
    """calibration.md: settings, the verdict per quantity (calibrated or not), coverage, the data sets' fits."""
    d, s = result.datasets, result.settings
    fitted = d[d["status"] == "fitted"]
    n_ok, n_err = len(fitted), int((d["status"] == "error").sum())
    gate = int(fitted["gate_passed"].astype(bool).sum()) if n_ok else 0
    bad = coverage[~coverage["calibrated"].astype(bool)]
    sampling = s["fitted_spec"]["sampling"]
    same = s["fitted_spec"] == s["simulator_spec"]
    lines = [f"# Calibration of `{spec_name}`", "",
             f"{len(d)} simulated data sets on the real covariates ({n_ok} fitted, {n_err} failed); parameters drawn "
             f"from the {s['parameters_from']}; "
             + ("simulated by the fitted spec's own model" if same else
                f"simulated by another spec (`{s['simulator_spec']['name']}`: the fitted model differs on purpose)")
             + f". Each fit: {sampling['chains']} chains x {sampling['draws']} draws after {sampling['tune']} tuning "
             f"steps ({sampling['sampler']}); seed {s['seed']} (data set i samples with seed + i). Wall time of this "
             f"run {result.wall_s:.0f} s for {len(result.fitted)} data sets"
             + (f"; the fitted data sets' tasks took {fitted['seconds'].sum():.0f} s in all (median "
                f"{fitted['seconds'].median():.1f} s, of which sampling {fitted['sample_s'].median():.1f} s)"
                if n_ok else "") + ".", ""]
    if n_ok < MIN_DATASETS:
        lines += [f"> **Only {n_ok} data sets**: the rank test has little power below {MIN_DATASETS}; run more before "
                  "reading 'calibrated' as evidence.", ""]
    if len(bad):
        lines += [f"> **NOT CALIBRATED: {len(bad)} of {len(coverage)} quantities** ({_names(bad)}): their ranks are "
                  f"not uniform (rank test p below {FAMILY_ALPHA:g}/{len(coverage)}). Their intervals do not have the "
                  "coverage they claim under this model and sampler.", ""]
    else:
        lines += [f"**All {len(coverage)} quantities are calibrated**: no rank test rejects uniformity at a "
                  f"family-wise {FAMILY_ALPHA:g} (p >= {FAMILY_ALPHA:g}/{len(coverage)} for each).", ""]
    misses = _coverage_misses(coverage)
    lines += [f"Coverage: the {COVERAGE_PROB:.0%} binomial interval of the 50% or 90% intervals' coverage excludes the "
              f"nominal level for {len(misses)} quantities ({_names(misses)}; not adjusted for multiplicity).", ""]
    short = coverage[coverage["n_undefined"] > 0]
    if len(short):
        counts = ", ".join(f"`{q}` {n}" for q, n in zip(short["quantity"], short["n_undefined"]))
        lines += [f"Undefined in some data sets, {len(short)} quantities ({counts}, of {n_ok}): the truth or a draw "
                  "is NaN there, so the data set is not ranked for that quantity; this selects on the data, so read "
                  "those quantities' verdicts with care. (Infinite values, such as a compute multiplier "
                  "10**(x/beta) at a beta near zero, are ranked like any other.)", ""]
    if n_ok and gate < n_ok:
        lines += [f"Diagnostics: {n_ok - gate} of {n_ok} fits failed the gate (R-hat, ESS, divergences, E-BFMI); their "
                  "ranks are kept (dropping fits by their data would bias the ranks), so a flag can come from the "
                  "sampler as well as from the model. Divergent transitions in "
                  f"{int((fitted['divergences'] > 0).sum())} fits.", ""]
    if not same:
        lines += ["The simulator and the fitted model differ: non-uniform ranks here show what the misfit does to "
                  "the fitted model's intervals, not a fault of the sampler.", ""]
    if s["parameters_from"] != "prior":
        lines += ["Parameters come from a posterior, not from the fitted model's prior: ranks need not be uniform "
                  "even for a correct model (the prior is not the distribution the truth was drawn from); read the "
                  "coverage as frequentist coverage at parameter values like the fitted ones.", ""]
    table = coverage.copy()
    for tag in (50, 90):
        table[f"{tag}% coverage"] = [f"{c:.2f} [{lo:.2f}, {hi:.2f}]" for c, lo, hi in
                                     zip(table[f"coverage_{tag}"], table[f"coverage_{tag}_lo"], table[f"coverage_{tag}_hi"])]
    table["verdict"] = np.where(table["calibrated"], "calibrated", "NOT calibrated")
    lines += ["## Per quantity", "",
              f"Rank test: ArviZ's uniformity test of the PIT values (`pot_c`); `calibrated` when p >= "
              f"{FAMILY_ALPHA:g} / {len(coverage)} (Bonferroni). Band: whether the PIT-ECDF stays inside ArviZ's "
              f"simultaneous {PIT_BAND:.0%} band (not adjusted). Coverage: the share of data sets whose interval "
              f"holds the truth, with its {COVERAGE_PROB:.0%} Clopper-Pearson interval.", "",
              table[["quantity", "kind", "n_datasets", "50% coverage", "90% coverage", "rank_p_value",
                     f"inside_band_{round(PIT_BAND * 100)}", "mean_pit", "verdict"]].to_markdown(index=False,
                                                                                              floatfmt=".3g"), "",
              "## How to read it", "",
              "For each data set the truth is known; a calibrated posterior puts it at a uniformly random rank among "
              "its draws (Talts et al. 2018; Modrak et al. 2023), so the ECDF of those ranks (calibration.png) hugs "
              "the diagonal. Mean PIT below 0.5: the posterior tends to sit above the truth (overestimates); above "
              "0.5: below it. An ECDF difference shaped like a hill (a U-shaped rank histogram) means intervals too "
              "narrow; a valley means too wide.", ""]
    return "\n".join(lines + _by_gate(result.ranks, coverage))


def write_outputs(result: CalibrationResult, spec_name: str) -> list[Path]:
    """Write ranks.csv, coverage.csv, calibration.png and calibration.md into the run's folder."""
    out = result.out
    result.ranks.to_csv(out / "ranks.csv", index=False)
    result.datasets.to_csv(out / "datasets.csv", index=False)
    paths = [out / "ranks.csv", out / "datasets.csv"]
    if result.ranks.empty:
        (out / "calibration.md").write_text(f"# Calibration of `{spec_name}`\n\nNo data set was fitted.\n")
        return [*paths, out / "calibration.md"]
    coverage = coverage_table(result.ranks)
    coverage.to_csv(out / "coverage.csv", index=False)
    fig = calibration_figure(result.ranks, coverage)
    fig.savefig(out / "calibration.png", dpi=110)
    plt.close(fig)
    (out / "calibration.md").write_text(calibration_markdown(result, coverage, spec_name))
    return [*paths, out / "coverage.csv", out / "calibration.png", out / "calibration.md"]
