"""The stack sampler's GIL-free reader: exact lines, validation, fallback, counts.

On 3.11-3.13 (3.9/3.10 where their reader is built) the sampler reads each
thread's frame chain and current instruction without the GIL, so a sample's line
is the line that runs, not the eval-breaker point where a GIL hand-over happens.
Each test states what it pins down; none asserts a speed.
"""
import ctypes
import inspect
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from dprof import _native
from dprof.stacks import CPU_CATEGORIES, StackSampler
import exact_workloads as w

pytestmark = pytest.mark.native

GIL_FREE = _native.stack_frame_layout()["kind"] != 0
needs_reader = pytest.mark.skipif(not GIL_FREE, reason="no GIL-free reader for this version")


def marked_line(fn, marker):
    source, first = inspect.getsourcelines(fn)
    return first + next(i for i, text in enumerate(source) if marker in text)


def leaf_seconds(profile, categories=CPU_CATEGORIES):
    """Samples per innermost (function, line), CPU classes only.

    Counted, not weighed by time: GIL-free samples are taken at instants the program
    does not choose, so counts are an unbiased picture of where it runs, and one
    sample that carries a long interval (the sampler starved of a CPU on a loaded
    machine) cannot swing a line's share."""
    out = {}
    for r in profile.rows:
        frames = profile.stack_frames(r.stack_id)
        if frames and r.category in categories:
            key = (frames[-1].function, frames[-1].line)
            out[key] = out.get(key, 0.0) + r.samples
    return out


