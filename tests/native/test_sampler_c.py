"""Builds and runs the pure-C tests of the sampler readers and engine: no Python
in the loop. c_engine_test.c is leak-checked with AddressSanitizer, and
c_race_test.c (threads driving one sampler at once) is run under
ThreadSanitizer, when gcc supports them."""
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.native

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = ["csrc/procfs.c", "csrc/proc_tree.c", "csrc/cgroup.c", "csrc/nvml.c", "csrc/sampler.c"]


SANITIZERS = {
    None: [],
    "asan-ubsan": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"],
    "tsan": ["-fsanitize=thread"],
}


def build_and_run(tmp_path, test_source, sanitize):
    exe = tmp_path / os.path.splitext(os.path.basename(test_source))[0]
    flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers",
             "-D_GNU_SOURCE", "-O1", "-g", "-pthread"] + SANITIZERS[sanitize]
    cmd = (["gcc"] + flags + ["-I" + os.path.join(ROOT, "csrc")]
           + [os.path.join(ROOT, s) for s in SOURCES]
           + [os.path.join(ROOT, test_source), "-o", str(exe), "-ldl", "-lm"])
    build = subprocess.run(cmd, capture_output=True, text=True)
    if sanitize and build.returncode != 0 and "san" in build.stderr.lower():
        pytest.skip(f"gcc here cannot build with {sanitize}")
    assert build.returncode == 0, build.stderr
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="halt_on_error=1",
               TSAN_OPTIONS="halt_on_error=1")
    env.pop("LD_PRELOAD", None)
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=120)
    if sanitize == "tsan" and "unexpected memory mapping" in run.stderr:
        pytest.skip("ThreadSanitizer cannot run with this kernel's address layout")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "ok"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("sanitize", [None, "asan-ubsan"], ids=["plain", "asan-ubsan"])
def test_c_engine(tmp_path, sanitize):
    build_and_run(tmp_path, "tests/native/c_engine_test.c", sanitize)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("sanitize", [None, "tsan"], ids=["plain", "tsan"])
def test_c_engine_threads_race_free(tmp_path, sanitize):
    build_and_run(tmp_path, "tests/native/c_race_test.c", sanitize)
