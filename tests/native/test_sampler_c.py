"""Builds and runs the pure-C test of the sampler readers and engine
(c_engine_test.c): no Python in the loop, leak-checked with AddressSanitizer
when gcc supports it."""
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.native

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = ["csrc/procfs.c", "csrc/proc_tree.c", "csrc/cgroup.c", "csrc/nvml.c", "csrc/sampler.c"]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("sanitize", [False, True], ids=["plain", "asan-ubsan"])
def test_c_engine(tmp_path, sanitize):
    exe = tmp_path / "c_engine_test"
    flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers",
             "-D_GNU_SOURCE", "-O1", "-g", "-pthread"]
    if sanitize:
        flags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    cmd = (["gcc"] + flags + ["-I" + os.path.join(ROOT, "csrc")]
           + [os.path.join(ROOT, s) for s in SOURCES]
           + [os.path.join(ROOT, "tests/native/c_engine_test.c"), "-o", str(exe), "-ldl", "-lm"])
    build = subprocess.run(cmd, capture_output=True, text=True)
    if sanitize and build.returncode != 0 and "asan" in build.stderr.lower():
        pytest.skip("gcc here cannot build with sanitizers")
    assert build.returncode == 0, build.stderr
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="halt_on_error=1")
    env.pop("LD_PRELOAD", None)
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "ok"
