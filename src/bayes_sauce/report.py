"""The report of a fit: headline.csv, per-developer and frontier tables, figures with their CSVs, report.md.

Reads a fit folder written by ``bayes-sauce fit`` (posterior.nc, diagnostics.json, models.csv),
computes every headline quantity per draw (:mod:`bayes_sauce.posterior`), compares each with the
paper's value and with the paper's OLS fitted to the same rows, and writes the results beside the
fit, with the sentences of :mod:`bayes_sauce.differences` on where the posterior and the paper differ.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit

from bayes_sauce import decompose, headline, plots, posterior
from bayes_sauce.data import BASE_GROUP, CHANCE_FLOOR, N_QUESTIONS, PERIOD_COLUMN, Dataset
from bayes_sauce.differences import Comparison, disagreements, ppc_note
from bayes_sauce.paper import compare, comparison_markdown, format_value, load_paper_numbers
from bayes_sauce.predict import SAMPLE_DIMS, fitted_spec, predict
from bayes_sauce.replication import Replication, replicate
from bayes_sauce.sampling import load_fit
from bayes_sauce.sensitivity import psense_markdown, psense_table
from bayes_sauce.spec import OLS_SPEC, Spec, SpecError, merge, read_spec_dict, spec_from_dict
from bayes_sauce.validation import prediction_section

HEADLINE_COLUMNS = ["quantity", "median", "lo", "hi", "paper", "unit", "definition"]
PREDICTIVE_SAMPLES = 200
PREDICTIVE_SEED = 20260207
# Printed on the terminal after a run, in this order (those the fit has).
SUMMARY_IDS = (
    "compute_slope", "shapley_compute", "shapley_progress", "shapley_developer", "shapley_model",
    "progress_multiplier_last_vs_first", "progress_halving_time_months", "within_firm_spread_p90_p10",
    "within_firm_spread_p75_p25", "frontier_compute_share__Llama-2-70B__DeepSeek-V3",
    "frontier_compute_share__Llama-2-70B__GPT-4.5", "developer_multiplier__Nvidia", "developer_multiplier__Microsoft",
    "threshold_compute_fall_all", "threshold_compute_fall_all_fitted",
)


class ReportError(ValueError):
    """A fit folder cannot be reported on; the message says what is missing."""


@dataclass(frozen=True)
class FitFolder:
    """A fit as written by ``bayes-sauce fit``."""

    path: Path
    tree: xr.DataTree
    models: pd.DataFrame  # the fitted rows, in the posterior's model order
    diagnostics: dict[str, Any]
    spec: Spec
    prob: float


def read_fit(path: Path) -> FitFolder:
    """Load posterior.nc, models.csv and diagnostics.json, checking that rows and posterior line up."""
    files = {name: path / name for name in ("posterior.nc", "models.csv", "diagnostics.json")}
    missing = [str(p) for p in files.values() if not p.exists()]
    if missing:
        raise ReportError(f"{path}: not a complete fit folder, missing {missing}; (re)fit with `bayes-sauce fit --out {path}`")
    tree = load_fit(files["posterior.nc"])
    models = pd.read_csv(files["models.csv"], dtype={c: str for c in ("model_id", "developer", "release_month",
                                                                      "release_quarter", "cohort")})
    if models["model_id"].tolist() != [str(m) for m in tree.posterior["model"].values]:
        raise ReportError(f"{files['models.csv']}: rows do not match the posterior's models (refit to regenerate both)")
    return FitFolder(path=path, tree=tree, models=models, diagnostics=json.loads(files["diagnostics.json"].read_text()),
                     spec=fitted_spec(tree), prob=float(tree.attrs["interval_prob"]))


def paper_reference(spec: Spec) -> pd.DataFrame:
    """The paper's numbers to compare a fit with: the main regression's (MATH's for that outcome), with the
    paper's Shapley shares for the same time granularity where it published them."""
    if spec.data.outcome != "mmlu_pro":
        return load_paper_numbers("ols_math")
    numbers = load_paper_numbers("ols")
    if spec.data.time != "cohort":
        same_time = load_paper_numbers(f"ols_{spec.data.time}")
        numbers = pd.concat([same_time, numbers.drop(same_time.index, errors="ignore")])
    return numbers


def ols_reference(fit: FitFolder) -> Replication | None:
    """The paper's OLS (same outcome and time) on the fitted rows; None where it cannot be fitted (no base group)."""
    raw = merge(read_spec_dict(OLS_SPEC), {"data": {"outcome": fit.spec.data.outcome, "time": fit.spec.data.time}})
    spec = spec_from_dict(raw, str(OLS_SPEC))
    try:
        return replicate(spec, Dataset(models=fit.models, source=str(fit.path / "models.csv")), str(OLS_SPEC),
                         replicates=0, progress=False, level=fit.prob)
    except SpecError:
        return None


def _draws_frame(quantities: dict[str, headline.Quantity], ids: list[str]) -> pd.DataFrame:
    """Draws of some quantities as columns (chain, draw rows)."""
    return xr.Dataset({i: quantities[i].value for i in ids}).to_dataframe()[ids].reset_index()


def _ecdf_band(scores: np.ndarray, grid: np.ndarray, prob: float, prefix: str) -> pd.DataFrame:
    """Median and interval over replicated datasets (rows of ``scores``) of their ECDF on ``grid``."""
    ecdf = (scores[:, :, None] <= grid).mean(axis=1)
    q = np.quantile(ecdf, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    return pd.DataFrame({f"{prefix}_lo": q[0], f"{prefix}_median": q[1], f"{prefix}_hi": q[2]})


def _sample_rows(draws: xr.DataArray, n: int) -> np.ndarray:
    """``n`` posterior draws (chosen at random, seeded) of a (chain, draw, model) array, as (n, model)."""
    stacked = draws.stack(sample=SAMPLE_DIMS).transpose("sample", "model").values
    return stacked[np.random.default_rng(PREDICTIVE_SEED).choice(len(stacked), min(n, len(stacked)), replace=False)]


def ppc_table(fit: FitFolder) -> pd.DataFrame:
    """Observed ECDF of scores and the ECDF bands of replicated datasets: new model effects (each model
    re-drawn as a new model with its compute, period and developer, ``predict``) and each model's own
    effect (the saved posterior predictive)."""
    outcome = fit.spec.data.outcome
    floor = CHANCE_FLOOR[outcome]
    observed = fit.models[outcome].to_numpy(dtype=float)
    rows = pd.DataFrame({"log10_flops": fit.models["log10_flops"], "developer": fit.models["developer"],
                         "developer_group": fit.models["developer_group"],
                         "period": fit.models[PERIOD_COLUMN[fit.spec.data.time]].astype(str),
                         "is_closed": ~fit.models["is_leaderboard"].astype(bool)})
    saved = fit.tree.posterior_predictive
    own = saved["k"] / N_QUESTIONS[outcome] if "k" in saved else floor + (1 - floor) * expit(saved["y"])
    fresh = predict(fit.tree, rows, PREDICTIVE_SEED)["score"].rename(new_model="model")
    fresh, own = _sample_rows(fresh, PREDICTIVE_SAMPLES), _sample_rows(own, PREDICTIVE_SAMPLES)
    grid = np.linspace(min(observed.min(), fresh.min()), max(observed.max(), fresh.max()), 200)
    return pd.concat([pd.DataFrame({"score": grid, "observed": (observed[:, None] <= grid).mean(axis=0)}),
                      _ecdf_band(fresh, grid, fit.prob, "fresh"), _ecdf_band(own, grid, fit.prob, "own")], axis=1)


def shapley_table(table: pd.DataFrame, ols: Replication | None) -> pd.DataFrame:
    """Posterior Shapley shares beside the paper's and the paper's OLS decomposed one regressor per component."""
    rows = table.set_index("quantity")
    names = [n for n in headline.SHARE_NAMES.values() if f"shapley_{n}" in rows.index]
    out = rows.loc[[f"shapley_{n}" for n in names], ["median", "lo", "hi", "paper"]].reset_index(drop=True)
    out.insert(0, "component", names)
    if ols is not None:
        method = decompose.component_shapley(ols.components).to_series().rename(headline.SHARE_NAMES)
        out["ols_component_method"] = method.reindex(names).to_numpy()
    else:
        out["ols_component_method"] = np.nan
    return out


def developer_multiplier_table(table: pd.DataFrame, fit: FitFolder, ols: Replication | None) -> pd.DataFrame:
    """Group multipliers vs Other-Small: posterior, the paper's OLS on the same rows (delta-method interval), paper."""
    rows = table.set_index("quantity")
    prefix = "developer_multiplier__"
    ids = [q for q in rows.index if q.startswith(prefix)]
    out = rows.loc[ids, ["median", "lo", "hi", "paper"]].reset_index()
    out.insert(0, "group", [q.removeprefix(prefix) for q in ids])
    counts = fit.models["developer_group"].map(headline.safe_label).value_counts()
    out.insert(1, "n_models", counts.reindex(out["group"]).fillna(0).astype(int).to_numpy())
    ols_rows = (ols.headline.set_index("quantity") if ols is not None else pd.DataFrame(columns=["median", "lo", "hi"]))
    ols_rows = ols_rows.reindex(ids)
    out["ols"], out["ols_lo"], out["ols_hi"] = (ols_rows[c].to_numpy(dtype=float) for c in ("median", "lo", "hi"))
    return out.drop(columns="quantity").sort_values("median", ascending=False).reset_index(drop=True)


FRONTIER_ID = re.compile(r"frontier_(?P<component>[a-z]+)_share__(?P<start>.+)__(?P<end>.+)")


def frontier_pairs_table(table: pd.DataFrame) -> pd.DataFrame:
    """The change-share rows of the headline table, one row per (pair, component)."""
    rows = []
    for r in table.itertuples(index=False):
        if m := FRONTIER_ID.fullmatch(r.quantity):
            rows.append({"pair": f"{m['start']} -> {m['end']}", "component": m["component"],
                         "median": r.median, "lo": r.lo, "hi": r.hi, "paper": r.paper})
    return pd.DataFrame(rows, columns=["pair", "component", "median", "lo", "hi", "paper"])


@dataclass(frozen=True)
class Report:
    """Everything the report writes: tables by file stem, figures by file stem (each has a table), markdown."""

    fit: FitFolder
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Any]
    notes: list[str]
    markdown: str


def build_tables(fit: FitFolder, ols: Replication | None) -> dict[str, pd.DataFrame]:
    """Every table of the report, by the stem of its CSV."""
    quantities = {q.id: q for q in posterior.quantities(fit.tree, fit.models)}
    table = posterior.summarise(list(quantities.values()), paper_reference(fit.spec), fit.prob)[HEADLINE_COLUMNS]
    outcome = fit.spec.data.outcome
    x = fit.models["log10_flops"]
    spreads = [q for q in ("within_firm_spread_p90_p10", "within_firm_spread_p75_p25") if q in quantities]
    return {
        "headline": table,
        "developers": posterior.developer_table(fit.tree, fit.models, fit.prob),
        "shapley": shapley_table(table, ols),
        "developer_multipliers": developer_multiplier_table(table, fit, ols),
        "within_firm_spread": _draws_frame(quantities, spreads) if spreads else pd.DataFrame(),
        "frontier_pairs": frontier_pairs_table(table),
        "frontier_running": posterior.frontier_table(posterior.components(fit.tree), fit.models, outcome, fit.prob),
        "scaling_curve": posterior.scaling_curve(fit.tree, np.linspace(x.min() - 0.25, x.max() + 0.25, 100), fit.prob),
        "ppc": ppc_table(fit),
        "psense": psense_table(fit.tree, list(quantities.values())),  # power-scaling sensitivity (sensitivity.py)
    }


def draw_figures(tables: dict[str, pd.DataFrame], fit: FitFolder) -> dict[str, Any]:
    """One figure per table that has one (same stem); tables without rows get no figure."""
    paper = tables["headline"].set_index("quantity")["paper"]
    makers = {
        "shapley": lambda t: plots.shapley_bars(t, fit.prob),
        "developer_multipliers": lambda t: plots.developer_forest(t, fit.prob, BASE_GROUP),
        "within_firm_spread": lambda t: plots.spread_posterior(t, paper.to_dict()),
        "frontier_pairs": lambda t: plots.frontier_pairs(t, fit.prob),
        "frontier_running": lambda t: plots.frontier_running(t, fit.prob),
        "scaling_curve": lambda t: plots.scaling_curve(t, fit.models, fit.spec.data.outcome,
                                                       PERIOD_COLUMN[fit.spec.data.time], fit.prob),
        "ppc": lambda t: plots.ppc_ecdf(t, fit.prob),
    }
    return {name: make(tables[name]) for name, make in makers.items() if len(tables[name])}


DEFINITIONS = """\
- **Intervals.** Every interval is a {pct} equal-tailed credible interval: the {lo:g}th and {hi:g}th percentiles of
  the posterior draws (empirical quantiles, no interpolation); "median" is the posterior median.
- **Components** of each model's latent logit eta (of the chance-normalised score): compute `beta * (log10 FLOPs - 18)`
  (x in log units of FLOPs/1e18, the paper's unit), time (the period effect vs the first period), developer (the
  developer's effect vs {base}; with developer pooling every raw developer has its own effect), model (the
  model-specific effect). The intercept is not a component.
- **Variance shares** (`shapley_*`): per draw, an exact Shapley-Owen decomposition of the variance of eta over
  models among {{compute, time, developer}}; a coalition's value is the R2 of eta regressed on its component vectors
  (one regressor per component), model-specific = 1 - R2. Using eta rather than the observed score covers models at
  the chance floor. `finite_population_sd__*` is the SD of each component over models (no regression).
- **Frontier change shares** (`frontier_*_share__A__B`): each component's share of the gain in eta from model A to B.
  The intercept and the origin of x cancel, so these are identified given the model's split of eta into
  components. **Level shares** (`level_compute_share__*`): compute over the sum of a model's components; they depend
  on the arbitrary origin of x (1e18 FLOPs), the base period and the base group, so they are not identified and are
  shown only beside the paper's.
- **Within-firm spread**: `10**((q90(e) - q10(e)) / beta)` over the model-specific effects of the major developers'
  models (and q75/q25), per draw; per developer for majors with at least {min_firm} models.
- **Developer multipliers**: `10**(effect / beta)`, the compute factor worth the same logit gain; vs {base} for the
  paper's groups (headline.csv, developer_multipliers.csv) and, in developers.csv, for every raw developer vs
  {base} and vs the population (the unweighted mean of all developers' effects). P(most efficient) is the share of
  draws in which a developer has the largest multiplier, among the majors and among developers with at least
  {min_rank} models.
- **Shared progress**: `10**(tau / beta)` per period vs the first; the halving time is the months between the
  midpoints of the first and last periods times log 2 / log(last-period multiplier), i.e. constant exponential
  progress between them.
- **Threshold fall**: the minimum compute reaching {threshold:.0%} normalised score, cheapest in the first month any
  model reaches it over cheapest by the last month; on observed scores (descriptive, as the paper) and on fitted
  scores (eta without the model-specific effect), per draw."""


def _figure_lines(figures: dict[str, Any]) -> list[str]:
    captions = {
        "shapley": "Variance shares with intervals beside the paper's Figure 1 bars",
        "developer_multipliers": "Developer-group multipliers vs Other-Small: posterior vs the paper's OLS",
        "within_firm_spread": "Posterior of the within-firm spread, the paper's value marked",
        "frontier_pairs": "Frontier decomposition between the paper's pairs (and first -> last frontier model)",
        "frontier_running": "Components' shares along the running-best frontier by quarter",
        "scaling_curve": "Scaling curve on the score scale with bands per period, and the data (points: models.csv)",
        "ppc": "Posterior predictive check: ECDF of scores, replicated with fresh and with own model effects",
    }
    return [f"- {captions[name]}: `{name}.png` (data: `{name}.csv`)\n\n  ![{name}]({name}.png)" for name in figures]


def markdown(fit: FitFolder, tables: dict[str, pd.DataFrame], figures: dict[str, Any], notes: list[str]) -> str:
    """report.md: gate status first, then the headline comparison, the disagreements, definitions and figures."""
    d, attrs, spec = fit.diagnostics, fit.tree.attrs, fit.spec
    lines = [f"# Bayesian report: {spec.name}", ""]
    if not d["passed"]:
        lines += [f"> **WARNING: this fit FAILED the diagnostics gate** ({'; '.join(d['failures'])}). "
                  "Its numbers are not reliable; refit with more draws or tuning before using them.", ""]
    lines += [
        f"{spec.description}. {len(fit.models)} models from `{attrs['data_source']}` (sha256 {attrs['data_sha256'][:12]}); "
        f"{attrs['chains']} chains x {attrs['draws']} draws after {attrs['tune']} tuning steps ({attrs['sampler']}, "
        f"seed {attrs['seed']}). Diagnostics gate: {'passed' if d['passed'] else 'FAILED'} (max R-hat "
        f"{d['max_rhat']:.3f}, min bulk/tail ESS {d['min_ess_bulk']:.0f}/{d['min_ess_tail']:.0f}, "
        f"{d['divergences']} divergences).",
        "",
        f"## Headline numbers beside the paper ({fit.prob:.0%} equal-tailed intervals; definitions in headline.csv)",
        comparison_markdown(compare(tables["headline"], paper_reference(spec)), fit.prob),
        "",
        "## Where the posterior and the paper differ",
        *[f"- {n}" for n in notes],
        "",
        "## Model checks",
        ppc_note(tables["ppc"], fit),
        "",
        *prediction_section(fit.path.parent),
        "",
        "## Prior and likelihood sensitivity (power-scaling)",
        psense_markdown(tables["psense"]),
        "",
        "## Definitions",
        DEFINITIONS.format(pct=f"{fit.prob:.0%}", lo=50 * (1 - fit.prob), hi=50 * (1 + fit.prob), base=BASE_GROUP,
                           min_firm=headline.MIN_MODELS_PER_FIRM, min_rank=posterior.MIN_MODELS_TO_RANK,
                           threshold=headline.THRESHOLD_NORM_SCORE),
        "",
        "## Figures",
        *_figure_lines(figures),
        "",
        "## Files",
        "headline.csv (every quantity: median, lo, hi, paper, unit, definition), developers.csv (every raw developer), "
        "psense.csv (power-scaling sensitivity of every parameter and per-draw quantity) and one CSV per figure, named as the figure.",
    ]
    return "\n".join(lines) + "\n"


def build_report(path: Path) -> Report:
    """Compute every table, figure and sentence of the report for a fit folder."""
    fit = read_fit(path)
    ols = ols_reference(fit)
    tables = build_tables(fit, ols)
    figures = draw_figures(tables, fit)
    notes = disagreements(tables, fit, ols)
    return Report(fit=fit, tables=tables, figures=figures, notes=notes, markdown=markdown(fit, tables, figures, notes))


def write_report(report: Report) -> list[Path]:
    """Write every table, figure and report.md into the fit folder; return the paths."""
    out = report.fit.path
    paths = []
    for name, table in report.tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
        paths.append(out / f"{name}.csv")
    for name, fig in report.figures.items():
        fig.savefig(out / f"{name}.png", dpi=130)
        plots.plt.close(fig)
        paths.append(out / f"{name}.png")
    (out / "report.md").write_text(report.markdown)
    return [*paths, out / "report.md"]


def terminal_summary(report: Report) -> str:
    """The headline numbers as median [interval] vs the paper, and the gate status, for the terminal."""
    c = Comparison(report.tables, report.fit, None)
    lines = [f"Headline numbers ({report.fit.prob:.0%} intervals) vs the paper, fit '{report.fit.spec.name}':"]
    for q in (q for q in SUMMARY_IDS if q in c.rows.index):
        paper = format_value(c.rows.loc[q, "paper"], c.rows.loc[q, "unit"]) or "-"
        lines.append(f"  {q:<50} {c.show(q):<34} paper {paper}{'  (outside)' if c.outside[q] else ''}")
    d = report.fit.diagnostics
    lines.append("Diagnostics gate: PASSED" if d["passed"] else
                 f"!! Diagnostics gate FAILED: {'; '.join(d['failures'])}. These numbers are not reliable.")
    return "\n".join(lines)
