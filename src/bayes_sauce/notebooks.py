"""Execute the notebooks in ``notebooks/`` with papermill, and the helpers the notebooks share.

The notebooks are jupytext percent-format scripts (``notebooks/NN_name.py``); the ``.ipynb`` is made
from the script at run time and never edited by hand. Each has a cell tagged ``parameters``
(``FIT_SIZE``: "full" or "small", and paths) and ends with a cell tagged ``key-outputs`` that prints
one JSON object of its key numbers, then the package versions it ran with. :func:`run` executes
them in order, writes the executed copies and fails on a cell error or a missing key output.

``python -m bayes_sauce.notebooks [--size full|small] [--out DIR] [NAME ...]`` (``make notebooks``)
runs them at full size and writes ``notebooks/executed/NN_name.ipynb`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bayes_sauce.paths import NOTEBOOKS_DIR, PROJECT_ROOT

EXECUTED_DIR = NOTEBOOKS_DIR / "executed"
KEY_OUTPUTS_TAG = "key-outputs"
KERNEL_NAME = "python3"  # jupyter_client starts it with the interpreter running papermill (sys.executable)
# Sampler settings per fit size; "full" keeps the spec's own (4 chains x 1000 draws).
FIT_SIZES: dict[str, dict[str, int]] = {"small": {"draws": 150, "tune": 150, "chains": 2}, "full": {}}
# Where a notebook looks for the fit (and saves one it makes) when FIT_DIR is left empty.
DEFAULT_FIT_DIRS = {"full": "results/hierarchical", "small": "results/notebooks/hierarchical-small"}
EXTRA_VERSIONED = ("scipy", "matplotlib", "arviz-base", "arviz-stats", "arviz-plots", "papermill", "jupytext")
# The key outputs each notebook must print; the run fails without them.
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "01_data": ("n_models", "n_excluded", "n_developers", "n_major_models", "compute_range_p95_p5",
                "frontier_models", "n_near_floor", "versions"),
    "02_model_and_priors": ("fit_dir", "draws", "chains", "gate_passed", "max_rhat", "min_ess_bulk", "divergences",
                            "prior_predictive_share_in_data_range", "elpd_loo", "n_pareto_k_high", "versions"),
    "03_decompositions": ("gate_passed", "n_headline_quantities", "n_with_paper_value", "n_paper_inside_interval",
                          "compute_slope", "shapley_compute", "within_firm_spread_p90_p10",
                          "frontier_compute_share__Llama-2-70B__DeepSeek-V3", "p_most_efficient_major", "versions"),
    "04_sensitivity": ("source", "n_variants", "n_variants_passed", "quantities", "versions"),
}


class NotebookError(RuntimeError):
    """A notebook raised in a cell, or did not print its key outputs."""


# --- helpers called from inside the notebooks -----------------------------------------------------

def resolve(path: str | Path) -> Path:
    """A path given relative to the project root (absolute paths are kept)."""
    return PROJECT_ROOT / Path(path)


def fit_dir_for(size: str, fit_dir: str | Path = "") -> Path:
    """The fit folder a notebook reads: ``fit_dir`` when given, else the default for the fit size."""
    if size not in FIT_SIZES:
        raise ValueError(f"FIT_SIZE must be one of {sorted(FIT_SIZES)}, got {size!r}")
    return resolve(fit_dir or DEFAULT_FIT_DIRS[size])


def ensure_fit(fit_dir: Path, size: str, seed: int | None = None) -> Path:
    """The saved fit in ``fit_dir`` (as ``bayes-sauce fit`` or ``run`` wrote it); when there is none, fit
    the default spec at ``size`` through the same path as ``bayes-sauce fit`` and save it there."""
    if not (fit_dir / "posterior.nc").exists():
        from bayes_sauce.data.load import load
        from bayes_sauce.fit.fit_store import get_or_fit
        from bayes_sauce.fit.workflow import bayes_spec
        from bayes_sauce.paths import DEFAULT_SPEC

        print(f"No posterior in {fit_dir}: fitting the default spec at size '{size}' (saved there).")
        spec = bayes_spec(DEFAULT_SPEC, seed=seed, **FIT_SIZES[size])
        get_or_fit(spec, load(None, spec.data.filters.to_filters()), fit_dir, reuse=False, replace=True)
    return fit_dir


def versions() -> dict[str, str]:
    """Python and the versions of the packages a notebook ran with."""
    from bayes_sauce.fit.fit import package_versions

    found = package_versions()
    for name in EXTRA_VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": platform.python_version(), **found}


def emit(outputs: dict[str, Any]) -> None:
    """Print a notebook's key outputs as one JSON object (read back by :func:`key_outputs`)."""
    print(json.dumps(outputs, indent=1, default=_jsonable))


