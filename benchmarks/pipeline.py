"""Pipeline benchmark: where the time of `bayes-sauce run` goes, stage by stage, and how the costs
grow with draws and with models. Medians over repeats; every number measured in this run.

Usage: .venv/bin/python benchmarks/pipeline.py [--repeats 3] [--out benchmarks/results]
       [--draw-factors 1,2,5,10] [--model-factors 1,2,5,10] [--fit-factors 0.25,0.5,1,2]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_sauce import posterior, report
from bayes_sauce.data import N_QUESTIONS, Dataset, load
from bayes_sauce.model import build_model, prepare
from bayes_sauce.replication import replicate
from bayes_sauce.sampling import SamplerSettings, diagnose, fit_spec, run_nuts, save_fit
from bayes_sauce.spec import DEFAULT_SPEC, OLS_SPEC, load_spec

warnings.filterwarnings("ignore")
SPEC = load_spec(DEFAULT_SPEC)
SETTINGS = SamplerSettings(draws=1000, tune=1000, chains=4, seed=20260207, progress=False)
# Hyper-parameters for simulated data at other sizes (plausible values, not estimates).
SIM_TRUTH = {"alpha": -1.2, "beta": 0.8, "sigma_developer": 0.8, "sigma_model": 0.7,
             "period_offset": np.array([-0.8, -0.1]), "pool_offset": np.array([-0.4, 0.3, 0.3])}


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def import_seconds() -> float:
    """A fresh interpreter importing what `bayes-sauce run` needs."""
    code = "import bayes_sauce.cli, bayes_sauce.report, pymc, nutpie, arviz"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def stage_times(out: Path) -> dict[str, float]:
    """One pass of the main job's stages on the shipped data, each timed on its own."""
    t = {"import": import_seconds()}
    t["load"], dataset = timed(lambda: load(filters=SPEC.data.filters.to_filters()))
    ols = load_spec(OLS_SPEC)
    t["replicate"], _ = timed(lambda: replicate(ols, load(filters=ols.data.filters.to_filters()), replicates=200))
    total, result = timed(lambda: fit_spec(SPEC, dataset, SETTINGS, DEFAULT_SPEC.read_text()))
    t["compile"], t["sample"] = result.timings.compile_s, result.timings.sample_s
    t["loglik_prior_predictive"] = result.timings.extras_s
    t["build_diagnose_loo"] = total - result.timings.total_s
    tree, data = result.tree, result.model_data
    t["save"], _ = timed(lambda: save_fit(tree, out, result.diagnostics))
    data.models.to_csv(out / "models.csv", index=False)
    t["decompose"], _ = timed(lambda: posterior.summarise(posterior.quantities(tree, data.models),
                                                          report.paper_reference(SPEC), 0.9))
    t["report"], _ = timed(lambda: report.write_report(report.build_report(out)))
    return t


def _build(dataset: Dataset):
    data, _ = prepare(SPEC, dataset)
    return data, build_model(SPEC, data)


def tile_draws(tree: xr.DataTree, factor: int) -> xr.DataTree:
    """A posterior with `factor` times the draws (copies), for timing only."""
    post = tree.posterior.to_dataset()
    big = xr.concat([post] * factor, dim="draw").assign_coords(draw=np.arange(post.sizes["draw"] * factor))
    out = tree.copy()
    out["posterior"] = xr.DataTree(big)
    return out


def tile_models(tree: xr.DataTree, models: pd.DataFrame, factor: int) -> tuple[xr.DataTree, pd.DataFrame]:
    """`factor` copies of every model (new ids, same covariates and effects), for timing only."""
    ids = [m if k == 0 else f"{m}__copy{k}" for k in range(factor) for m in models["model_id"]]
    big_models = pd.concat([models] * factor, ignore_index=True).assign(model_id=ids)
    out = tree.copy()
    for group in ("posterior", "constant_data"):
        ds = out[group].to_dataset()
        per_model = [v for v in ds.data_vars if "model" in ds[v].dims]
        tiled = xr.concat([ds[per_model]] * factor, dim="model").assign_coords(model=ids)
        out[group] = xr.DataTree(xr.merge([ds.drop_vars(per_model).drop_dims("model"), tiled]))
    return out, big_models


