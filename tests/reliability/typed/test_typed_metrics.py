"""Each metric of a task profile from known readings (dprof/task/metrics.py).

The readings are built by hand so that every value is known; each function is
checked alone, measured and missing, with the reason it gives.
"""
import math

import numpy as np
import pytest

from dprof.record import METRICS
from dprof.task import metrics, readings
from dprof.task.metrics import Measured, Missing
from dprof.task.monitor import ResourceWindow

pytestmark = pytest.mark.core

MIB = 1024 * 1024


def reading(**values):
    """A Reading with every field at a plain default, overridden by ``values``."""
    r = readings.Reading()
    defaults = dict(monotonic=100.0, wall=1.7e9, process_cpu_user=1.0, process_cpu_system=0.5,
                    children_cpu_user=0.0, children_cpu_system=0.0, thread_cpu_user=0.2,
                    thread_cpu_system=0.1, max_rss_bytes=50 * MIB, rss_bytes=50 * MIB,
                    process_read_bytes=0, process_write_bytes=0, thread_read_bytes=0,
                    thread_write_bytes=0, net_sent=1000, net_received=2000,
                    allocations=10, allocated_bytes=640, raises_process=3, raises_thread=1,
                    missing={})
    defaults.update(values)
    for name, value in defaults.items():
        setattr(r, name, value)
    return r


def window(columns=None, missing=None, io_wait=None, source=None, why=None):
    return ResourceWindow(columns or {}, missing or {}, io_wait, source, why)


# -- runtime and CPU --------------------------------------------------------------------
def test_runtime_is_the_monotonic_difference_and_never_negative():
    assert metrics.runtime_seconds(reading(monotonic=10.0), reading(monotonic=12.5)) == 2.5
    assert metrics.runtime_seconds(reading(monotonic=10.0), reading(monotonic=9.0)) == 0.0


def test_cpu_of_the_process_adds_reaped_children_and_divides_by_runtime_and_cores():
    start = reading(process_cpu_user=1.0, process_cpu_system=0.5,
                    children_cpu_user=0.0, children_cpu_system=0.0)
    end = reading(process_cpu_user=2.0, process_cpu_system=0.75,
                  children_cpu_user=1.0, children_cpu_system=0.25)
    got = metrics.cpu_utilization(start, end, runtime=2.0, cores=2, subject="self",
                                  thread_scope=False)
    assert got == Measured(((1.0 + 1.0) / 4, (0.25 + 0.25) / 4))


def test_cpu_in_thread_scope_is_the_threads_own():
    start = reading(thread_cpu_user=0.25, thread_cpu_system=0.0, process_cpu_user=0.0)
    end = reading(thread_cpu_user=0.75, thread_cpu_system=0.5, process_cpu_user=9.0)
    got = metrics.cpu_utilization(start, end, runtime=1.0, cores=1, subject="self",
                                  thread_scope=True)
    assert got == Measured((0.5, 0.5))


def test_thread_cpu_missing_gives_the_readings_reason():
    why = "getrusage(RUSAGE_THREAD) is not available"
    start = reading(thread_cpu_user=None, thread_cpu_system=None, missing={"thread_cpu": why})
    end = reading(thread_cpu_user=None, thread_cpu_system=None, missing={"thread_cpu": why})
    got = metrics.cpu_utilization(start, end, runtime=1.0, cores=1, subject="self",
                                  thread_scope=True)
    assert got == Missing(why)
    assert metrics.pair(got) == (None, None)


def test_cpu_of_external_commands_is_the_reaped_childrens_only():
    start = reading(children_cpu_user=1.0, children_cpu_system=1.0, process_cpu_user=0.0)
    end = reading(children_cpu_user=4.0, children_cpu_system=2.0, process_cpu_user=5.0)
    got = metrics.cpu_utilization(start, end, runtime=3.0, cores=1, subject="children",
                                  thread_scope=False)
    assert got == Measured((1.0, 1.0 / 3.0))


def test_cpu_of_a_zero_runtime_is_missing_not_zero():
    got = metrics.cpu_utilization(reading(), reading(), runtime=0.0, cores=4, subject="self",
                                  thread_scope=False)
    assert got == Missing(metrics.TOO_SHORT)


