"""Builds and runs the pure-C test of the allocation sampler's engine (no Python in
the loop), plain and under AddressSanitizer + UBSan with leak detection."""
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.native

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAN = {None: [], "asan-ubsan": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                                "-fno-sanitize-recover=undefined"]}


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("sanitize", [None, "asan-ubsan"], ids=["plain", "asan-ubsan"])
def test_memsample_engine_in_c(tmp_path, sanitize):
    exe = tmp_path / "c_memsample_test"
    cmd = (["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-D_GNU_SOURCE"]
           + SAN[sanitize] + ["-I" + os.path.join(ROOT, "csrc"),
                              os.path.join(ROOT, "csrc", "memsample.c"),
                              os.path.join(ROOT, "tests", "memory", "c_memsample_test.c"),
                              "-o", str(exe), "-lm"])
    build = subprocess.run(cmd, capture_output=True, text=True)
    if sanitize and build.returncode != 0 and "san" in build.stderr.lower():
        pytest.skip(f"gcc here cannot build with {sanitize}")
    assert build.returncode == 0, build.stderr
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="halt_on_error=1")
    env.pop("LD_PRELOAD", None)
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "ok"
