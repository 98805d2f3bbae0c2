"""DPROF_NO_NATIVE=1 is honoured: dprof works and never imports its C extension.

Each case runs in a fresh interpreter, since the switch is read once per process.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.core

def run_python(code, tmp_path, **env):
    """Run ``code`` in a fresh interpreter with the extension switched off and the
    dprof these tests import; returns the JSON its last line prints."""
    import dprof
    environ = dict(os.environ, DPROF_NO_NATIVE="1",
                   DPROF_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}")
    environ.update(env)
    package_parent = str(Path(dprof.__file__).resolve().parents[1])
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent,
                                                          environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                          env=environ, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_extension_is_never_imported_and_every_part_still_runs(tmp_path):
    seen = run_python("""
        import json, sys, time
        import dprof
        from dprof import _native_loader

        @dprof.profiler
        def task():
            return sum(i % 7 for i in range(200_000))

        task()
        with dprof.ResourceProfiler(interval=0.01) as rp:
            time.sleep(0.05)
        with dprof.StackSampler(hz=200) as s:
            t = time.perf_counter()
            while time.perf_counter() - t < 0.05:
                pass
        stats = rp.samples.stats("rss_bytes")
        repo = dprof.ProfileRepo()
        profiles = repo.query()
        print(json.dumps({"native_imported": "dprof._native" in sys.modules,
                          "reason": _native_loader.reason(),
                          "backend": rp.backend, "rss_max": stats["max"],
                          "reader": s.profile.meta["reader"],
                          "stack_seconds": s.profile.total_seconds(),
                          "stored": list(profiles["process_name"])}))
    """, tmp_path)
    assert seen["native_imported"] is False
    assert "DPROF_NO_NATIVE" in seen["reason"]
    assert seen["backend"] == "psutil"
    assert seen["rss_max"] > 1 << 20
    assert seen["reader"].startswith("python sampler thread")
    assert seen["stack_seconds"] > 0
    assert seen["stored"] == ["__main__.task"]


def test_zero_turns_the_switch_off(tmp_path):
    seen = run_python("""
        import json
        from dprof import _native_loader
        print(json.dumps({"disabled": _native_loader.disabled_by_env()}))
    """, tmp_path, DPROF_NO_NATIVE="0")
    assert seen == {"disabled": False}


def test_what_needs_the_extension_says_so(tmp_path):
    seen = run_python("""
        import json
        from dprof.algorithms.builtin import sort
        from dprof.algorithms.errors import AlgorithmError
        try:
            sort("quick_sort", [3, 1, 2])
            said = None
        except AlgorithmError as exc:
            said = str(exc)
        print(json.dumps({"said": said}))
    """, tmp_path)
    assert "C only" in seen["said"] and "DPROF_NO_NATIVE=1" in seen["said"]
