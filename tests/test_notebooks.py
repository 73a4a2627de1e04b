"""Execute every notebook at the small size; fail on any cell error or a missing key output.

One small fit serves all four: notebook 04 runs a one-variant sweep (the default spec, 2 chains x 150
draws) into a temporary folder, and the default variant's fit folder, a complete `bayes-sauce fit`
folder, is the posterior notebooks 02 and 03 read.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bayes_sauce.notebooks import FIT_SIZES, REQUIRED_KEYS, Executed, execute, key_outputs, scripts
from bayes_sauce.paths import DEFAULT_SPEC

NAMES = ("01_data", "02_model_and_priors", "03_decompositions", "04_sensitivity")


def _tiny_sweep(path: Path) -> Path:
    """A sweep of the default spec alone, at the small fit size."""
    sampling = "\n".join(f"{k} = {v}" for k, v in FIT_SIZES["small"].items())
    path.write_text(f'description = "test: the default spec only"\nbase = "{DEFAULT_SPEC}"\n\n[sampling]\n{sampling}\n')
    return path


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Executed]:
    """The four notebooks: 01 (the data alone) in a second kernel beside 04, whose sweep makes the fit, then 02 and
    03."""
    tmp = tmp_path_factory.mktemp("notebooks")
    by_name = {p.stem: p for p in scripts()}
    small = {"FIT_SIZE": "small"}

    def run(name: str, parameters: dict) -> Executed:
        return execute(by_name[name], tmp / f"{name}.ipynb", {**small, **parameters})

    with ThreadPoolExecutor(max_workers=1) as pool:
        data = pool.submit(run, "01_data", {})
        results = {"04_sensitivity": run("04_sensitivity", {
            "SENSITIVITY_DIR": str(tmp / "no_sweep_here"), "SWEEP": str(_tiny_sweep(tmp / "tiny.toml")),
            "SWEEP_OUT": str(tmp / "sweep")})}
        fits = sorted((tmp / "sweep").glob("default-*"))
        fit_dir = str(fits[0]) if fits else str(tmp / "fit")  # without the sweep's fit, 02 fits one itself
        for name in ("02_model_and_priors", "03_decompositions"):  # one at a time: both write to the fit's folder
            results[name] = run(name, {"FIT_DIR": fit_dir})
        results["01_data"] = data.result()
    return results


def test_every_notebook_is_tested() -> None:
    assert tuple(p.stem for p in scripts()) == NAMES == tuple(REQUIRED_KEYS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.slow
def test_notebook_runs_and_prints_its_key_outputs(executed: dict[str, Executed], name: str) -> None:
    result = executed[name]
    assert not result.error, f"{name} failed in {result.error} (executed copy: {result.path})"
    assert not result.missing, f"{name} did not print the key outputs {result.missing}"
    assert result.outputs["versions"]["pymc"]


@pytest.mark.slow
def test_key_outputs_say_what_ran(executed: dict[str, Executed]) -> None:
    data, model, decomp, sens = (executed[n].outputs for n in NAMES)
    assert data["n_models"] == 809 and data["n_major_models"] == 122
    assert data["frontier_models"][-1] == "GPT-4.5"
    assert model["chains"] == FIT_SIZES["small"]["chains"] and model["draws"] == FIT_SIZES["small"]["draws"]
    assert 0 < model["prior_predictive_share_in_data_range"] < 1
    assert decomp["n_paper_inside_interval"] <= decomp["n_with_paper_value"]
    assert sum(decomp["p_most_efficient_major"].values()) == pytest.approx(1, abs=0.01)
    assert sens["source"] == "swept" and sens["n_variants"] == 1


def test_a_cell_error_is_reported_with_its_cell(tmp_path: Path) -> None:
    script = tmp_path / "99_broken.py"
    script.write_text('# %% tags=["parameters"]\nFIT_SIZE = "full"\n\n# %%\nprint(FIT_SIZE)\n\n# %%\n'
                      'raise ValueError("broken on purpose")\n')
    result = execute(script, tmp_path / "out.ipynb", {"FIT_SIZE": "small", "NOT_DECLARED": 1})
    assert not result.ok and "ValueError: broken on purpose" in result.error
    assert (tmp_path / "out.ipynb").exists()


def test_key_outputs_are_read_from_the_tagged_cell() -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("emit(...)", metadata={"tags": ["key-outputs"]})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text='{\n "n_models": 809\n}\n')]
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), cell]
    outputs = key_outputs(nb)
    assert outputs == {"n_models": 809}
    result = Executed("01_data", Path("x.ipynb"), outputs, "", 0.0)
    assert not result.ok and "versions" in result.missing
