"""``dprof bench list`` and ``dprof bench compare`` over runs a real pytest session
stored (the CLI runs as a subprocess, as a user types it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

WORK = '''
import os, time

def nap():
    time.sleep(float(os.environ.get("NAP_S", "0.004")))

def test_nap(dprof_bench):
    dprof_bench(nap)
'''
FAST = ["--dprof-max-time", "0.12", "--dprof-min-rounds", "20"]


def _dprof(sessions, *args):
    return subprocess.run([sys.executable, "-m", "dprof", "--db", str(sessions.db), *args],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))


@pytest.fixture
def two_runs(sessions, monkeypatch):
    sessions.pytester.makepyfile(test_work=WORK)
    sessions.run("--dprof-save", "before", *FAST).assert_outcomes(passed=1)
    monkeypatch.setenv("NAP_S", "0.0052")          # +30%
    sessions.run("--dprof-save", "after", *FAST).assert_outcomes(passed=1)
    return sessions


def test_list_and_compare_stored_runs(two_runs):
    res = _dprof(two_runs, "bench", "list", "--json")
    assert res.returncode == 0, res.stderr
    runs = json.loads(res.stdout)
    assert [(r["name"], r["benchmarks"]) for r in runs] == [("before", 1), ("after", 1)]
    assert all(r["python"] and r["machine"] for r in runs)
    table = _dprof(two_runs, "bench", "list")
    assert "before" in table.stdout and "after" in table.stdout


    # compare: the change, and the gate as in pytest
    res = _dprof(two_runs, "bench", "compare", "before", "after", "--fail", "min:10%")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "test_work.py::test_nap" in res.stdout and "FAILED" in res.stdout
    assert "gate: FAILED" in res.stdout
    doc = json.loads(_dprof(two_runs, "bench", "compare", "before", "after", "--json",
                            "--fail", "min:10%").stdout)
    metrics = {c["metric"]: c for c in doc["comparison"]["changes"]}
    assert set(metrics) == {"mean", "min"}          # the mean is always reported
    assert metrics["min"]["significant"] and metrics["min"]["change"] > 0.1
    assert metrics["min"]["failed"]
    # the other way round it got faster: nothing fails
    back = _dprof(two_runs, "bench", "compare", "after", "before", "--fail", "min:10%")
    assert back.returncode == 0 and "gate: passed" in back.stdout


def test_compare_names_what_it_cannot_find_or_parse(sessions):
    res = _dprof(sessions, "bench", "list")          # before anything is stored
    assert res.returncode == 2 and "nothing has been recorded there yet" in res.stderr
    sessions.pytester.makepyfile(test_work=WORK)
    sessions.run("--dprof-save", "before", *FAST).assert_outcomes(passed=1)
    two_runs = sessions
    res = _dprof(two_runs, "bench", "compare", "before", "nope")
    assert res.returncode == 2
    assert "no stored benchmark run named 'nope'" in res.stderr and "before" in res.stderr
    res = _dprof(two_runs, "bench", "compare", "before", "after", "--fail", "mean")
    assert res.returncode == 2 and "--fail='mean' is not METRIC:PERCENT%" in res.stderr
