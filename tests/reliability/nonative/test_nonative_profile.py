"""A decorated task without the C extension: a Profile with every number the
fallbacks can give, and each one they cannot listed as missing with the reason."""
import pytest

from test_nonative_switch import run_python

pytestmark = pytest.mark.core


def test_a_decorated_task_records_a_profile_and_says_what_is_missing(tmp_path):
    seen = run_python("""
        import json, time
        import dprof

        @dprof.profiler(stacks=True, stack_hz=200)
        def task():
            t = time.perf_counter()
            while time.perf_counter() - t < 0.3:
                sum(range(1000))
            with open("out.bin", "wb") as f:
                f.write(b"x" * 100_000)
                f.flush()
            time.sleep(0.05)

        task()
        repo = dprof.ProfileRepo()
        [pid] = list(repo.query()["id"])
        p = repo.get(pid)
        print(json.dumps({"runtime": p.runtime_seconds, "cpu_user": p.cpu_user_utilization,
                          "peak_mb": p.memory_usage_peak_mb,
                          "allocations": p.memory_allocations, "missing": p.missing,
                          "rss_samples": len(p.resources["rss_bytes"]),
                          "resources_missing": p.resources_missing,
                          "stack_seconds": p.stacks.total_seconds(),
                          "functions": sorted({f.function for f in p.stacks.frames})}))
    """, tmp_path)
    assert seen["runtime"] >= 0.35
    assert seen["cpu_user"] > 0 and seen["peak_mb"] > 1
    # what only the extension can count is missing with the reason, never 0
    assert seen["allocations"] is None
    assert "DPROF_NO_NATIVE=1" in seen["missing"]["memory_allocations"]
    # the psutil sampler ran throughout; what it cannot give says why
    assert seen["rss_samples"] >= 3
    assert "psutil" in seen["resources_missing"]["threads_running"]
    # the Python stack sampler saw the task
    assert seen["stack_seconds"] > 0.2
    assert "task" in seen["functions"]
