"""A running thread is held still while the sampler reads its stack (csrc/thread_pause.c).

The probe holds a thread the way a GIL-free tick does and reports the CPU time the
thread used while held: a thread that was not really stopped would have used all
of it. The sampler's own use is checked through its counters: running threads are
paused, blocked ones are never signalled (a signal could end their wait early), and
a thread that does not answer is read running, and soon no longer asked.
"""
import hashlib
import os
import signal
import threading
import time

import pytest

from dprof import _native
from dprof.stacks import StackSampler

pytestmark = [
    pytest.mark.native,
    pytest.mark.skipif(_native.stack_frame_layout()["kind"] == 0,
                       reason="no GIL-free reader for this version: nothing is paused"),
]

HOLD_MAX = 0.002        # DPROF_PAUSE_HOLD_MAX_NS


class Spinner:
    """A thread running pure Python until stopped; `sigmask` signals blocked in it."""

    def __init__(self, sigmask=()):
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.tid = None
        self.pending = None
        self._sigmask = set(sigmask)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        if self._sigmask:
            signal.pthread_sigmask(signal.SIG_BLOCK, self._sigmask)
        self.tid = threading.get_native_id()
        self._ready.set()
        n = 0
        while not self._stop.is_set():
            n += 1
        self.pending = signal.sigpending()
        if self._sigmask:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self._sigmask)

    def __enter__(self):
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def held_probe(tid, hold, tries=20):
    """The probe's answer for a hold that took (a thread waiting for a CPU may miss
    the 1 ms it has to answer on a loaded machine)."""
    for _ in range(tries):
        r = _native.stack_pause_probe(tid, hold)
        if r["held"]:
            return r
        time.sleep(0.01)
    pytest.fail(f"thread {tid} was never held in {tries} tries: {r}")


def sample_spinner(seconds, until, sigmask=(), tries=5):
    """A Spinner sampled at 200 Hz for `seconds`, tried again, up to `tries` times,
    until until(meta) holds: on a loaded machine the spinner may get no CPU in time
    to answer, or the sampler, waking on the spinner's CPU, finds it off that CPU
    and reads it without a signal, at every tick. The last try's (spinner, profile)."""
    for _ in range(tries):
        with Spinner(sigmask) as spinner:
            with StackSampler(hz=200, overhead_budget=0) as s:
                time.sleep(seconds)
        if until(s.profile.meta):
            break
    return spinner, s.profile


def test_a_held_thread_does_not_run_until_let_go():
    with Spinner() as s:
        for _ in range(5):
            # A probe that gets no CPU in time for its release outstays the 2 ms the
            # handler waits (then the thread goes on, and runs): on a loaded machine
            # that is the probe's lateness, so such a try is taken again.
            for _ in range(20):
                r = held_probe(s.tid, 0.0015)
                if r["still_held"]:
                    break
            assert r["still_held"], r
            # Its handler spins up to 50 us before it sleeps; running, it would have
            # used most of the 1.5 ms (the probe releases the GIL for it).
            assert 0 <= r["cpu_while_held"] < 0.0005, r


def test_a_thread_held_too_long_lets_itself_go():
    with Spinner() as s:
        ran = []
        for _ in range(5):
            r = held_probe(s.tid, 3 * HOLD_MAX)
            # The handler gave up after 2 ms; the release says the read was no snapshot.
            assert not r["still_held"], r
            ran.append(r["cpu_while_held"])
        # After giving up it runs again (on a loaded machine it may wait for a CPU).
        assert max(ran) > 0.5 * HOLD_MAX, ran


def test_the_probe_names_what_is_wrong():
    with pytest.raises(ValueError, match="tid must be a positive TID"):
        _native.stack_pause_probe(0, 0.001)
    with pytest.raises(ValueError, match=r"hold in \[0, 1\] seconds"):
        _native.stack_pause_probe(threading.get_native_id(), 5.0)


def test_the_sampler_pauses_running_threads_and_says_so(monkeypatch):
    monkeypatch.delenv("DPROF_STACKS_PAUSE", raising=False)
    _, profile = sample_spinner(0.5, until=lambda m: m["paused_samples"] > 0)
    meta = profile.meta
    assert meta["pause"].startswith("signal "), meta["pause"]
    # The spinner runs at nearly every tick; the main thread sleeps, but for a tick
    # or two around start and stop. On a loaded machine the spinner may wait longer
    # than the 1 ms it has to answer (then it is asked again only every 100 ticks).
    assert meta["paused_samples"] > 0, meta
    if meta["pause_missed"] == 0:
        assert meta["paused_samples"] + meta["off_cpu_samples"] > 0.5 * meta["ticks"], meta
    read = meta["gil_free_samples"] + meta["gil_new_code_samples"] + meta["gil_invalid_samples"]
    assert meta["paused_samples"] <= read, meta
    assert meta["pause_overran"] == 0, meta


