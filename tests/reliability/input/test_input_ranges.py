"""Numeric arguments are range-checked where they are read, with the range in the
message: the command line, the public constructors and the C bindings (whose message
once printed a literal "%g")."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dprof
from dprof import _native

# the dprof this pytest imported, for the subprocesses
ENV = dict(os.environ, PYTHONPATH=str(Path(dprof.__file__).resolve().parent.parent))
BAD_HZ = (1e-11, 0.5, math.inf, math.nan, 1e9, -5.0)
BAD_INTERVAL = (1e-9, 0.0, -1.0, math.inf, math.nan, 1e6)


@pytest.mark.native
@pytest.mark.parametrize("hz", BAD_HZ)
def test_native_stack_sampler_names_the_range_and_the_value(hz):
    with pytest.raises(ValueError) as err:
        _native.StackSampler(hz, 0.5, 0.01, bytes(256))
    text = str(err.value)
    assert "%" not in text and "from 1 to 100000 samples per second" in text
    assert text.endswith(f"got {hz!r}")


@pytest.mark.native
def test_native_stack_sampler_other_numbers_print_their_value():
    with pytest.raises(ValueError, match=r"jitter must be >= 0 and < 1, got 1\.5$"):
        _native.StackSampler(100.0, 1.5, 0.01, bytes(256))
    with pytest.raises(ValueError, match=r"overhead_budget must be >= 0 and < 1, got -0\.1$"):
        _native.StackSampler(100.0, 0.5, -0.1, bytes(256))


@pytest.mark.native
@pytest.mark.parametrize("interval", BAD_INTERVAL)
def test_native_resource_sampler_rejects_an_interval_it_would_spin_or_hang_on(interval):
    with pytest.raises(ValueError) as err:
        _native.Sampler(interval=interval)
    assert "interval must be from 0.001 to 3600 seconds" in str(err.value)


@pytest.mark.native
def test_the_range_ends_are_accepted():
    _native.StackSampler(1.0, 0.5, 0.01, bytes(256))
    _native.StackSampler(100000.0, 0.5, 0.01, bytes(256))
    _native.Sampler(interval=0.001)
    _native.Sampler(interval=3600.0)


@pytest.mark.core
@pytest.mark.parametrize("hz", BAD_HZ + (10001,))
def test_stack_sampler_and_profile_reject_a_rate_outside_1_to_10000(hz):
    with pytest.raises(ValueError, match="from 1 to 10000 samples per second"):
        dprof.StackSampler(hz=hz)
    # before: accepted here, then the sampler failed inside the run and the stacks
    # were dropped without a word
    with pytest.raises(ValueError, match="stack_hz must be from 1 to 10000"):
        dprof.profile("x", stacks=True, stack_hz=hz)
    with pytest.raises(ValueError, match="stack_hz must be from 1 to 10000"):
        dprof.profiler(stacks=True, stack_hz=hz)(lambda: None)()


@pytest.mark.core
@pytest.mark.parametrize("interval", BAD_INTERVAL)
def test_every_interval_taking_constructor_names_the_range(interval):
    for make in (lambda: dprof.ResourceProfiler(interval=interval),
                 lambda: dprof.profile("x", interval=interval),
                 lambda: dprof.JobMonitor(interval=interval),
                 lambda: dprof.ContainerResourceMonitor("/", interval=interval)):
        with pytest.raises(ValueError, match=r"interval must be from 0\.001 to 3600 seconds"):
            make()


@pytest.mark.core
@pytest.mark.parametrize("option, value, message", [
    ("--stack-hz", "inf", "must be from 1 to 10000 samples per second, got inf"),
    ("--stack-hz", "1e9", "must be from 1 to 10000 samples per second, got 1e9"),
    ("--stack-hz", "nan", "must be from 1 to 10000 samples per second, got nan"),
    ("--interval", "1e-9", "must be from 0.001 to 3600 seconds, got 1e-9"),
    ("--profile-interval", "0", "must be from 0.1 to 86400 seconds, got 0"),
])
def test_dprof_run_rejects_out_of_range_numbers_in_one_line(tmp_path, option, value, message):
    script = tmp_path / "s.py"
    script.write_text("print('ran')\n")
    done = subprocess.run([sys.executable, "-m", "dprof", "run", "--no-store", option, value,
                           str(script)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=ENV)
    assert done.returncode == 2 and "ran" not in done.stdout
    assert done.stderr.count("\n") == 1 and f"argument {option}: {message}" in done.stderr