def simulated_dataset(dataset: Dataset, factor: float, seed: int) -> Dataset:
    """`factor` times the real covariates (subsampled or repeated) with scores simulated from the model."""
    rng = np.random.default_rng(seed)
    n = int(round(len(dataset.models) * factor))
    rows = dataset.models.iloc[np.sort(rng.choice(len(dataset.models), n, replace=factor > 1))].reset_index(drop=True)
    rows["model_id"] = [f"sim{i}" for i in range(n)]
    data, _ = prepare(SPEC, Dataset(models=rows))
    model = build_model(SPEC, data)
    sizes = {v.name: int(np.prod(v.shape.eval())) for v in model.free_RVs}
    truth = {k: np.resize(v, sizes[k]) if np.ndim(v) else v for k, v in SIM_TRUTH.items()}
    k = pm.draw(pm.do(model, truth)["k"], random_seed=seed)
    return Dataset(models=rows.assign(mmlu_pro=k / N_QUESTIONS["mmlu_pro"]), source="<simulated>", sha256="sim")


def median_table(rows: list[dict], key: str) -> pd.DataFrame:
    return pd.DataFrame(rows).groupby(key).median(numeric_only=True).reset_index()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draw-factors", default="1,2,5,10")
    parser.add_argument("--model-factors", default="1,2,5,10")
    parser.add_argument("--fit-factors", default="0.25,0.5,1,2")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sections = []

    with tempfile.TemporaryDirectory() as tmp:
        stages = []
        for r in range(args.repeats):
            stages.append(stage_times(Path(tmp)))
            print(f"stages repeat {r + 1}/{args.repeats}: " + ", ".join(f"{k} {v:.1f}s" for k, v in stages[-1].items()),
                  flush=True)
        stage = pd.DataFrame(stages).median().rename("median_s").to_frame()
        stage.loc["total"] = stage["median_s"].sum()
        sections.append(("`bayes-sauce run` by stage (seconds, median)", stage))

        fit = report.read_fit(Path(tmp))
        rows = []
        for f in map(int, args.draw_factors.split(",")):
            big = tile_draws(fit.tree, f)
            for _ in range(args.repeats):
                seconds, _ = timed(lambda: posterior.quantities(big, fit.models))
                rows.append({"draws": 4000 * f, "decompose_s": seconds})
        draws = median_table(rows, "draws")
        draws["s_per_1k_draws"] = draws["decompose_s"] / (draws["draws"] / 1000)
        sections.append(("Decomposition cost vs draws (809 models)", draws))

        rows = []
        for f in map(int, args.model_factors.split(",")):
            big, big_models = tile_models(fit.tree, fit.models, f)
            for _ in range(args.repeats):
                seconds, _ = timed(lambda: posterior.quantities(big, big_models))
                rows.append({"models": len(big_models), "decompose_s": seconds})
        models = median_table(rows, "models")
        models["s_per_1k_models"] = models["decompose_s"] / (models["models"] / 1000)
        sections.append(("Decomposition cost vs models (4,000 draws)", models))

    real = load(filters=SPEC.data.filters.to_filters())
    rows = []
    for f in map(float, args.fit_factors.split(",")):
        dataset = simulated_dataset(real, f, seed=1)
        for _ in range(args.repeats):
            data, model = _build(dataset)
            tree, timings = run_nuts(model, SETTINGS)
            diag = diagnose(tree)
            rows.append({"models": len(dataset.models), "compile_s": timings.compile_s, "sample_s": timings.sample_s,
                         "min_ess_bulk": diag["min_ess_bulk"], "divergences": diag["divergences"]})
            print(f"fit {len(dataset.models)} models: compile {timings.compile_s:.1f}s sample {timings.sample_s:.1f}s",
                  flush=True)
    fits = median_table(rows, "models")
    fits["sample_s_per_100_models"] = fits["sample_s"] / (fits["models"] / 100)
    sections.append(("Fit time vs number of models (simulated scores on real covariates)", fits))

    machine = f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, Python {platform.python_version()}"
    text = f"Pipeline benchmark, medians of {args.repeats} repeats; machine: {machine}\n"
    for title, table in sections:
        text += f"\n### {title}\n\n{table.to_markdown(floatfmt='.3g')}\n"
    (args.out / "pipeline.md").write_text(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