def run_for(fn, n, seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        fn(n)


@needs_reader
def test_the_helpers_time_goes_to_its_body_line_not_its_def_line():
    with StackSampler(hz=500, overhead_budget=0) as s:
        run_for(w.call_helper, 20000, 1.0)
    p = s.profile
    by_line = leaf_seconds(p)
    body = marked_line(w.helper, "HELPER-BODY")
    define = body - 1
    in_helper = sum(v for (fn, _), v in by_line.items() if fn == "helper")
    assert in_helper > 0.15 * sum(by_line.values()), by_line
    # The def line keeps the frame's set-up and RESUME (py-spy puts 1-4% of this
    # loop there; a loaded machine adds more); the safe-point walk put it all there.
    on_body = by_line.get(("helper", body), 0.0)
    assert on_body > 0.6 * in_helper, by_line
    assert on_body > 2 * by_line.get(("helper", define), 0.0), by_line
    assert p.meta["reader"] == _native.stack_frame_layout()["name"]
    assert p.meta["gil_free_samples"] > 0.8 * p.meta["ticks"], p.meta


@needs_reader
def test_the_heavy_line_of_a_loop_is_the_hottest_and_exact():
    with StackSampler(hz=500, overhead_budget=0) as s:
        run_for(w.heavy_and_light, 20000, 1.0)
    by_line = leaf_seconds(s.profile)
    heavy = marked_line(w.heavy_and_light, "# HEAVY")
    light = marked_line(w.heavy_and_light, "# LIGHT")
    hottest = max(by_line, key=by_line.get)
    assert hottest == ("heavy_and_light", heavy), by_line
    # The safe-point walk put most of such a loop on its back-edge line (LIGHT).
    assert by_line[hottest] > 2 * by_line.get(("heavy_and_light", light), 0.0), by_line


def addr2line_twin(code):
    """PyCode_Addr2Line per code unit: what PyFrame_GetLineNumber answers."""
    addr2line = ctypes.pythonapi.PyCode_Addr2Line
    addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
    addr2line.restype = ctypes.c_int
    return tuple(addr2line(code, 2 * i) for i in range(len(code.co_code) // 2))


def all_code(code):
    yield code
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            yield from all_code(const)


def test_line_tables_match_pycode_addr2line():
    import json.decoder
    import textwrap as tw
    module_codes = []
    for mod in (json.decoder, tw, w, inspect):
        with open(mod.__file__) as f:
            module_codes.append(compile(f.read(), mod.__file__, "exec"))
    checked = 0
    for top in module_codes:
        for code in all_code(top):
            assert _native.stack_code_lines(code) == addr2line_twin(code), code
            checked += 1
    assert checked > 100
    with pytest.raises(TypeError, match="code object"):
        _native.stack_code_lines("not code")


def test_forcing_the_gil_walk_is_obeyed_and_counted(monkeypatch):
    monkeypatch.setenv("DPROF_STACKS_GIL_WALK", "1")
    with StackSampler(hz=300, overhead_budget=0) as s:
        run_for(w.call_helper, 20000, 0.5)
    meta = s.profile.meta
    assert meta["reader"].startswith("gil-walk (DPROF_STACKS_GIL_WALK")
    assert meta["gil_free_samples"] == 0
    assert meta["ticks"] > 10 and meta["gil_ticks"] == meta["ticks"]
    assert leaf_seconds(s.profile)   # it still samples


@needs_reader
def test_new_code_and_new_threads_take_the_gil_once_and_are_counted():
    namespace = {}
    exec(compile("def fresh(n):\n    s = 0\n    for i in range(n):\n        s += i\n"
                 "    return s\n", "<fresh>", "exec"), namespace)
    fresh = namespace["fresh"]
    ids = {}

    def worker():
        ids["worker"] = threading.get_native_id()
        run_for(fresh, 10000, 0.5)

    with StackSampler(hz=300, overhead_budget=0) as s:
        t = threading.Thread(target=worker, name="late-worker")
        t.start()
        run_for(fresh, 10000, 0.5)
        t.join()
    meta = s.profile.meta
    assert meta["gil_new_code_samples"] >= 1
    assert meta["gil_new_thread_samples"] >= 1
    assert meta["gil_free_samples"] > 5 * (meta["gil_new_code_samples"]
                                           + meta["gil_new_thread_samples"]), meta
    assert any(r.thread_id == ids["worker"] for r in s.profile.rows)
    assert s.profile.thread_names[ids["worker"]] == "late-worker"


STRESS = textwrap.dedent("""
    import random, sys, threading, time
    sys.path.insert(0, {here!r})
    sys.setrecursionlimit(5000)
    from dprof.stacks import StackSampler
    import exact_workloads as w

    stop = time.perf_counter() + {seconds}
    def churn(seed):
        rng = random.Random(seed)
        while time.perf_counter() < stop:
            w.recurse(rng.randrange(0, 900))
            sum(w.generate(rng.randrange(1, 50)))

    def short_lived():
        while time.perf_counter() < stop:
            t = threading.Thread(target=w.recurse, args=(50,))
            t.start(); t.join()

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(2)]
    threads.append(threading.Thread(target=short_lived))
    for t in threads:
        t.start()
    totals = dict(cycles=0, samples=0, invalid=0, errors=0, gil_free=0)
    while time.perf_counter() < stop:
        with StackSampler(hz=5000, overhead_budget=0) as s:
            w.recurse(300)
            time.sleep(0.02)
        m = s.profile.meta
        totals["cycles"] += 1
        totals["samples"] += m["thread_samples"]
        totals["invalid"] += m["gil_invalid_samples"]
        totals["gil_free"] += m["gil_free_samples"]
        totals["errors"] += m["errors"]
    for t in threads:
        t.join()
    print(totals)
""")


def test_frames_popped_and_threads_ending_while_read_never_crash(tmp_path):
    here = os.path.dirname(os.path.abspath(__file__))
    script = tmp_path / "stress.py"
    script.write_text(STRESS.format(here=here, seconds=4.0))
    # The child imports the dprof this test imported (the tree, or the installed one).
    import dprof
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(dprof.__file__)))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    totals = eval(proc.stdout.strip().splitlines()[-1])
    assert totals["cycles"] >= 10, totals
    assert totals["samples"] > 100, totals
    assert totals["errors"] == 0, totals
    if GIL_FREE:
        assert totals["gil_free"] > 0, totals


@pytest.mark.skipif(sys.version_info[:2] != (3, 13), reason="_Py_DebugOffsets as of 3.13")
def test_layout_agrees_with_the_offsets_313_publishes_for_debuggers():
    # _Py_DebugOffsets (internal/pycore_runtime.h, 3.13) is the first member of
    # _PyRuntime: cookie[8], version, free_threaded, then groups of uint64 offsets.
    runtime = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    u64 = (ctypes.c_uint64 * 64).from_address(runtime)
    assert bytes((ctypes.c_char * 8).from_address(runtime)) == b"xdebugpy"
    fields = ["version", "free_threaded",
              "rt_size", "rt_finalizing", "rt_interpreters_head",
              "is_size", "is_id", "is_next", "is_threads_head", "is_gc",
              "is_imports_modules", "is_sysdict", "is_builtins", "is_ceval_gil",
              "is_gil_runtime_state", "is_gil_enabled", "is_gil_locked", "is_gil_holder",
              "ts_size", "ts_prev", "ts_next", "ts_interp", "ts_current_frame",
              "ts_thread_id", "ts_native_thread_id", "ts_datastack_chunk", "ts_status",
              "if_size", "if_previous", "if_executable", "if_instr_ptr", "if_localsplus",
              "if_owner"]
    off = {name: u64[1 + i] for i, name in enumerate(fields)}
    layout = _native.stack_frame_layout()
    assert layout["interp_threads_head"] == off["is_threads_head"]
    assert layout["tstate_next"] == off["ts_next"]
    assert layout["tstate_interp"] == off["ts_interp"]
    assert layout["tstate_frame"] == off["ts_current_frame"]
    assert layout["tstate_thread_id"] == off["ts_thread_id"]
    assert layout["tstate_native_id"] == off["ts_native_thread_id"]
    assert layout["frame_previous"] == off["if_previous"]
    assert layout["frame_code"] == off["if_executable"]
    assert layout["frame_instr"] == off["if_instr_ptr"]
    assert layout["frame_owner"] == off["if_owner"]


@needs_reader
def test_an_unchanged_thread_list_is_reread_not_walked_and_every_thread_is_sampled():
    # A tick re-reads last tick's thread list in one call and walks it link by link
    # only when it changed: with three threads that live through the whole run, the
    # walks are the first tick's and those after the threads started, not one a tick;
    # and the re-read list still yields every thread's own stack.
    import threading
    stop = threading.Event()
    started = threading.Barrier(3)      # the spinners and this thread

    def spin_a():
        started.wait()
        while not stop.is_set():
            w.recurse(20)

    def spin_b():
        started.wait()
        while not stop.is_set():
            w.call_helper(200)

    threads = [threading.Thread(target=spin_a, name="spin-a"),
               threading.Thread(target=spin_b, name="spin-b"),
               threading.Thread(target=stop.wait, name="waiter")]
    for t in threads:
        t.start()
    started.wait()
    try:
        with StackSampler(hz=200, overhead_budget=0) as s:
            time.sleep(1.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    meta = s.profile.meta
    assert meta["ticks"] > 50, meta
    assert meta["thread_list_walks"] <= 3, meta
    functions = {}
    for row in s.profile.rows:
        names = {f.function for f in s.profile.stack_frames(row.stack_id)}
        functions[row.thread_id] = functions.get(row.thread_id, set()) | names
    # qualified names on 3.11+, plain ones before
    by_name = {s.profile.thread_names.get(tid, ""): {n.rsplit(".", 1)[-1] for n in names}
               for tid, names in functions.items()}
    assert "recurse" in by_name.get("spin-a", set()), by_name
    assert "helper" not in by_name.get("spin-a", set()), by_name
    assert "helper" in by_name.get("spin-b", set()), by_name
    assert "recurse" not in by_name.get("spin-b", set()), by_name
    assert "wait" in by_name.get("waiter", set()), by_name


@needs_reader
def test_a_sampler_started_in_a_forked_child_reads_the_childs_own_stacks(tmp_path):
    # The reader caches its pid. A forked child that kept the parent's would read the
    # parent's memory at the same addresses: frames that validate (same code
    # objects) but show the parent, here waiting in waitpid, not the child's work.
    import json
    with StackSampler(hz=200, overhead_budget=0):
        run_for(w.call_helper, 2000, 0.1)      # the parent has read with its pid
    out = tmp_path / "child.json"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            with StackSampler(hz=500, overhead_budget=0) as s:
                run_for(w.recurse, 30, 0.5)
            names = {f.function.rsplit(".", 1)[-1] for r in s.profile.rows
                     for f in s.profile.stack_frames(r.stack_id)}
            out.write_text(json.dumps({"names": sorted(names),
                                       "gil_free": s.profile.meta["gil_free_samples"]}))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    got = json.loads(out.read_text())
    # with the parent's pid the child's reader fails its self-check and reads nothing
    # GIL-free (it falls back to the GIL-holding walk); on 3.9/3.10, whose frames are
    # heap objects freed as fast as this recursion makes them, most reads go to the
    # GIL pass anyway, so some GIL-free samples, not most, is what is asked
    assert got["gil_free"] > 0, got
    assert "recurse" in got["names"], got


def descend(depth, stop):
    """`depth` nested calls of itself, then a busy loop until `stop` is set."""
    if depth > 1:
        return descend(depth - 1, stop)
    n = 0
    while not stop.is_set():
        for i in range(200):
            n += i
    return n


@needs_reader
def test_a_chain_deeper_than_one_data_stack_chunk_is_read_whole():
    # 3.11+ keep frames in 16 KiB data-stack chunks: 600 frames take several, and the
    # reader copies each older chunk in one read (meta["older_chunk_reads"]) where it
    # would otherwise read frame by frame. Every sample of the thread must still hold
    # the whole chain: all 600 calls, then the thread's entry point, in order.
    depth = 600
    stop = threading.Event()
    t = threading.Thread(target=descend, args=(depth, stop), name="deep")
    t.start()
    try:
        time.sleep(0.2)
        with StackSampler(hz=200, overhead_budget=0) as s:
            time.sleep(1.0)
    finally:
        stop.set()
        t.join()
    meta = s.profile.meta
    deep_id = next(tid for tid, name in s.profile.thread_names.items() if name == "deep")
    samples = 0
    for row in s.profile.rows:
        if row.thread_id != deep_id or row.category not in CPU_CATEGORIES:
            continue
        names = [f.function.rsplit(".", 1)[-1] for f in s.profile.stack_frames(row.stack_id)]
        inner = names[names.index("descend"):]
        assert inner == ["descend"] * depth, (len(inner), names[:5], names[-5:])
        assert "run" in names[:names.index("descend")], names[:8]     # Thread.run
        samples += row.samples
    assert samples > 50, meta
    assert meta["truncated_stacks"] == 0, meta
    # the chain was read without the GIL, not left to the GIL walk
    assert meta["gil_invalid_samples"] <= 0.1 * meta["thread_samples"], meta
    if sys.version_info >= (3, 11):
        assert meta["older_chunk_reads"] >= samples, meta
    else:
        assert meta["older_chunk_reads"] == 0, meta     # no data stack: frame objects
