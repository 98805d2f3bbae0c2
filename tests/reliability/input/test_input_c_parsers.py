"""The C parsers of /proc and cgroup text replay their fuzz corpus and every input that
once crashed one (tests/fuzz/regressions/), built with gcc under AddressSanitizer and
UndefinedBehaviorSanitizer: the regression tests of the libFuzzer run
(tests/fuzz/run_c_fuzz.sh), which needs clang's libFuzzer; this needs only gcc."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.native

ROOT = Path(__file__).resolve().parents[3]
FUZZ = ROOT / "tests" / "fuzz"
# as in run_c_fuzz.sh: the index is the harness's DPROF_FUZZ_TARGET
TARGETS = ("stat", "statm", "status", "io", "sysstat", "meminfo", "netdev", "cgroup", "keyed")
# gcc's "undefined" leaves out float-cast-overflow (clang's does not): named here, as
# the first crash the fuzzer found was one (a ppid of 25396125396 converted to int)
SAN = ["-fsanitize=address,undefined,float-cast-overflow",
       "-fno-sanitize-recover=undefined,float-cast-overflow", "-fno-omit-frame-pointer"]


def inputs(target: str):
    return sorted(str(p) for d in ("corpus", "regressions")
                  for p in (FUZZ / d / target).glob("*") if p.is_file())


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("index, target", list(enumerate(TARGETS)), ids=TARGETS)
def test_parser_survives_its_corpus_and_past_crashes(tmp_path, index, target):
    exe = tmp_path / f"replay-{target}"
    build = subprocess.run(
        ["gcc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
         *SAN, f"-DDPROF_FUZZ_TARGET={index}", str(FUZZ / "fuzz_parsers.c"),
         str(FUZZ / "replay.c"), str(ROOT / "csrc/procfs.c"), str(ROOT / "csrc/cgroup.c"),
         "-lm", "-o", str(exe)], capture_output=True, text=True)
    if build.returncode != 0 and "san" in build.stderr.lower():
        pytest.skip("gcc here cannot build with ASan/UBSan")
    assert build.returncode == 0, build.stderr
    files = inputs(target)
    assert files, f"no corpus for {target}"
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    env.pop("LD_PRELOAD", None)
    run = subprocess.run([str(exe), *files], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == f"ok {len(files)}", run.stderr

