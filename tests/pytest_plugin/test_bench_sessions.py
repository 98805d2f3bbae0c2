"""The plugin in real pytest sessions: measuring, storing, comparing, gating,
xdist, JSON, --dprof-disable / --dprof-only, and who a failure belongs to.

The workloads are short sleeps whose length comes from an environment variable, so
that a slowdown can be injected without editing the test file, and so that a loaded
machine (these run on two shared cores) stretches every round alike rather than
starving a busy loop. Rounds are few (``--dprof-max-time 0.1``, 20 rounds).
"""
from __future__ import annotations

import pytest

from bench_helpers import plugin_output

# imported before pytester snapshots sys.modules: a module it drops (numpy's C core)
# could not be imported a second time
from dprof.pytest_plugin import storage
from dprof.repo import ProfileRepo

pytestmark = pytest.mark.slow

FAST = ["--dprof-max-time", "0.1", "--dprof-min-rounds", "20"]

SLEEPERS = '''
import os, time, pytest

def nap():
    time.sleep(float(os.environ.get("NAP_S", "0.004")))
    return "rested"

@pytest.mark.parametrize("k", [1, 2, 3])
def test_nap(dprof_bench, k):
    assert dprof_bench(nap) == "rested"

def test_allocating(dprof_bench):
    n = int(os.environ.get("ALLOC_N", "200"))
    def make():
        time.sleep(0.004)
        blob = b"x" * (int(os.environ.get("BLOB_KB", "512")) * 1024)  # a peak, freed
        del blob
        return [object() for _ in range(n)]
    out = dprof_bench(make)
    assert len(out) == n

def test_plain():
    assert True
'''


# for sessions that need a benchmark, not statistics
LIGHT = '''
import time

def test_light(dprof_bench):
    assert dprof_bench.pedantic(time.sleep, args=(0.001,), rounds=3) is None

def test_plain():
    assert True
'''


def _write(sessions, text=SLEEPERS, name="test_work.py"):
    sessions.pytester.makepyfile(**{name.removesuffix(".py"): text})


def test_a_run_measures_stores_and_reports(sessions):
    _write(sessions)
    res = sessions.run("--dprof-save", "base", "--dprof-json", "out.json", *FAST,
                       subprocess=True)
    res.assert_outcomes(passed=5)
    out = res.stdout.str()
    assert "dprof benchmarks: 4" in out
    for column in ("min", "median", "mean", "stdev", "rounds", "ops/s", "peak mem/call",
                   "allocs/call"):
        assert column in out
    assert "stored 4 benchmark(s) as run 'base'" in out
    doc = sessions.json("out.json")
    assert doc["run"]["name"] == "base" and doc["run"]["benchmarks"] == 4
    by_name = {b["name"]: b for b in doc["benchmarks"]}
    nap = by_name["test_work.py::test_nap[1]"]
    assert nap["rounds"] == len(nap["times_ns"]) >= 20
    assert min(nap["times_ns"]) >= 4e6                       # a 4 ms sleep per call
    alloc = by_name["test_work.py::test_allocating"]
    # 200 objects and the list holding them, per call
    assert min(alloc["allocations"]) >= 200
    # each call peaks at the 512 KiB blob (plus the list), in every memory round
    assert len(alloc["peak_memory"]) >= 15
    assert min(alloc["peak_memory"]) >= 512 * 1024
    assert alloc["profile"]["cpu_user_utilization"] is not None
    assert alloc["profile"]["memory_usage_peak_mb"] > 0
    # the rounds' resource profile is a stored dprof Profile with the run's tags
    with ProfileRepo(str(sessions.db)) as repo:
        stored = repo.get(alloc["profile"]["id"])
    assert stored.stage == "dprof-bench"
    assert stored.process_name == "test_work.py::test_allocating"
    assert stored.tags["dprof.run"] == "base"
    assert stored.tags["dprof.run_id"] == doc["run"]["run_id"]
    assert stored.tags["dprof.python"] == doc["run"]["python"]
    assert stored.parameters["dprof_bench"]["times_ns"] == alloc["times_ns"]


