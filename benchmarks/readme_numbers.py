"""Re-measure the README's timing and example numbers and rewrite them in place.

Each number the README reports from a run sits between ``<!-- numbers:NAME ... -->`` and ``<!-- /numbers:NAME -->``;
this script makes fresh clones of the committed tree, runs what each block describes and replaces the blocks:

- ``timing``: ``make setup`` with an empty uv cache, ``bayes-sauce run`` on a new folder (its stages, the fit's
  compile and sampling, the report's fold fits), ``run`` again (reusing the fit), ``predict`` of one model,
  ``make test``;
- ``example-timing``, ``example-cohorts``, ``example-predict``: the worked example's bash block, as the README
  gives it, in a second fresh clone after ``make setup``.

    make readme-numbers                                              # all of it: set-up, two runs, tests, example
    .venv/bin/python benchmarks/readme_numbers.py --quick --dry-run  # the machinery at toy size; README untouched
    # (--only example --quick --dry-run: 1.5 min here on 2026-12-07, the uv cache warm)

Commit first: the clones hold HEAD, not the working tree. ``--dry-run`` prints the new blocks instead of writing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- numbers:(?P<name>[\w-]+)(?:[^>]*)-->)(?P<body>.*?)(<!-- /numbers:(?P=name) -->)", re.S)
QUICK = ["--draws", "100", "--tune", "100", "--chains", "2", "--folds", "2", "--bootstrap", "20"]
PREDICT = ["--params", "8", "--tokens", "15000", "--developer", "Meta", "--date", "2024-06"]


def blocks(text: str) -> dict[str, str]:
    """The README's marked blocks: name -> current text."""
    return {m["name"]: m["body"] for m in BLOCK.finditer(text)}


def rewrite(text: str, new: dict[str, str]) -> str:
    """The text with each named block's body replaced (markers kept); a name the text lacks is an error."""
    missing = set(new) - set(blocks(text))
    if missing:
        raise KeyError(f"README has no block(s) {sorted(missing)}")
    return BLOCK.sub(lambda m: m.group(1) + new.get(m["name"], m["body"]) + m.group(4), text)


def timed(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, list[tuple[float, str]]]:
    """Run a command, echoing its output; (seconds, [(seconds since start, line)]). A failure stops the script."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    for line in process.stdout:
        lines.append((time.perf_counter() - start, line.rstrip("\n")))
        print(line, end="", flush=True)
    if process.wait():
        sys.exit(f"readme_numbers: {command} failed (exit {process.returncode}) in {cwd}")
    return time.perf_counter() - start, lines


def clone(into: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(into)], check=True)
    return into


def at(lines: list[tuple[float, str]], pattern: str) -> float:
    """When the first line matching ``pattern`` came."""
    return next(t for t, line in lines if re.search(pattern, line))


def fit_times(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds of the fit's stages from its `Time:` line: compile, pilot (the run that chooses the
    parameterisation) and sampling; a stage the line lacks counts 0."""
    line = next(line for _, line in lines if line.startswith("Time: compile"))
    return {name: float(found[1]) if (found := re.search(rf"{name} ([\d.]+) s", line)) else 0.0
            for name in ("compile", "pilot", "sampling")}


def run_stages(lines: list[tuple[float, str]], total: float) -> dict[str, float]:
    """Seconds per stage of `bayes-sauce run`, from when its `== [k/N] name ==` lines came, by the stage's name."""
    marks = [(t, found["name"]) for t, line in lines if (found := re.match(r"== \[\d+/\d+\] (?P<name>.+?) ==$", line))]
    ends = [t for t, _ in marks[1:]] + [total]
    return {name: end - start for (start, name), end in zip(marks, ends, strict=True)}


def stage(stages: dict[str, float], *prefixes: str) -> float:
    """Seconds of the stages whose names start with any of ``prefixes``."""
    return sum(seconds for name, seconds in stages.items() if name.startswith(prefixes))


def seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 120 else f"{value // 60:.0f} min {value % 60:.0f} s"


