"""Bad input to the sort engines gets a clear error naming what was wrong, and an
exception raised by __lt__ mid-sort propagates with the list still a
permutation of its elements and no reference leaked."""
import array
import collections
import sys

import numpy as np
import pytest

from dprof import _native
from sort_cases import ALGORITHMS, COMPARISON_SORTS, Box, ints

pytestmark = pytest.mark.native

ENTRIES = [_native.sort_list, _native.sort_buffer]


def sample(entry):
    return [3, 1, 2] if entry is _native.sort_list else array.array("q", [3, 1, 2])


# ---- arguments ------------------------------------------------------------------

@pytest.mark.parametrize("entry", ENTRIES)
def test_unknown_algorithm_names_it_and_the_valid_ones(entry):
    with pytest.raises(ValueError) as err:
        entry("bogo_sort", sample(entry))
    msg = str(err.value)
    assert "bogo_sort" in msg
    assert all(name in msg for name in ALGORITHMS)


@pytest.mark.parametrize("entry", ENTRIES)
def test_unknown_pivot_names_it_and_the_valid_ones(entry):
    with pytest.raises(ValueError, match=r"middle.*first, last, random, median"):
        entry("quick_sort", sample(entry), "middle")
    # checked for every algorithm, not only quick_sort
    with pytest.raises(ValueError, match="middle"):
        entry("heap_sort", sample(entry), pivot="middle")


@pytest.mark.parametrize("entry", ENTRIES)
def test_seed_must_be_an_int(entry):
    with pytest.raises(TypeError, match="seed must be an int, not float"):
        entry("quick_sort", sample(entry), "random", 1.5)


def test_sort_list_takes_lists_only():
    with pytest.raises(TypeError, match="sort_list sorts a list, not tuple"):
        _native.sort_list("merge_sort", (3, 1, 2))


def test_sort_buffer_takes_buffers_only():
    with pytest.raises(TypeError, match="needs a buffer.*not list"):
        _native.sort_buffer("merge_sort", [3, 1, 2])


# ---- buffers --------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: b"\x03\x01\x02",
    lambda: memoryview(bytearray(b"\x03\x01")).toreadonly(),
    lambda: np.frombuffer(b"\x00" * 16, dtype=np.int64),
], ids=["bytes", "readonly-memoryview", "readonly-numpy"])
def test_read_only_buffer(make):
    with pytest.raises(TypeError, match="writable buffer.*read-only"):
        _native.sort_buffer("heap_sort", make())


def test_two_dimensional_buffer():
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    with pytest.raises(ValueError, match="one-dimensional.*2 dimensions"):
        _native.sort_buffer("merge_sort", a)


def test_zero_dimensional_buffer():
    with pytest.raises(ValueError, match="one-dimensional.*0 dimensions"):
        _native.sort_buffer("merge_sort", np.array(5, dtype=np.int64))


def test_non_contiguous_buffer():
    a = np.arange(10, dtype=np.int32)[::-2]
    with pytest.raises(ValueError, match="contiguous.*strided"):
        _native.sort_buffer("quick_sort", a)


@pytest.mark.parametrize("make, fmt", [
    (lambda: np.zeros(4, dtype=np.float16), "'e'"),
    (lambda: np.zeros(4, dtype=np.bool_), r"'\?'"),
    (lambda: np.zeros(4, dtype=np.longdouble), "'g'"),
    (lambda: np.zeros(4, dtype=">i4"), "'>i'"),
    (lambda: np.zeros(4, dtype=np.complex128), "'Zd'"),
    (lambda: array.array("u", "abc"), "'[uw]'"),        # exported as 'w' by 3.11+
    (lambda: memoryview(bytearray(16)).cast("c"), "'c'"),
], ids=["float16", "bool", "longdouble", "big-endian", "complex", "array-u", "char"])
def test_unsupported_format(make, fmt):
    with pytest.raises(TypeError, match=f"unsupported buffer format {fmt}"):
        _native.sort_buffer("merge_sort", make())


