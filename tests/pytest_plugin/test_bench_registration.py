"""How the plugin is found and that it stays out of the way of suites not using it."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench_helpers import plugin_output

# the checkout these tests belong to (dprof itself may be installed elsewhere)
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.core
@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_the_entry_point_and_the_test_extra_are_declared():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"dprof": "dprof.pytest_plugin.plugin"}
    # test-core is what CI installs on every interpreter; test includes it
    extras = project["optional-dependencies"]
    assert any(req.startswith("pytest-xdist") for req in extras["test-core"])
    assert "dprof[test-core]" in extras["test"]


def test_a_suite_without_the_fixture_imports_nothing_heavy(sessions):
    # the strict-markers run also shows the marker is registered
    sessions.pytester.makepyfile(test_light='''
import sys, pytest

@pytest.mark.dprof_bench(group="g")
def test_marker_is_known():
    pass

def test_nothing_heavy_was_imported():
    heavy = [m for m in ("numpy", "pandas", "sqlalchemy", "dprof.pytest_plugin.fixture",
                         "dprof.task.recorder", "dprof._native") if m in sys.modules]
    assert heavy == []
''')
    res = sessions.run("--strict-markers", subprocess=True)
    res.assert_outcomes(passed=2)
    assert "dprof" not in plugin_output(res)