def test_pausing_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("DPROF_STACKS_PAUSE", "0")
    with Spinner():
        with StackSampler(hz=200, overhead_budget=0) as s:
            time.sleep(0.3)
    meta = s.profile.meta
    assert meta["pause"] == "off (DPROF_STACKS_PAUSE=0)"
    assert meta["paused_samples"] == 0 and meta["gil_free_samples"] > 0, meta


def test_a_blocked_thread_is_never_signalled():
    sig = _native.stack_pause_probe(threading.get_native_id(), 0)["signal"]
    box = {}
    asleep = threading.Event()

    def sleeper():
        signal.pthread_sigmask(signal.SIG_BLOCK, {sig})
        asleep.set()
        time.sleep(0.9)
        box["pending"] = signal.sigpending()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})

    # The sampler runs only while the thread sleeps: running, before and after, it
    # could rightly be asked (and, the signal blocked, not answer).
    t = threading.Thread(target=sleeper)
    t.start()
    asleep.wait(5)
    time.sleep(0.1)
    with StackSampler(hz=200, overhead_budget=0) as s:
        time.sleep(0.4)
    t.join()
    assert sig not in box["pending"], box
    assert s.profile.meta["ticks"] > 20, s.profile.meta


def test_a_thread_that_blocks_the_signal_is_read_running_and_soon_not_asked():
    sig = _native.stack_pause_probe(threading.get_native_id(), 0)["signal"]
    spinner, profile = sample_spinner(0.6, until=lambda m: m["pause_missed"] >= 1,
                                      sigmask={sig})
    meta = profile.meta
    # It was asked (the signal is pending in it) and did not answer...
    assert sig in spinner.pending
    assert meta["pause_missed"] >= 1, meta
    # ...three times in a row, then once every 100 ticks.
    assert meta["pause_missed"] <= 3 + meta["ticks"] // 100 + 1, meta
    # Its samples are still taken, read running.
    spinner_rows = [r for r in profile.rows if r.thread_id == spinner.tid]
    assert sum(r.samples for r in spinner_rows) > 0.5 * meta["ticks"], meta


def test_a_forked_child_pauses_its_own_threads():
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:    # the child: exits without running pytest's teardown
        code = 1
        try:
            # It holds its spinner (a hand-shake left taken by the fork would hang
            # the first pause), or, loaded, at least asked it (a miss) or read it
            # still, off its CPU, without a signal: not stuck.
            _, profile = sample_spinner(0.3, until=lambda m: m["paused_samples"] > 0)
            meta = profile.meta
            code = 0 if (meta["paused_samples"] > 0 or meta["pause_missed"] > 0
                         or meta["off_cpu_samples"] > 0) else 2
        finally:
            os.write(w, bytes([code]))
            os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    assert got == b"\x00", f"child reported {got!r} (2: nothing paused)"


def _hash_until(stop, data, ready):
    ready.set()
    while not stop.is_set():
        hashlib.sha256(data).digest()   # HASH LINE: the GIL let go for the whole buffer


def test_threads_waiting_for_a_cpu_are_read_without_a_signal(monkeypatch):
    """Three threads hashing with the GIL let go, all on one CPU: at any instant two
    are runnable but off the CPU, so their frames cannot move, and the sampler reads
    them without signalling (its CPU clock check), on the line they run."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no sched_setaffinity")
    monkeypatch.delenv("DPROF_STACKS_PAUSE", raising=False)
    cpu = min(os.sched_getaffinity(0))
    data = b"x" * (8 << 20)
    stop = threading.Event()
    readies = [threading.Event() for _ in range(3)]
    threads = [threading.Thread(target=_hash_until, args=(stop, data, r), daemon=True)
               for r in readies]
    for t in threads:
        t.start()
    try:
        for t, r in zip(threads, readies):
            r.wait(5)
            os.sched_setaffinity(t.native_id, {cpu})
        with StackSampler(hz=200, overhead_budget=0) as s:
            time.sleep(0.6)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    meta = s.profile.meta
    assert meta["off_cpu_samples"] > 0, meta
    assert meta["pause_overran"] == 0, meta
    hash_line = next(i for i, text in enumerate(open(__file__), 1) if "HASH LINE" in text)
    tids = {t.native_id for t in threads}
    profile = s.profile
    for tid in tids:
        rows = [r for r in profile.rows if r.thread_id == tid]
        assert sum(r.samples for r in rows) > 0.3 * meta["ticks"], (tid, meta)
        on_line = sum(r.samples for r in rows
                      if profile.stack_frames(r.stack_id)[-1].line == hash_line)
        # Nearly all of its time is in the hash (the loop and the GIL taken back
        # between two hashes are the rest), and every read of it, held, off its CPU
        # or, not answering, running, is in its own function or the Event it polls.
        assert on_line > 0.8 * sum(r.samples for r in rows), (tid, rows)
        for r in rows:
            inner = profile.stack_frames(r.stack_id)[-1]
            assert inner.function in ("_hash_until", "is_set"), (inner, rows)
