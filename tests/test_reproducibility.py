"""The same seed gives the same draws on a machine, whatever PyTensor's and numba's compile caches hold (issue 33),
and compiling leaves no source files in the temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bayes_sauce.paths import PROJECT_ROOT

from .synthetic import synthetic_models

FIT = """
import sys
from bayes_sauce.data.load import load
from bayes_sauce.fit.fit import fit_spec, posterior_digest
from bayes_sauce.fit.workflow import bayes_spec
from bayes_sauce.paths import DEFAULT_SPEC

spec = bayes_spec(DEFAULT_SPEC, draws=60, tune=60, chains=2)
fit = fit_spec(spec, load(sys.argv[1], spec.data.filters.to_filters()), progress=False, extras=False)
print(posterior_digest(fit.tree))
"""


@pytest.mark.slow
def test_the_same_seed_gives_the_same_draws_with_cold_and_warm_compile_caches(tmp_path):
    """A first fit compiles everything (a cold cache), a second loads compiled code from the cache: with numba's
    fast-math their draws differed; each runs in its own process, as two commands would."""
    data = tmp_path / "data.csv"
    synthetic_models(40, seed=3).to_csv(data, index=False)
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'cache'}"}
    digests = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", FIT, str(data)], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, env=env, timeout=1200)
        assert done.returncode == 0, done.stderr
        digests.append(done.stdout.split()[-1])
    assert digests[0] == digests[1]


COMPILE = """
import sys
if sys.argv[1] == "package":
    import bayes_sauce.model  # noqa: F401 - its settings
import numpy as np
import pytensor
import pytensor.tensor as pt

x = pt.vector("x")
f = pytensor.function([x], pt.exp(x).sum() + pt.log1p(x).sum(), mode="NUMBA")
print(f(np.ones(3)))
"""


@pytest.mark.parametrize("importing", ["package", "pytensor alone"])
def test_compiling_leaves_no_source_files_in_the_temporary_folder(tmp_path, importing):
    """PyTensor's numba backend wrote one source file per compiled op into /tmp and never removed it; the package
    keeps them in PyTensor's compile folder. Without the package's settings they appear (the check can fail)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    done = subprocess.run([sys.executable, "-c", COMPILE, importing], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(temporary)}, timeout=600)
    assert done.returncode == 0, done.stderr
    left = list(temporary.iterdir())
    assert (left == []) == (importing == "package"), left