# -- file I/O and network ---------------------------------------------------------------
def test_file_io_of_the_process_and_of_the_thread():
    start = reading(process_read_bytes=100, process_write_bytes=200,
                    thread_read_bytes=10, thread_write_bytes=20)
    end = reading(process_read_bytes=4196, process_write_bytes=8392,
                  thread_read_bytes=4106, thread_write_bytes=20)
    assert metrics.file_io_bytes(start, end, thread_scope=False) == Measured((4096, 8192))
    assert metrics.file_io_bytes(start, end, thread_scope=True) == Measured((4096, 0))


def test_file_io_missing_at_the_end_gives_the_end_readings_reason():
    why = "/proc/thread-self/io could not be read"
    end = reading(thread_read_bytes=None, thread_write_bytes=None, missing={"thread_io": why})
    assert metrics.file_io_bytes(reading(), end, thread_scope=True) == Missing(why)
    # the process's counters were read: the process scope is unaffected
    assert type(metrics.file_io_bytes(reading(), end, thread_scope=False)) is Measured


def test_network_bytes_and_their_reason_when_unreadable():
    start, end = reading(net_sent=1000, net_received=5000), reading(net_sent=1500, net_received=5001)
    assert metrics.network_bytes(start, end) == Measured((500, 1))
    why = "/proc/self/net/dev could not be read"
    gone = reading(net_sent=None, net_received=None, missing={"net": why})
    assert metrics.network_bytes(gone, end) == Missing(why)


# -- peak memory --------------------------------------------------------------------------
def never_read():
    raise AssertionError("VmHWM must not be read when ru_maxrss is the task's mark")


def test_peak_after_a_reset_is_the_end_mark_or_a_higher_mark_handed_over():
    start = reading(rss_bytes=40 * MIB, max_rss_bytes=40 * MIB)
    end = reading(max_rss_bytes=64 * MIB)
    kw = dict(subject="self", peak_source="vmhwm_reset", reset_failed=None,
              read_vmhwm=never_read)
    assert metrics.memory_peak_mb(start, end, None, peak_seen=0, **kw) == \
        Measured(64.0, "vmhwm_reset")
    assert metrics.memory_peak_mb(start, end, None, peak_seen=80 * MIB, **kw) == \
        Measured(80.0, "vmhwm_reset")


def test_peak_reads_vmhwm_when_exec_latched_a_higher_maxrss():
    # ru_maxrss above the RSS right after the reset: a mark latched at exec()
    start = reading(rss_bytes=40 * MIB, max_rss_bytes=40 * MIB + metrics.RSS_SLACK + 1)
    end = reading(max_rss_bytes=900 * MIB)
    got = metrics.memory_peak_mb(start, end, None, subject="self", peak_source="vmhwm_reset",
                                 peak_seen=0, reset_failed=None, read_vmhwm=lambda: 48 * MIB)
    assert got == Measured(48.0, "vmhwm_reset")


def test_peak_falls_back_to_the_samples_when_vmhwm_cannot_be_read():
    start = reading(rss_bytes=None)         # latched: the RSS could not be read
    samples = window({"rss_bytes": np.array([30.0 * MIB, np.nan, 33.0 * MIB])})
    got = metrics.memory_peak_mb(start, reading(), samples, subject="self",
                                 peak_source="vmhwm_reset", peak_seen=0, reset_failed=None,
                                 read_vmhwm=lambda: None)
    assert got == Measured(33.0, "sampled")
    nothing = metrics.memory_peak_mb(start, reading(), window({"rss_bytes": np.array([np.nan])}),
                                     subject="self", peak_source="vmhwm_reset", peak_seen=0,
                                     reset_failed=None, read_vmhwm=lambda: None)
    assert nothing == Missing("no RSS sample fell inside the task", "sampled")


def test_peak_without_a_reset_says_why_the_reset_failed():
    why = "/proc/self/clear_refs cannot be written: Permission denied"
    got = metrics.memory_peak_mb(reading(), reading(), None, subject="self",
                                 peak_source="sampled", peak_seen=0, reset_failed=why,
                                 read_vmhwm=never_read)
    assert got == Missing(why, "sampled")


def test_peak_of_external_commands_is_the_larger_of_children_maxrss_and_the_tree_samples():
    samples = window({"rss_bytes": np.array([10.0 * MIB, 120.0 * MIB])})
    got = metrics.memory_peak_mb(reading(), reading(), samples, subject="children",
                                 peak_source="vmhwm_reset", peak_seen=0, reset_failed=None,
                                 read_vmhwm=never_read, read_children_peak=lambda: 100 * MIB)
    assert got == Measured(120.0, metrics.CHILDREN_PEAK_SOURCE)
    no_children = metrics.memory_peak_mb(reading(), reading(), None, subject="children",
                                         peak_source="vmhwm_reset", peak_seen=0,
                                         reset_failed=None, read_children_peak=lambda: 0)
    assert type(no_children) is Missing


