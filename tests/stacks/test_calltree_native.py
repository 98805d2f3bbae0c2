"""The native aggregator (csrc/calltree.c) against its pure-Python twins in model.py."""
import random

import pytest

from dprof import _native
from dprof.stacks import CATEGORIES, Frame, StackProfile, diff, merge
from dprof.stacks.native import from_table, to_table

pytestmark = pytest.mark.native


def random_profile(seed, nrows=300):
    rng = random.Random(seed)
    frames = [Frame(f"/src/mod{rng.randrange(4)}.py", f"fn{rng.randrange(12)}",
                    rng.randrange(1, 60)) for _ in range(40)]
    p = StackProfile(requested_hz=100.0, effective_hz=rng.choice([50.0, 80.0]),
                     duration_seconds=rng.random(), overhead_seconds=rng.random() / 100)
    for _ in range(nrows):
        depth = rng.randrange(0, 6)
        stack = [rng.choice(frames) for _ in range(depth)]
        p.add(rng.choice([11, 12, 13]), stack, rng.choice(CATEGORIES),
              rng.random() / 10, rng.randrange(1, 4))
    p.thread_names = {11: "main", 12: "worker"}
    return p


def canonical(p):
    """Rows by content, so that two profiles interning in another order compare."""
    out = {}
    for r in p.rows:
        key = (r.thread_id, tuple(p.stack_frames(r.stack_id)), r.category)
        out[key] = (r.samples, round(r.seconds, 9))
    return out


def test_round_trip_through_native_table_keeps_every_row():
    p = random_profile(1)
    back = from_table(to_table(p), StackProfile())
    assert canonical(back) == canonical(p)
    assert len(back.frames) == len(set(back.frames))


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_native_merge_agrees_with_python_merged(seed):
    a, b, c = (random_profile(seed * 10 + k) for k in range(3))
    expected = a.merged(b).merged(c)
    got = merge([a, b, c])
    assert canonical(got) == canonical(expected)
    assert got.duration_seconds == pytest.approx(expected.duration_seconds)
    assert got.effective_hz == expected.effective_hz
    assert got.thread_names == expected.thread_names


def test_merge_of_a_table_into_itself_doubles_it():
    p = random_profile(5)
    t = to_table(p)
    t.merge(t)
    got = from_table(t, StackProfile())
    before, after = canonical(p), canonical(got)
    assert set(after) == set(before)
    for key, (n, sec) in before.items():
        assert after[key] == (n * 2, pytest.approx(sec * 2, abs=2e-9))


def test_diff_gives_each_stacks_seconds_in_both_profiles():
    main, work, leaf = Frame("a.py", "main", 1), Frame("b.py", "work", 10), Frame("c.py", "x", 5)
    base, other = StackProfile(), StackProfile()
    base.add(11, [main, work], CATEGORIES[0], 0.5)
    base.add(12, [main, work], CATEGORIES[1], 0.25)     # another thread and category: added
    base.add(11, [main], CATEGORIES[0], 0.125)
    other.add(11, [main, work, leaf], CATEGORIES[0], 1.0)
    other.add(11, [main], CATEGORIES[0], 0.125)
    assert diff(base, other) == {(main, work): (0.75, 0.0), (main,): (0.125, 0.125),
                                 (main, work, leaf): (0.0, 1.0)}
    with pytest.raises(TypeError, match="StackProfile"):
        diff(base, {"rows": []})


def test_diff_of_empty_profiles_is_empty():
    assert diff(StackProfile(), StackProfile()) == {}


def test_bad_input_is_named():
    t = _native.StackTable()
    with pytest.raises(ValueError, match="category index"):
        t.add(1, [], 9, 1.0)
    with pytest.raises(TypeError, match="filename, function, line"):
        t.add(1, ["not a tuple"], 0, 1.0)
    with pytest.raises(TypeError, match="filename must be str"):
        t.add(1, [(1, "f", 3)], 0, 1.0)
    with pytest.raises(TypeError, match="StackTable"):
        t.merge(object())
    with pytest.raises(TypeError, match="StackProfile"):
        merge([object()])
