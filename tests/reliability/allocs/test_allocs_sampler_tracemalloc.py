"""The memory sampler rides on the counter's hook layer and survives tracemalloc
the same way: a session whose hooks tracemalloc.stop() took out says so
(``totals["hooks_replaced"]``, and the profile's source says "incomplete"), every
other order samples as if tracemalloc were not there, and a later session is exact.

Blocks of 1,000,000 bytes are at least the mean (512 KiB), so each is always
sampled at its exact size: the truth is known to the byte."""
import sys
import tracemalloc

import pytest

import dprof
from dprof.memory import MemorySampler

pytestmark = pytest.mark.native

BLOCK = 1_000_000 + sys.getsizeof(b"")       # what bytes(1_000_000) asks for


def big_allocs(n):
    keep = [bytes(1_000_000) for _ in range(n)]
    return len(keep)


def sampled_bytes(prof):
    """Bytes sampled on big_allocs' allocating line."""
    line = big_allocs.__code__.co_firstlineno + 1
    return sum(r.alloc_bytes for r in prof.rows
               if prof.frames[r.stack[0]].filename == __file__
               and prof.frames[r.stack[0]].line == line)


def session(body):
    s = MemorySampler(seed=7)
    s.start()
    try:
        body()
    finally:
        prof = s.stop()
    return prof


@pytest.fixture(autouse=True)
def no_tracing_left():
    assert not tracemalloc.is_tracing()
    yield
    if tracemalloc.is_tracing():
        tracemalloc.stop()


def later_session_is_exact():
    prof = session(lambda: big_allocs(5))
    assert sampled_bytes(prof) == 5 * BLOCK
    assert prof.totals["hooks_replaced"] is False


def test_start_before_stop_inside_says_the_session_is_incomplete():
    tracemalloc.start()

    def body():
        big_allocs(3)
        tracemalloc.stop()
        big_allocs(4)               # unseen: the hooks were taken out

    prof = session(body)
    assert prof.totals["hooks_replaced"] is True
    assert sampled_bytes(prof) == 3 * BLOCK
    later_session_is_exact()


@pytest.mark.parametrize("order", ["start_inside_stop_after", "start_and_stop_inside",
                                   "start_before_stop_after"])
def test_other_orders_sample_everything(order):
    if order == "start_before_stop_after":
        tracemalloc.start()

    def body():
        if order != "start_before_stop_after":
            tracemalloc.start()
        big_allocs(3)
        if order == "start_and_stop_inside":
            tracemalloc.stop()
        big_allocs(4)

    prof = session(body)
    if tracemalloc.is_tracing():
        tracemalloc.stop()
    assert prof.totals["hooks_replaced"] is False
    assert sampled_bytes(prof) == 7 * BLOCK
    later_session_is_exact()


def test_a_profile_with_memory_on_reports_both_numbers_or_says_why():
    tracemalloc.start()
    with dprof.profile("sampler-tracemalloc", resources=False, store=False,
                       memory={"seed": 7}) as run:
        big_allocs(2)
        tracemalloc.stop()
        big_allocs(2)
    p = run.profile
    assert p.memory_allocations is None
    assert "tracemalloc" in p.missing["memory_allocations"]
    assert p.memory.totals["hooks_replaced"] is True
    assert "incomplete" in p.sources["memory"]
    with dprof.profile("sampler-after", resources=False, store=False,
                       memory={"seed": 7}) as run:
        big_allocs(2)
    assert run.profile.memory_allocations >= 2
    assert sampled_bytes(run.profile.memory) == 2 * BLOCK
    assert "incomplete" not in run.profile.sources["memory"]