# -- allocations, I/O wait, exceptions --------------------------------------------------------
def test_allocations_counted_uncounted_and_for_external_commands():
    start, end = reading(allocations=10), reading(allocations=1010)
    got = metrics.memory_allocations(start, end, subject="self", uncounted=None,
                                     interleaved=False)
    assert got.value == 1000 and "shared" not in got.source
    shared = metrics.memory_allocations(start, end, subject="self", uncounted=None,
                                        interleaved=True)
    assert shared.source.endswith("(shared with interleaved tasks)")
    assert metrics.memory_allocations(start, end, subject="self",
                                      uncounted="allocation counter unavailable",
                                      interleaved=False) == \
        Missing("allocation counter unavailable")
    assert metrics.memory_allocations(start, end, subject="children",
                                      uncounted="allocation counter unavailable",
                                      interleaved=False) == Missing(metrics.CHILDREN_ALLOCATIONS)


def test_io_wait_from_the_window_or_its_reason():
    assert metrics.io_wait_seconds(None) == Missing(metrics.NO_SAMPLES)
    assert metrics.io_wait_seconds(window(io_wait=0.25, source="delayacct")) == \
        Measured(0.25, "delayacct")
    why = "fewer than two resource samples fell inside the task (sampling interval 0.01 s)"
    assert metrics.io_wait_seconds(window(why=why)) == Missing(why)


def test_exceptions_counted_by_scope_and_never_fewer_than_the_escaped_one():
    start = reading(raises_process=3, raises_thread=1)
    end = reading(raises_process=10, raises_thread=1)
    kw = dict(counted=True, subject="self", scope_name="process")
    assert metrics.exceptions_raised(start, end, None, thread_scope=False, **kw).value == 7
    # the thread raised nothing it counted, but one exception escaped (from C code)
    got = metrics.exceptions_raised(start, end, ValueError("x"), thread_scope=True, **kw)
    assert got.value == 1 and "caught exceptions included" in got.source


def test_exceptions_of_external_commands_count_only_the_escaped_one():
    got = metrics.exceptions_raised(reading(), reading(raises_process=99), KeyError("k"),
                                    counted=True, subject="children", thread_scope=False,
                                    scope_name="children")
    assert got.value == 1
    assert "commands' own exceptions are not visible" in got.source


# -- the native reading, by name ---------------------------------------------------------------
@pytest.mark.native
def test_take_reads_the_native_fields_by_name_with_sane_values():
    import resource
    import time
    before = resource.getrusage(resource.RUSAGE_SELF)
    r = readings.take()
    after = resource.getrusage(resource.RUSAGE_SELF)
    assert abs(r.wall - time.time()) < 5
    assert before.ru_utime - 0.02 <= r.process_cpu_user <= after.ru_utime + 0.02
    assert before.ru_stime - 0.02 <= r.process_cpu_system <= after.ru_stime + 0.02
    assert r.max_rss_bytes >= before.ru_maxrss * 1024 - metrics.RSS_SLACK
    assert r.rss_bytes is None or r.rss_bytes > 0
    # each counter is a number, or None with its source named in `missing`
    for name, source in (("process_read_bytes", "process_io"), ("thread_read_bytes", "thread_io"),
                         ("net_sent", "net"), ("thread_cpu_user", "thread_cpu")):
        value = getattr(r, name)
        assert (source in r.missing) if value is None else (value >= 0 and source not in r.missing)
    assert math.isfinite(r.monotonic)


@pytest.mark.native
def test_the_stub_names_the_native_readings_fields_in_order():
    import ast
    import pathlib

    import dprof
    from dprof import _native
    stub = ast.parse(pathlib.Path(dprof.__file__).with_name("_native.pyi").read_text())
    cls = next(n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "TaskReading")
    declared = [n.target.id for n in cls.body if isinstance(n, ast.AnnAssign)]
    native = _native.task_reading()
    assert all(hasattr(native, f) for f in declared)
    assert len(declared) == native.n_fields == len(native)
    if hasattr(type(native), "__match_args__"):        # 3.10+: the C order of the fields
        assert tuple(declared) == type(native).__match_args__


