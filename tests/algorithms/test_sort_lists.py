"""sort_list: every algorithm sorts lists of every element kind as sorted() does,
with counts equal to its pure-Python twin's, and the stable ones are stable."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dprof import _native
from sort_cases import (ALGORITHMS, COMPARISON_SORTS, DISTRIBUTIONS, KINDS, PIVOTS,
                        QUADRATIC, Box, as_kind, ints)
from twins import STABLE, run_twin

pytestmark = pytest.mark.native

SMALL_SIZES = (0, 1, 2, 3, 17, 200)
LARGE = 3000


def check_against_twin(algorithm, data, pivot="median", seed=0):
    native = list(data)
    counts = _native.sort_list(algorithm, native, pivot, seed)
    twin = list(data)
    twin_counts = run_twin(algorithm, twin, pivot, seed)
    assert native == sorted(data), (algorithm, pivot, len(data))
    assert twin == native
    assert counts == twin_counts, (algorithm, pivot, len(data))
    return counts


def test_engine_lists_the_nine_algorithms():
    assert _native.sort_algorithms() == ALGORITHMS


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("algorithm", COMPARISON_SORTS)
def test_comparison_sorts_match_sorted_and_twin(algorithm, kind):
    sizes = SMALL_SIZES if algorithm in QUADRATIC else SMALL_SIZES + (LARGE,)
    for distribution in DISTRIBUTIONS:
        for n in sizes:
            data = as_kind(ints(n, distribution, seed=n), kind)
            check_against_twin(algorithm, data)


@pytest.mark.parametrize("algorithm", ["counting_sort", "radix_sort"])
def test_integer_sorts_match_sorted_and_twin(algorithm):
    for distribution in DISTRIBUTIONS:
        for n in SMALL_SIZES + (LARGE,):
            check_against_twin(algorithm, ints(n, distribution, seed=n, lo=-5000, hi=5000))
    # near counting sort's span bound (2**20 keys for small n)
    check_against_twin(algorithm, ints(50, "random", seed=2, lo=-2**19, hi=2**19 - 2))
    check_against_twin("radix_sort", ints(LARGE, "random", seed=1, lo=-2**62, hi=2**62))
    # radix over the whole int64 range, both signs
    check_against_twin("radix_sort", [2**63 - 1, -2**63, 0, -1, 1, 2**32, -2**40] * 5)
    check_against_twin("counting_sort", [True, 3, False, -2, 1])


@pytest.mark.parametrize("kind", ["int", "float", "str", "object"])
@pytest.mark.parametrize("pivot", PIVOTS)
def test_quick_sort_every_pivot(pivot, kind):
    # first/last are quadratic on sorted, reversed and equal inputs: smaller there
    large = LARGE if pivot in ("random", "median") else 800
    for distribution in DISTRIBUTIONS:
        for n in SMALL_SIZES + (large,):
            data = as_kind(ints(n, distribution, seed=n + 1), kind)
            for seed in (0, 12345, -1, 2**70 + 3):
                check_against_twin("quick_sort", data, pivot, seed)
                if pivot != "random":
                    break


def test_random_pivot_depends_on_the_seed_only():
    data = ints(500, "random", seed=3)
    a = _native.sort_list("quick_sort", list(data), "random", 99)
    b = _native.sort_list("quick_sort", list(data), "random", 99)
    c = _native.sort_list("quick_sort", list(data), "random", 100)
    assert a == b
    assert a != c
    # the seed is taken modulo 2**64, as the twin takes it
    assert _native.sort_list("quick_sort", list(data), "random", 99 + 2**64) == a


def test_first_pivot_on_sorted_input_is_quadratic():
    n = 400
    counts = _native.sort_list("quick_sort", list(range(n)), "first")
    assert counts["comparisons"] == sum(m + 1 for m in range(2, n + 1))
    median = _native.sort_list("quick_sort", list(range(n)), "median")["comparisons"]
    assert median < 2 * n * math.log2(n)


@pytest.mark.parametrize("algorithm", sorted(STABLE))
def test_stable_algorithms_keep_equal_elements_in_input_order(algorithm):
    n = 300 if algorithm in QUADRATIC else 3000
    keys = ints(n, "few_unique", seed=5, lo=-3, hi=3)
    if algorithm not in ("counting_sort", "radix_sort"):
        # rich-compare path: Box compares by v only
        boxes = [Box(k, i) for i, k in enumerate(keys)]
        _native.sort_list(algorithm, boxes)
        assert [(b.v, b.tag) for b in boxes] == sorted((b.v, b.tag) for b in boxes)
        # float path: 1 and 1.0 are equal keys
        mixed = [k if i % 2 else float(k) for i, k in enumerate(keys)]
        tagged = list(mixed)
        _native.sort_list(algorithm, tagged)
        expect = sorted(range(n), key=lambda i: mixed[i])        # sorted() is stable
        assert [type(x) for x in tagged] == [type(mixed[i]) for i in expect]
    # int64 path (and counting/radix): equal values as distinct objects, told
    # apart by identity
    objs = [int(str(1000 + k)) for k in keys]
    ident = {id(o): i for i, o in enumerate(objs)}
    work = list(objs)
    _native.sort_list(algorithm, work)
    order = [ident[id(o)] for o in work]
    assert order == sorted(range(n), key=lambda i: objs[i])


def test_counting_and_radix_are_stable_across_bool_and_int():
    for algorithm in ("counting_sort", "radix_sort"):
        items = [True, 1, 0, False]
        _native.sort_list(algorithm, items)
        assert [type(x) for x in items] == [int, bool, bool, int]
        assert items == [0, False, True, 1]


def test_returns_exact_count_keys():
    counts = _native.sort_list("merge_sort", [3, 1, 2])
    assert set(counts) == {"comparisons", "swaps", "moves", "reads", "writes"}
    assert all(type(v) is int for v in counts.values())


def test_nan_in_a_list_orders_like_the_twin():
    # lists follow Python's `<` (NaN compares false both ways); no error
    nan = float("nan")
    data = [3.0, nan, 1.0, 2.0, nan, 0.5]
    for algorithm in COMPARISON_SORTS:
        native = list(data)
        counts = _native.sort_list(algorithm, native)
        twin = list(data)
        assert counts == run_twin(algorithm, twin)
        assert [repr(x) for x in native] == [repr(x) for x in twin]


int64s = st.integers(min_value=-2**63, max_value=2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=True)
element_lists = st.one_of(st.lists(int64s, max_size=60),
                          st.lists(st.integers(-5, 5), max_size=60),
                          st.lists(finite, max_size=60),
                          st.lists(st.one_of(st.integers(-2**53, 2**53), finite), max_size=60),
                          st.lists(st.text(max_size=6), max_size=60),
                          st.lists(st.integers(-2**80, 2**80), max_size=60))


@settings(max_examples=60, deadline=None)
@given(data=element_lists, pivot=st.sampled_from(PIVOTS), seed=st.integers(0, 2**64 - 1))
def test_property_comparison_sorts(data, pivot, seed):
    for algorithm in COMPARISON_SORTS:
        check_against_twin(algorithm, data, pivot, seed)


@settings(max_examples=60, deadline=None)
@given(data=st.one_of(st.lists(int64s, max_size=80), st.lists(st.integers(-300, 300))))
def test_property_radix_and_counting(data):
    check_against_twin("radix_sort", data)
    if not data or max(data) - min(data) < 16 * len(data) + 2**20:
        check_against_twin("counting_sort", data)


class RevInt(int):
    def __lt__(self, other):
        return int(other) < int(self)


class RevFloat(float):
    def __lt__(self, other):
        return float(other) < float(self)


class RevStr(str):
    def __lt__(self, other):
        return str(other) < str(self)


@pytest.mark.parametrize("cls", [RevInt, RevFloat, RevStr])
@pytest.mark.parametrize("algorithm", ["quick_sort", "merge_sort", "insertion_sort"])
def test_subclasses_with_their_own_lt_skip_the_fast_paths(algorithm, cls):
    # exact int/float/str only take the typed paths: a subclass's __lt__ is obeyed
    raw = ints(50, "random", seed=4, lo=0, hi=999)
    items = [cls(x) if cls is not RevStr else cls(f"{x:03d}") for x in raw]
    expect = sorted(items)             # sorted() obeys the subclasses' __lt__ too
    work = list(items)
    counts = _native.sort_list(algorithm, work)
    assert work == expect
    base = cls.__mro__[1]               # their __lt__ is the reverse of the base's
    assert [base(x) for x in work] == sorted((base(x) for x in items), reverse=True)
    assert counts == run_twin(algorithm, list(items))
