"""A growing cache is the top leak candidate; freed temporaries are not live; the
peak snapshot holds what was live at the peak; collapsed output and storage."""
import pytest

from dprof.memory import MemoryProfile
from helpers import in_file, line_of, sample

pytestmark = pytest.mark.native

CACHE = {}


def workload():
    for i in range(3000):
        tmp = bytes(200_000)                  # +2: temporary, freed at once
        CACHE[i] = bytes(50_000)              # +3: the growing cache
        del tmp
    big = [bytes(100_000) for _ in range(2000)]   # +5: 200 MB, live at the peak
    del big


def test_growing_cache_is_the_top_leak_candidate():
    CACHE.clear()
    _, prof = sample(workload)
    leaks = prof.leak_candidates(in_file(__file__))
    cache = line_of(prof, workload, 3)
    assert leaks and leaks[0].key == cache.key
    assert abs(cache.end_bytes - 3000 * 50_033) < 0.15 * 3000 * 50_033
    tmp = line_of(prof, workload, 2)
    assert tmp.alloc_bytes > 400_000_000 and tmp.end_bytes == 0
    big = line_of(prof, workload, 5)
    assert big.end_bytes == 0
    # the peak came while `big` was alive: it is the top line at the peak
    assert prof.top_at_peak(in_file(__file__))[0].key == big.key
    assert abs(big.peak_bytes - 2000 * 100_033) < 0.15 * 2000 * 100_033
    assert prof.totals["peak_live"] >= big.peak_bytes + cache.end_bytes * 0.8
    assert prof.totals["live_end"] == sum(r.end_bytes for r in prof.rows)
    CACHE.clear()


def test_timeline_rises_and_falls():
    CACHE.clear()
    _, prof = sample(workload)
    t, live = prof.timeline_t, prof.timeline_live
    assert len(t) == len(live) > 100 and t == sorted(t)
    assert max(live) == prof.totals["peak_live"]
    assert live[-1] == prof.totals["live_end"] < max(live)
    CACHE.clear()


def test_collapsed_writes_bytes_per_stack():
    CACHE.clear()
    _, prof = sample(workload)
    text = prof.collapsed("leaked")
    lines = text.splitlines()
    assert lines and all(line.rsplit(" ", 1)[1].isdigit() for line in lines)
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) == prof.totals["live_end"]
    code = workload.__code__
    assert any(line.split(" ")[0].endswith("") and
               f"workload ({code.co_filename}:{code.co_firstlineno + 3})" in line
               for line in lines)
    with pytest.raises(ValueError, match="allocated, peak, leaked"):
        prof.collapsed("bogus")
    CACHE.clear()


def test_round_trip_and_storage(tmp_path):
    import dprof
    CACHE.clear()
    db = str(tmp_path / "p.db")
    with dprof.profile("mem", memory={"seed": 5}, repo=db) as run:
        workload()
    prof = run.profile
    assert prof.memory is not None and prof.memory.totals["seed"] == 5
    again = MemoryProfile.from_dict(prof.memory.to_dict())
    assert again == prof.memory
    stored = dprof.ProfileRepo(db).get(prof.id)
    assert stored.memory == prof.memory
    CACHE.clear()


def test_decorator_and_missing_reason():
    import dprof

    @dprof.profiler(memory=True, store=False)
    def task():
        return len(bytes(1_000_000))
    task()
    assert task.last_profile.memory is not None
    assert "memory" in task.last_profile.sources
    # a second session while one runs: reported missing, the task runs on
    with dprof.profile("outer", memory=True, store=False) as outer:
        with dprof.profile("inner", memory=True, store=False) as inner:
            pass
    assert inner.profile.memory is None
    assert "already running" in inner.profile.missing["memory"]
    assert outer.profile.memory is not None


def two_phases():
    a = [bytes(100_000) for _ in range(1500)]    # +1: first peak, 150 MB
    del a
    b = [bytes(100_000) for _ in range(1000)]    # +3: second peak, 100 MB
    del b


def test_top_lines_at_each_peak_are_replayed():
    _, prof = sample(two_phases)
    peaks = prof.peaks(limit=2, keep=in_file(__file__))
    assert len(peaks) == 2 and peaks[0]["t"] < peaks[1]["t"]
    first, second = (p["top"][0] for p in peaks)
    code = two_phases.__code__
    assert first[0].line == code.co_firstlineno + 1
    assert second[0].line == code.co_firstlineno + 3
    assert abs(first[1] - 150_049_500) < 0.1 * 150e6
    assert abs(second[1] - 100_033_000) < 0.1 * 100e6
    assert peaks[0]["live"] == prof.totals["peak_live"]


def test_memory_flamegraphs_hold_the_bytes():
    from dprof.report.memory_flamegraph import memory_flamegraph_svg
    import re
    _, prof = sample(two_phases)
    svg = memory_flamegraph_svg(prof, "allocated")
    widest = max(int(v) for v in re.findall(r'data-bytes="(\d+)"', svg))
    assert widest == prof.totals["allocated"]