def test_the_gate_fails_an_injected_30_percent_slowdown(sessions, monkeypatch):
    _write(sessions)
    sessions.run("--dprof-save", "base", *FAST).assert_outcomes(passed=5)
    monkeypatch.setenv("NAP_S", "0.0052")           # 4 ms -> 5.2 ms: +30%
    monkeypatch.setenv("ALLOC_N", "300")            # 200 -> 300 objects: +50%
    monkeypatch.setenv("BLOB_KB", "768")            # a 512 -> 768 KiB peak: +50%
    # min: the round least delayed by the scheduler, the statistic a loaded machine
    # moves least (the median is gated too, and reported)
    res = sessions.run("--dprof-compare", "base", "--dprof-fail=min:10%",
                       "--dprof-fail=median:10%", "--dprof-fail=allocations:10%",
                       "--dprof-fail=peak_memory:20%", "--dprof-json", "cmp.json", *FAST)
    report = res.stdout.str()
    assert res.ret == 1, report
    res.assert_outcomes(passed=5)                    # the tests pass; the gate fails
    assert "dprof gate: FAILED" in report
    changes = sessions.json("cmp.json")["comparison"]["changes"]
    failed = {(c["name"], c["metric"]) for c in changes if c["failed"]}
    for k in (1, 2, 3):
        assert (f"test_work.py::test_nap[{k}]", "min") in failed, report
    assert ("test_work.py::test_allocating", "allocations") in failed, report
    assert ("test_work.py::test_allocating", "peak_memory") in failed, report
    for c in changes:
        if c["failed"]:
            assert c["significant"] and c["p"] < 0.01 and c["change"] > 0.10, report
            # the whole interval lies above no change (a percentile interval need
            # not hold the point estimate of a median exactly)
            assert 0 < c["low"] <= c["high"], report


def test_the_gate_does_not_fail_on_noise_across_repeated_runs(sessions):
    _write(sessions)
    sessions.run("--dprof-save", "base", *FAST).assert_outcomes(passed=5)
    for attempt in range(3):
        res = sessions.run("--dprof-compare", "base", "--dprof-fail=min:10%",
                           "--dprof-fail=median:10%", "--dprof-fail=allocations:10%",
                           "--dprof-fail=peak_memory:10%", *FAST)
        assert res.ret == 0, res.stdout.str()
        assert "dprof gate: passed" in res.stdout.str()


def test_xdist_workers_store_their_own_and_the_controller_merges(sessions):
    pytest.importorskip("xdist")
    _write(sessions)
    res = sessions.run("-n", "2", "--dprof-save", "par", "--dprof-json", "par.json", *FAST,
                       subprocess=True)
    res.assert_outcomes(passed=5)
    doc = sessions.json("par.json")
    names = sorted(b["name"] for b in doc["benchmarks"])
    assert names == sorted(["test_work.py::test_allocating"] +
                           [f"test_work.py::test_nap[{k}]" for k in (1, 2, 3)])
    assert {b["worker"] for b in doc["benchmarks"]} <= {"gw0", "gw1"}
    with ProfileRepo(str(sessions.db)) as repo:
        runs = storage.list_runs(repo)
        assert [(r.name, r.benchmarks) for r in runs] == [("par", 4)]
        assert runs[0].run_id == doc["run"]["run_id"]
        stored = {r.name: r for r in storage.load_results(repo, runs[0])}
    # what the workers stored is what the controller reported, round for round
    for bench in doc["benchmarks"]:
        assert stored[bench["name"]].times_ns == bench["times_ns"]
    # and a later run compares against it
    res = sessions.run("--dprof-compare", "par", *FAST)
    assert res.ret == 0
    assert "compared with run par" in res.stdout.str()