# -- the recorder puts each metric where it belongs ------------------------------------------
def built(start, end, window, *, uncounted=None, raises_counted=True, exc=None):
    """TaskRecorder._build on known readings (a stand-in for the scope entry: the
    build reads only these three fields of it)."""
    from types import SimpleNamespace

    from dprof.record import Profile
    from dprof.task.recorder import TaskRecorder
    rec = TaskRecorder("known", resources=False)
    rec._start = start
    rec.sources["memory_usage_peak_mb"] = "vmhwm_reset"
    entry = SimpleNamespace(other_threads=False, interleaved=False, peak_seen=0)
    return rec._build(Profile, end, exc, window, None, entry,
                      uncounted_allocations=uncounted, raises_counted=raises_counted)


def test_build_routes_every_measured_metric_to_its_field():
    from dprof.task.recorder import _cores
    start = reading(monotonic=100.0, process_cpu_user=1.0, process_cpu_system=0.5,
                    process_read_bytes=0, process_write_bytes=0, net_sent=1000,
                    net_received=2000, rss_bytes=40 * MIB, max_rss_bytes=40 * MIB,
                    allocations=10, raises_process=3)
    end = reading(monotonic=102.0, process_cpu_user=2.0, process_cpu_system=0.75,
                  process_read_bytes=4096, process_write_bytes=8192, net_sent=1500,
                  net_received=2001, max_rss_bytes=64 * MIB, allocations=1010,
                  raises_process=10)
    samples = window({"timestamp": np.array([100.5, 101.5]),
                      "rss_bytes": np.array([70.0 * MIB, 60.0 * MIB]),
                      "gpu_util": np.array([np.nan, np.nan])},
                     missing={"gpu_util": "no NVIDIA GPU", "not_a_column": "x"},
                     io_wait=0.25, source="delayacct")
    p = built(start, end, samples)
    cores = _cores()
    assert p.runtime_seconds == 2.0
    assert p.cpu_user_utilization == pytest.approx(1.0 / (2.0 * cores))
    assert p.cpu_system_utilization == pytest.approx(0.25 / (2.0 * cores))
    assert (p.file_read_bytes, p.file_write_bytes) == (4096, 8192)
    assert (p.network_data_sent_bytes, p.network_data_received_bytes) == (500, 1)
    assert p.memory_usage_peak_mb == 70.0               # the samples saw more than the mark
    assert p.memory_allocations == 1000
    assert p.io_wait_time_seconds == 0.25
    assert p.exceptions_raised == 7
    assert not set(p.missing) & set(METRICS)
    assert p.sources["io_wait_time_seconds"] == "delayacct"
    assert p.sources["memory_usage_peak_mb"] == "vmhwm_reset"
    assert p.sources["file_read_bytes"] == "/proc io read_bytes (process)"
    assert set(p.resources) == {"timestamp", "rss_bytes", "gpu_util"}
    assert p.resources_missing == {"gpu_util": "no NVIDIA GPU"}
    p.validate()


def test_build_gives_each_missing_metric_its_own_reason():
    gone = {"process_io": "/proc/self/io could not be read",
            "net": "/proc/self/net/dev could not be read"}
    start = reading(process_read_bytes=None, process_write_bytes=None, net_sent=None,
                    net_received=None, rss_bytes=None, missing=gone)
    end = reading(monotonic=start.monotonic, process_read_bytes=None,
                  process_write_bytes=None, net_sent=None, net_received=None, missing=gone)
    p = built(start, end, None, uncounted="allocation counter unavailable",
              raises_counted=False, exc=RuntimeError("boom"))
    assert p.missing["cpu_user_utilization"] == metrics.TOO_SHORT
    assert p.missing["file_write_bytes"] == gone["process_io"]
    assert p.missing["network_data_received_bytes"] == gone["net"]
    assert p.missing["memory_allocations"] == "allocation counter unavailable"
    assert p.missing["io_wait_time_seconds"] == metrics.NO_SAMPLES
    assert p.file_read_bytes is None and p.network_data_sent_bytes is None
    assert p.memory_allocations is None and p.io_wait_time_seconds is None
    assert p.exceptions_raised == 1 and p.status == "failed"
    assert p.sources["exceptions_raised"].startswith("only an exception that escaped")