@pytest.mark.parametrize("algorithm", ["counting_sort", "radix_sort"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_integer_sorts_refuse_float_buffers(algorithm, dtype):
    a = np.array([2.0, 1.0], dtype=dtype)
    with pytest.raises(TypeError, match=f"{algorithm} sorts integers only"):
        _native.sort_buffer(algorithm, a)
    assert a.tolist() == [2.0, 1.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", COMPARISON_SORTS)
def test_nan_in_a_float_buffer_is_refused_before_sorting(algorithm, dtype):
    a = np.array([3.0, 1.0, np.nan, 0.0], dtype=dtype)
    with pytest.raises(ValueError, match="NaN at index 2"):
        _native.sort_buffer(algorithm, a)
    assert a[:2].tolist() == [3.0, 1.0]        # untouched


def test_counting_sort_refuses_an_absurd_span_without_allocating_it():
    a = np.array([0, 2**62, -2**62], dtype=np.int64)
    with pytest.raises(ValueError, match=r"counting_sort: the values span 9223372036854775808 "
                                         r"\+ 1 distinct keys.*use radix_sort"):
        _native.sort_buffer("counting_sort", a)
    assert a.tolist() == [0, 2**62, -2**62]
    # the bound: 16 keys per element + 2**20
    n = 10
    ok = np.array([0] * (n - 1) + [16 * n + 2**20 - 1], dtype=np.int64)
    _native.sort_buffer("counting_sort", ok)
    too_wide = np.array([0] * (n - 1) + [16 * n + 2**20], dtype=np.int64)
    with pytest.raises(ValueError, match="counting_sort"):
        _native.sort_buffer("counting_sort", too_wide)
    with pytest.raises(ValueError, match="too wide for 2 elements"):
        _native.sort_list("counting_sort", [-2**63, 2**63 - 1])


# ---- lists: element types ---------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["counting_sort", "radix_sort"])
def test_integer_sorts_refuse_non_ints_naming_the_first(algorithm):
    items = [3, 1, 2.5, "x"]
    with pytest.raises(TypeError, match=f"{algorithm} sorts ints only; element 2 is a float"):
        _native.sort_list(algorithm, items)
    assert items == [3, 1, 2.5, "x"]
    with pytest.raises(TypeError, match="element 0 is a str"):
        _native.sort_list(algorithm, ["a"])


@pytest.mark.parametrize("algorithm", ["counting_sort", "radix_sort"])
def test_integer_sorts_refuse_ints_beyond_int64(algorithm):
    items = [1, 2**63, 0]
    with pytest.raises(OverflowError, match=f"{algorithm} sorts ints that fit in int64; "
                                            "element 1"):
        _native.sort_list(algorithm, items)
    assert items == [1, 2**63, 0]
    with pytest.raises(OverflowError, match="element 0"):
        _native.sort_list(algorithm, [-2**63 - 1])


@pytest.mark.parametrize("algorithm", COMPARISON_SORTS)
def test_incomparable_elements_raise_typeerror_and_keep_the_elements(algorithm):
    items = [3, "a", 1, None, 2.0] * 3
    before = collections.Counter(map(id, items))
    with pytest.raises(TypeError, match="'<' not supported"):
        _native.sort_list(algorithm, items)
    assert collections.Counter(map(id, items)) == before


# ---- exceptions from __lt__ -------------------------------------------------------

class Boom(Exception):
    pass


class Fragile(Box):
    """Raises from the k-th comparison on (counted across instances)."""
    __slots__ = ()
    budget = [0]

    def __lt__(self, other):
        Fragile.budget[0] -= 1
        if Fragile.budget[0] < 0:
            raise Boom("comparison failed")
        return self.v < other.v


@pytest.mark.parametrize("algorithm", COMPARISON_SORTS)
def test_exception_mid_sort_propagates_list_is_a_permutation_no_leak(algorithm):
    n = 60
    for fail_after in (0, 1, 7, 50, 200, 400):
        items = [Fragile(v, i) for i, v in enumerate(ints(n, "random", seed=fail_after))]
        originals = list(items)
        refs = [sys.getrefcount(x) for x in originals]
        Fragile.budget[0] = fail_after
        try:
            _native.sort_list(algorithm, items)
        except Boom:
            pass
        else:
            assert fail_after >= 200      # only a late failure may miss the sort
            assert [x.v for x in items] == sorted(x.v for x in originals)
        assert len(items) == n
        assert collections.Counter(map(id, items)) == collections.Counter(map(id, originals))
        assert [sys.getrefcount(x) for x in originals] == refs


def test_list_modified_during_sort():
    items = []

    class Grower(Box):
        __slots__ = ()

        def __lt__(self, other):
            items.append(Box(0))      # the list looks empty while sorted
            return self.v < other.v

    items.extend(Grower(v) for v in (3, 1, 2, 5, 4))
    originals = list(items)
    with pytest.raises(ValueError, match="list modified during sort"):
        _native.sort_list("merge_sort", items)
    assert collections.Counter(map(id, items)) == collections.Counter(map(id, originals))


def test_list_cleared_during_sort_does_not_free_the_elements():
    items = []

    class Clearer(Box):
        __slots__ = ()

        def __lt__(self, other):
            items.clear()
            return self.v < other.v

    # clear() of the (seemingly empty) list changes nothing: list.sort does not
    # complain either; what matters is that no element was freed under the sort
    items.extend(Clearer(v) for v in range(20, 0, -1))
    originals = list(items)
    _native.sort_list("quick_sort", items)
    assert [x.v for x in items] == list(range(1, 21))
    assert collections.Counter(map(id, items)) == collections.Counter(map(id, originals))