def _jsonable(value: Any) -> Any:
    """numpy scalars and other simple objects as JSON values."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


# --- running the notebooks --------------------------------------------------------------------------

def scripts(names: list[str] | None = None) -> list[Path]:
    """The notebook scripts in run order (all of them, or those named, with or without '.py')."""
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
    if not names:
        return found
    wanted = {n.removesuffix(".py") for n in names}
    unknown = wanted - {p.stem for p in found}
    if unknown:
        raise NotebookError(f"no notebook named {sorted(unknown)} in {NOTEBOOKS_DIR} (have {[p.stem for p in found]})")
    return [p for p in found if p.stem in wanted]


def key_outputs(nb: Any) -> dict[str, Any]:
    """The JSON object printed by the cell tagged ``key-outputs`` of an executed notebook ({} if none)."""
    for cell in nb.cells:
        if KEY_OUTPUTS_TAG in cell.get("metadata", {}).get("tags", []):
            text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
            start = text.find("{")
            return json.loads(text[start:]) if start >= 0 else {}
    return {}


@dataclass(frozen=True)
class Executed:
    """One executed notebook: where its copy is, its key outputs, what went wrong (empty if nothing)."""

    name: str
    path: Path
    outputs: dict[str, Any]
    error: str
    seconds: float

    @property
    def missing(self) -> list[str]:
        return [k for k in REQUIRED_KEYS.get(self.name, ()) if k not in self.outputs]

    @property
    def ok(self) -> bool:
        return not self.error and not self.missing


def execute(script: Path, output: Path, parameters: dict[str, Any], timeout: int | None = None) -> Executed:
    """Convert a script to a notebook, inject the parameters it declares, run it in the project's kernel
    (working directory: the project root) and write the executed copy to ``output``."""
    import jupytext
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"{script.stem}.ipynb"
        nb = jupytext.read(script)
        nb.metadata.setdefault("kernelspec", {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"})
        jupytext.write(nb, source)
        declared = pm.inspect_notebook(str(source))
        params = {k: v for k, v in parameters.items() if k in declared}
        error = ""
        try:
            nb = pm.execute_notebook(str(source), str(output), parameters=params, kernel_name=KERNEL_NAME,
                                     cwd=str(PROJECT_ROOT), progress_bar=False, execution_timeout=timeout)
        except PapermillExecutionError as err:
            error = f"cell {err.exec_count}: {err.ename}: {err.evalue}"
            nb = None
    if nb is None:
        import nbformat

        nb = nbformat.read(output, as_version=4)
    return Executed(script.stem, output, key_outputs(nb), error, time.perf_counter() - start)


def run(names: list[str] | None = None, size: str = "full", out: Path = EXECUTED_DIR,
        parameters: dict[str, Any] | None = None, timeout: int | None = None) -> list[Executed]:
    """Execute the notebooks in order at ``size``; every notebook runs even when an earlier one fails."""
    if size not in FIT_SIZES:
        raise ValueError(f"size must be one of {sorted(FIT_SIZES)}, got {size!r}")
    params = {"FIT_SIZE": size, **(parameters or {})}
    return [execute(s, out / f"{s.stem}.ipynb", params, timeout) for s in scripts(names)]


def summary(results: list[Executed]) -> str:
    """One line per notebook: ok or what failed, and its time."""
    lines = []
    for r in results:
        status = "ok" if r.ok else (r.error or f"missing key outputs {r.missing}")
        lines.append(f"  {r.name:<24} {r.seconds:6.0f} s  {status}  ({r.path})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bayes_sauce.notebooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all), e.g. 01_data")
    parser.add_argument("--size", choices=sorted(FIT_SIZES), default="full",
                        help="fit size: full reads the saved fit (or fits 4 x 1000 draws); small fits 2 x 150")
    parser.add_argument("--out", type=Path, default=EXECUTED_DIR, help="folder for the executed .ipynb copies")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="set a notebook parameter (string value), e.g. -p FIT_DIR results/my_fit")
    args = parser.parse_args(argv)
    results = run(args.names or None, args.size, args.out.resolve(), dict(args.parameter))
    print(f"Notebooks at size '{args.size}':\n{summary(results)}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
