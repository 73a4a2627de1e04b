"""`make test` runs on two pytest-xdist workers with ``--dist loadgroup``: tests that share a costly fixture must
land on one worker, or the fixture is built on both. pytest 9.2 with pytest-xdist 3.8 silently dropped the groups
(pytest-dev/pytest-xdist#1386); this runs a tiny suite the way `make test` does and reads where each test ran."""

from __future__ import annotations

import re

pytest_plugins = ["pytester"]

GROUPED = """
import pytest

@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("i", range(4))
def test_grouped(i):
    pass

@pytest.mark.parametrize("i", range(4))
def test_free(i):
    pass
"""


def test_grouped_tests_run_on_one_worker(pytester):
    pytester.makepyfile(test_a=GROUPED, test_b=GROUPED)
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=16)
    workers = {m.group(1) for m in re.finditer(r"\[(gw\d)\].*PASSED \S+::test_grouped\S*", result.stdout.str())}
    assert len(workers) == 1, result.stdout.str()