def measure_timing(work: Path, quick: bool, tests: bool) -> str:
    """The `timing` block: set-up, run, run again, predict, tests, in a fresh clone."""
    repo = clone(work / "clone")
    env = {**os.environ, "UV_CACHE_DIR": str(work / "uv-cache")}  # empty: the download and install timed too
    setup, _ = timed(["make", "setup"], repo, env)
    extra = QUICK if quick else []
    total, lines = timed([".venv/bin/bayes-sauce", "run", *extra], repo)
    stages, fit = run_stages(lines, total), fit_times(lines)
    again, _ = timed([".venv/bin/bayes-sauce", "run", *extra], repo)
    predict, _ = timed([".venv/bin/bayes-sauce", "predict", "results/hierarchical", *PREDICT], repo)
    test = timed(["make", "test"], repo)[0] if tests else None
    text = (f"Measured on {datetime.date.today().isoformat()} by `make readme-numbers` on this machine "
            f"({os.cpu_count()} cores, shared with other jobs; expect up to a factor of two between days), in a fresh "
            f"clone{' at toy size (--quick)' if quick else ''}: `make setup` {seconds(setup)} with an empty uv cache "
            f"(uv installed with pip where missing). `bayes-sauce run` on a new output folder {seconds(total)}: the "
            f"data summary and the replication {seconds(stage(stages, 'dataset', 'replication'))}, the fit "
            f"{seconds(stage(stages, 'Bayesian fit'))} (compile {fit['compile']:.1f} s, which fills numba's and "
            f"PyTensor's caches in a new clone; the pilot that chooses the parameterisation {fit['pilot']:.1f} s; "
            f"sampling {fit['sampling']:.1f} s), the predictive checks {seconds(stage(stages, 'predictive checks'))} "
            f"(most of it the fold fits of the new-family check, saved under `results/hierarchical/checks/`; "
            f"`--folds 2` makes fewer), the report {seconds(stage(stages, 'report'))}. Run again on the "
            f"same folder, `run` reuses the fit and the fold fits (same spec, settings, data, code, libraries and "
            f"CPU; `--refit` fits again): {seconds(again)}. `predict` of one model: {seconds(predict)}."
            + (f" `make test`: {seconds(test)}." if test is not None else "")
            + " Ten times the shipped models (8,090, simulated from the model) fit in 12 minutes with the gate "
              "passed; the fit's time grows with the data, its sampling somewhat faster (`benchmarks/scaling.py`).")
    return "\n" + wrap(text) + "\n"


def example_script(readme: str, quick: bool) -> str:
    """The worked example's bash block, as the README gives it (toy sampling with ``quick``)."""
    section = readme[readme.index("### Worked example"):]
    script = re.search(r"```bash\n(.*?)```", section, re.S)[1]
    if not quick:
        return script
    # toy sampling fails the gate: go on anyway
    return script.replace("bayes-sauce run ", f"bayes-sauce run {' '.join(QUICK)} --allow-failed ").replace(
        "bayes-sauce predict ", "bayes-sauce predict --allow-failed ")


def measure_example(work: Path, readme: str, quick: bool) -> dict[str, str]:
    """The worked example's blocks: its timing, the new cohorts' intervals and the prediction."""
    repo = clone(work / "example")
    setup, _ = timed(["make", "setup"], repo)
    total, lines = timed(["bash", "-e", "-c", example_script(readme, quick)], repo)
    run_s = float(re.search(r"Done in (\d+) s", next(line for _, line in lines if line.startswith("Done in")))[1])
    fit_s = fit_times(lines)
    fit = repo / "results" / "mine" / "hierarchical"
    headline = pd.read_csv(fit / "headline.csv").set_index("quantity")
    cohorts = " and ".join(f"{multiplier(headline.loc[q, 'lo'])}-{multiplier(headline.loc[q, 'hi'])}" for q in
                           ("progress_multiplier__2025q2-2025q4", "progress_multiplier__2026q1-2026q3"))
    row = pd.read_csv(fit / "predictions.csv").iloc[-1]
    timing = (f"What it does, measured on {datetime.date.today().isoformat()} by `make readme-numbers` in a fresh "
              f"clone on this machine ({os.cpu_count()} cores, shared with other jobs)"
              f"{' at toy size (--quick)' if quick else ''}: `make setup` {seconds(setup)}; the whole block "
              f"{seconds(total)}, of which `run` {seconds(run_s)} (compilation {fit_s['compile']:.0f} s, the pilot "
              f"{fit_s['pilot']:.0f} s, sampling {fit_s['sampling']:.0f} s) and `predict` the rest.")
    return {"example-timing": "\n" + wrap(timing) + "\n", "example-cohorts": f"about {cohorts}",
            "example-predict": f"median {row['score_median']:.2f}, 90% interval {row['score_lo']:.2f}-"
                               f"{row['score_hi']:.2f}"}


def multiplier(value: float) -> str:
    """A multiplier to two significant figures, as the README writes them (0.8x, 3x, 250x, 660x)."""
    if not pd.notna(value) or value == float("inf"):
        return "inf"
    rounded = float(f"{value:.2g}")
    return f"{rounded:g}x" if rounded < 10 else f"{rounded:,.0f}x"


def wrap(text: str, width: int = 115) -> str:
    import textwrap

    return textwrap.fill(text, width, break_on_hyphens=False, break_long_words=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="toy sampling (checks the machinery, not for the README)")
    parser.add_argument("--dry-run", action="store_true", help="print the new blocks; leave README.md as it is")
    parser.add_argument("--only", choices=("timing", "example"), default=None, help="measure one part only")
    parser.add_argument("--no-tests", action="store_true", help="leave `make test` out of the timing")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    readme = README.read_text()
    work = args.keep or Path(tempfile.mkdtemp(prefix="readme-numbers-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        new = {}
        if args.only in (None, "timing"):
            new["timing"] = measure_timing(work, args.quick, tests=not args.no_tests)
        if args.only in (None, "example"):
            new.update(measure_example(work, readme, args.quick))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.dry_run or args.quick:
        for name, body in new.items():
            print(f"\n--- {name} ---\n{body.strip()}")
        return 0
    README.write_text(rewrite(README.read_text(), new))
    print(f"\nRewrote {', '.join(new)} in {README}; review with `git diff README.md`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
