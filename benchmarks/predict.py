"""predict benchmark: the wall time a user waits for `bayes-sauce predict` on a saved fit, one model and 1,000, in
fresh processes (imports, reading the fit, building and compiling the predictive graph, the draws, the table),
medians over repeats. Optionally the same commands run by another source tree (``--baseline-src``, e.g. the code
before a change, extracted with ``git archive``), interleaved with this one's in every repeat so that both see the
same machine load. Every number is measured in this run. Beside them: the seconds a fresh process takes only to
import the prediction code (the floor of every command), and ``predict_models`` in one Python session that loaded
the fit once (a notebook, a script predicting many batches), first call and median of later calls.

Usage:
  .venv/bin/python benchmarks/predict.py results/hierarchical [--repeats 5] [--baseline-src DIR] [--out DIR]
  mkdir -p /tmp/before && git archive 522e3eb src | tar -x -C /tmp/before     # the code before --base-model
  .venv/bin/python benchmarks/predict.py results/hierarchical --baseline-src /tmp/before/src

Rows: ``one model`` and ``1,000 models`` use inputs every version reads (parameters, tokens, developer, date:
new families); ``one fine-tune`` and ``1,000 fine-tunes`` use ``--base-model`` / a ``base_model`` column (fine-tunes
of the fit's families by fitted and new fine-tuners), which only a version with that feature reads.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CLI = [sys.executable, "-m", "bayes_sauce.cli.main"]
ONE = ["--params", "70", "--tokens", "15000", "--developer", "Meta", "--date", "2025-02"]
ONE_FINETUNE = ["--base-model", "Qwen/Qwen2.5-7B", "--developer", "some-new-lab"]
N_MANY = 1000


def many_models(fit: Path, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """1,000 new families (compute, developer, date from the fit's rows, perturbed) and 1,000 fine-tunes of its
    families (by a fitted developer or one of 50 new labs)."""
    rows = pd.read_csv(fit / "models.csv")
    rng = np.random.default_rng(seed)
    pick = rows.sample(N_MANY, replace=True, random_state=seed).reset_index(drop=True)
    families = pd.DataFrame({"model": [f"m{i}" for i in range(N_MANY)],
                             "params_b": (pick["params_b"] * rng.uniform(0.8, 1.25, N_MANY)).round(3),
                             "tokens_b": pick["tokens_b"], "developer": pick["developer"],
                             "release_month": pick["release_month"]})
    # Fine-tunes of the families with their root in the data and two or more models, by a fitted developer or new.
    size = rows.groupby("family")["model_id"].transform("size")
    tuned = rows[rows["family_root_in_data"].astype(bool) & (size >= 2)].sample(N_MANY, replace=True, random_state=seed)
    tuners = np.where(rng.random(N_MANY) < 0.5, tuned["developer"], [f"new-lab-{i % 50}" for i in range(N_MANY)])
    finetunes = pd.DataFrame({"model": [f"f{i}" for i in range(N_MANY)], "base_model": tuned["family"].to_numpy(),
                              "developer": tuners})
    return families, finetunes


def wall(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds a fresh process takes to run ``command``, and the CPU seconds it used (user + system: on a
    machine shared with other jobs the wall time grows with their load, the CPU time far less)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def in_session(fit: Path, frames: dict[str, pd.DataFrame], repeats: int) -> pd.DataFrame:
    """Seconds per ``predict_models`` call in this process, the fit loaded once: the first call of each row (it builds
    the fit's design) and the median of ``repeats`` later ones."""
    from bayes_sauce.fit.fit import Fit
    from bayes_sauce.predictive.predict import predict_models

    start = time.perf_counter()
    loaded = Fit.load(fit, lazy=True)
    load_s = time.perf_counter() - start
    rows = []
    for name, frame in frames.items():
        seconds = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            predict_models(loaded, frame)
            seconds.append(time.perf_counter() - start)
        rows.append({"row": name, "first_call_s": seconds[0], "later_median_s": statistics.median(seconds[1:]),
                     "repeats": repeats})
    return pd.DataFrame(rows).assign(fit_load_s=load_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fit", type=Path, help="a saved fit folder (e.g. results/hierarchical)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help="another checkout's src/ folder, timed on the rows it can run")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="predict-bench-"))
    families, finetunes = many_models(args.fit)
    families.to_csv(work / "families.csv", index=False)
    finetunes.to_csv(work / "finetunes.csv", index=False)
    base = [*CLI, "predict", str(args.fit), "--out", str(work / "out.csv")]
    rows = {"one model": (ONE, True), f"{N_MANY:,} models": (["--csv", str(work / "families.csv")], True),
            "one fine-tune": (ONE_FINETUNE, False), f"{N_MANY:,} fine-tunes": (["--csv", str(work / "finetunes.csv")], False)}
    versions = {"this tree": {**os.environ}}
    if args.baseline_src:
        versions["baseline"] = {**os.environ, "PYTHONPATH": str(args.baseline_src.resolve())}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    wall([*base, *ONE], versions["this tree"])  # warm the file cache and the compile caches once
    for _ in range(args.repeats):
        for name, (extra, old_too) in rows.items():
            for version, env in versions.items():
                if version == "baseline" and not old_too:
                    continue
                times.setdefault((name, version), []).append(wall([*base, *extra], env))
    table = pd.DataFrame([{"row": name, "version": version,
                           "wall_median_s": statistics.median(w for w, _ in t), "wall_min_s": min(w for w, _ in t),
                           "cpu_median_s": statistics.median(c for _, c in t), "cpu_min_s": min(c for _, c in t),
                           "repeats": len(t)} for (name, version), t in times.items()])
    imports = [wall([sys.executable, "-c", "import bayes_sauce.predictive.predict"], versions["this tree"])
               for _ in range(args.repeats)]
    session = in_session(args.fit, {
        "one model": pd.DataFrame({"params_b": [70.0], "tokens_b": [15000.0], "developer": ["Meta"],
                                   "release_month": ["2025-02"]}),
        f"{N_MANY:,} models": families,
        "one fine-tune": pd.DataFrame({"base_model": ["Qwen/Qwen2.5-7B"], "developer": ["some-new-lab"]}),
        f"{N_MANY:,} fine-tunes": finetunes}, args.repeats)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    text = (f"predict on {args.fit} ({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {load} at the end); fresh processes, {args.repeats} repeats, versions interleaved; cpu = "
            f"user + system seconds of the process\n\n" + table.to_markdown(index=False, floatfmt=".2f") +
            f"\n\nImporting the prediction code alone (a fresh process, this tree): median "
            f"{statistics.median(w for w, _ in imports):.2f} s wall.\n\nOne Python session, the fit loaded once "
            f"({session['fit_load_s'].iloc[0]:.2f} s): seconds per `predict_models` call\n\n" +
            session.drop(columns="fit_load_s").to_markdown(index=False, floatfmt=".2f"))
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "predict.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