def test_disable_runs_each_function_once_unmeasured_and_only_selects_benchmarks(sessions):
    _write(sessions)
    res = sessions.run("--dprof-disable", "--dprof-json", "off.json", *FAST)
    res.assert_outcomes(passed=5)
    assert sessions.json("off.json")["benchmarks"] == []
    assert "dprof benchmarks" not in res.stdout.str()
    _write(sessions, LIGHT)
    res = sessions.run("--dprof-only")
    res.assert_outcomes(passed=1, deselected=1)
    assert "dprof benchmarks: 1" in res.stdout.str()
    res = sessions.run("--dprof-only", "--dprof-disable")
    assert res.ret == 4 and "exclude each other" in res.stderr.str()
    res = sessions.run("--dprof-compare", "--dprof-fail=mean:5")
    assert res.ret == 4 and "METRIC:PERCENT%" in res.stderr.str()
    res = sessions.run("--dprof-fail=mean:5%")
    assert res.ret == 4 and "needs --dprof-compare" in res.stderr.str()


def test_a_failure_inside_the_fixture_is_the_tests_and_plugin_errors_only_warn(sessions):
    _write(sessions, '''
import pytest

def explode():
    raise ValueError("boom from the workload")

def test_fails(dprof_bench):
    dprof_bench(explode)

def test_setup_fails(dprof_bench):
    def setup():
        raise KeyError("no input")
    dprof_bench.pedantic(len, setup=setup, rounds=3)

def test_plugin_breaks(dprof_bench, monkeypatch):
    from dprof.pytest_plugin import calibration
    def broken(*a, **k):
        raise RuntimeError("calibration is broken")
    monkeypatch.setattr(calibration, "calibrate", broken)
    assert dprof_bench(sum, [1, 2, 3]) == 6

def test_pedantic(dprof_bench):
    seen = []
    def setup():
        seen.append(1)
        return (list(range(50)),), {}
    assert dprof_bench.pedantic(sorted, setup=setup, rounds=7, warmup_rounds=2) == list(range(50))
    # 2 warm-up, 7 timed and 7 memory rounds, each with its own setup
    assert len(seen) == 16 and dprof_bench.result.rounds == 7
    assert len(dprof_bench.result.peak_memory) == 7
''')
    res = sessions.run("--dprof-json", "f.json", "-W", "always")
    res.assert_outcomes(passed=2, failed=2)
    out = res.stdout.str()
    assert "INTERNALERROR" not in out
    assert "ValueError: boom from the workload" in out
    assert "KeyError: 'no input'" in out
    assert "dprof_bench could not measure" in out and "calibration is broken" in out
    names = [b["name"] for b in sessions.json("f.json")["benchmarks"]]
    assert names == ["test_work.py::test_pedantic"]


def test_inert_without_the_fixture(sessions):
    _write(sessions, "def test_one():\n    pass\n")
    res = sessions.run("--dprof-json", "none.json")
    res.assert_outcomes(passed=1)
    assert "dprof" not in plugin_output(res)
    assert sessions.json("none.json")["benchmarks"] == []


def test_compare_without_a_stored_run_says_so_and_a_gate_fails(sessions):
    _write(sessions, LIGHT)
    res = sessions.run("--dprof-compare")
    assert res.ret == 0 and "no stored benchmark run" in res.stdout.str()
    res = sessions.run("--dprof-compare", "nope", "--dprof-fail=mean:5%")
    assert res.ret == 1 and "dprof gate: FAILED (no baseline)" in res.stdout.str()


def test_allocations_per_call_are_the_functions_own(sessions):
    # the round's own allocations (loop iterator, clock ints) are subtracted: a
    # function that allocates nothing shows 0, one that makes 100 objects about 100
    _write(sessions, '''
import statistics

def test_none(dprof_bench):
    dprof_bench(lambda: None)
    assert statistics.median(dprof_bench.result.allocations) == 0

def test_hundred(dprof_bench):
    dprof_bench(lambda: [object() for _ in range(100)])
    assert 100 <= statistics.median(dprof_bench.result.allocations) <= 110
''')
    sessions.run("--dprof-max-time", "0.05").assert_outcomes(passed=2)
