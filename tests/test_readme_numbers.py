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
    lines = [(0.0, "== [1/4] dataset =="), (5.0, "== [2/4] replication of the paper's OLS =="),
             (9.0, "== [3/4] Bayesian fit (hierarchical) =="),
             (40.0, "Time: compile 10.5 s, sampling 14.0 s, deterministics and log densities 3.0 s"),
             (41.0, "== [4/4] report =="), (50.0, "  new-family check: fold 1 of 2 (100 models held out)"),
             (80.0, "  new-family check: fold 2 of 2 (99 models held out)"), (110.0, "Wrote results/..."),
             (120.0, "Done in 120 s.")]
    assert numbers.fit_times(lines) == (10.5, 14.0)
    assert numbers.run_stages(lines, 121.0) == {"data_and_replication": 9.0, "fit": 32.0, "report": 80.0,
                                                 "fold_fits": 60.0}


@pytest.mark.parametrize(("value", "text"), [(0.83, "0.83x"), (3.2, "3.2x"), (251.0, "250x"), (657.0, "660x"),
                                             (float("inf"), "inf")])
def test_multipliers_are_written_as_the_readme_writes_them(value, text):
    assert numbers.multiplier(value) == text
