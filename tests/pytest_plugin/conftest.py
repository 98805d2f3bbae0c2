"""Real pytest sessions for the plugin's tests (pytester, loaded by tests/conftest.py).

Each session runs in pytester's directory with its own SQLite database and spool
directory and the plugin loaded: through its ``pytest11`` entry point when dprof is
installed, else with ``-p``. Sessions run in this process (``runpytest_inprocess``:
a fresh config and plugin manager, no interpreter start, which on a loaded machine
costs seconds per session) unless ``subprocess=True`` (pytest-xdist, and a check of
the real command line), which runs ``python -m pytest`` with the dprof that this
pytest imported on PYTHONPATH.
"""
from __future__ import annotations

import json
import os
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import dprof
# Imported before any pytester snapshot of sys.modules: an in-process session
# imports them, and the snapshot's restore would drop them; numpy's C core cannot be
# imported twice and a second pandas does not know the first one's dtypes.
import numpy  # noqa: F401
import pandas  # noqa: F401
import dprof.repo.frames  # noqa: F401
import dprof.task.monitor  # noqa: F401
import dprof.task.recorder  # noqa: F401
from dprof.pytest_plugin import fixture, gate, plugin, report, storage  # noqa: F401
from dprof.repo import ProfileRepo

_PACKAGE_ROOT = str(Path(dprof.__file__).resolve().parent.parent)


def _entry_point_installed() -> bool:
    try:
        eps = entry_points(group="pytest11")
    except TypeError:          # Python 3.9: a dict of groups
        eps = entry_points().get("pytest11", [])
    return any(ep.value == "dprof.pytest_plugin.plugin" for ep in eps)


class Sessions:
    """Runs pytest sessions in one pytester directory against one database."""

    def __init__(self, pytester: pytest.Pytester, monkeypatch):
        self.pytester = pytester
        self.db = pytester.path / "bench.db"
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
            p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p))
        monkeypatch.setenv("DPROF_DATABASE_URL", f"sqlite:///{self.db}")
        monkeypatch.setenv("DPROF_SPOOL_DIR", str(pytester.path / "spool"))
        monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
        self.plugin_args = [] if _entry_point_installed() else ["-p", "dprof.pytest_plugin.plugin"]

    def run(self, *args: str, subprocess: bool = False,
            timeout: float = 120) -> pytest.RunResult:
        args = (*self.plugin_args, "-p", "no:cacheprovider", "-p", "no:randomly", *args)
        if subprocess:
            return self.pytester.runpytest_subprocess(*args, timeout=timeout)
        # the plugin module is imported already, so pytest cannot rewrite its asserts
        return self.pytester.runpytest_inprocess(
            "-W", "ignore::pytest.PytestAssertRewriteWarning", *args)

    def json(self, path: str) -> dict:
        with open(self.pytester.path / path, encoding="utf-8") as f:
            return json.load(f)


@pytest.fixture
def sessions(pytester, monkeypatch) -> Sessions:
    return Sessions(pytester, monkeypatch)
