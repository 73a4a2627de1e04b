"""The script that re-measures the README's numbers (benchmarks/readme_numbers.py): it finds every marked block,
rewrites only their bodies, runs the worked example as the README gives it, and reads the stages of a run."""

from __future__ import annotations

import importlib.util

import pytest

from bayes_sauce.paths import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("readme_numbers", PROJECT_ROOT / "benchmarks" / "readme_numbers.py")
numbers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(numbers)
README = (PROJECT_ROOT / "README.md").read_text()


def test_the_readme_marks_every_block_the_script_rewrites():
    assert set(numbers.blocks(README)) == {"timing", "example-timing", "example-cohorts", "example-predict"}


def test_rewriting_replaces_the_bodies_and_nothing_else():
    new = numbers.rewrite(README, {"example-predict": "median 0.45, 90% interval 0.18-0.83", "timing": "\nX\n"})
    assert numbers.blocks(new)["example-predict"] == "median 0.45, 90% interval 0.18-0.83"
    assert numbers.blocks(new)["timing"] == "\nX\n"
    assert numbers.rewrite(new, numbers.blocks(README)) == README
    with pytest.raises(KeyError, match="no_such"):
        numbers.rewrite(README, {"no_such": ""})


def test_the_example_is_run_as_the_readme_gives_it():
    script = numbers.example_script(README, quick=False)
    assert "bayes-sauce run --data mydata/models_2026.csv --all-dates --out results/mine" in script
    assert "bayes-sauce predict results/mine/hierarchical" in script
    assert "bayes-sauce run --draws 100 " in numbers.example_script(README, quick=True)


def test_stages_and_fit_times_are_read_from_the_output_of_run():
    """The lines as `bayes-sauce run` prints them (five stages; the fit's Time: line with its pilot)."""
    lines = [(0.0, "== [1/5] dataset =="), (5.0, "== [2/5] replication of the paper's OLS =="),
             (9.0, "== [3/5] Bayesian fit (hierarchical.toml) =="),
             (40.0, "Time: compile 10.5 s, pilot 5.5 s, sampling 14.0 s, deterministics and log densities 3.0 s"),
             (41.0, "== [4/5] predictive checks =="), (50.0, "  new-family check: fold 1 of 2 (100 models held out)"),
             (80.0, "  new-family check: fold 2 of 2 (99 models held out)"), (110.0, "== [5/5] report =="),
             (120.0, "Done in 120 s.")]
    assert numbers.fit_times(lines) == {"compile": 10.5, "pilot": 5.5, "sampling": 14.0}
    assert numbers.fit_times([(0.0, "Time: compile 2.0 s, sampling 3.0 s")])["pilot"] == 0.0
    stages = numbers.run_stages(lines, 121.0)
    assert stages == {"dataset": 5.0, "replication of the paper's OLS": 4.0, "Bayesian fit (hierarchical.toml)": 32.0,
                      "predictive checks": 69.0, "report": 11.0}
    assert numbers.stage(stages, "dataset", "replication") == 9.0


@pytest.mark.parametrize(("value", "text"), [(0.83, "0.83x"), (3.2, "3.2x"), (251.0, "250x"), (657.0, "660x"),
                                             (float("inf"), "inf")])
def test_multipliers_are_written_as_the_readme_writes_them(value, text):
    assert numbers.multiplier(value) == text
