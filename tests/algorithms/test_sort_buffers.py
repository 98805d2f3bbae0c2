"""sort_buffer: array.array of every numeric typecode, NumPy arrays of every
integer and float dtype, memoryviews and ctypes arrays; results equal sorted(),
counts equal the twins' (radix over the buffer's own width)."""
import array
import ctypes

import numpy as np
import pytest

from dprof import _native
from sort_cases import ALGORITHMS, PIVOTS, QUADRATIC, ints
from twins import INTEGER_ONLY, run_twin

pytestmark = pytest.mark.native

NUMPY_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
                np.uint64, np.longlong, np.ulonglong, np.intp, np.uintp,
                np.float32, np.float64]
TYPECODES = "bBhHiIlLqQfd"


def bits_signed(np_dtype):
    dt = np.dtype(np_dtype)
    return dt.itemsize * 8, dt.kind == "i"


def values_for(np_dtype, n, seed, narrow=False):
    """Seeded values covering the dtype's range (its extremes included), or a
    narrow range for counting sort."""
    dt = np.dtype(np_dtype)
    rng = np.random.default_rng(seed)
    if dt.kind == "f":
        v = rng.standard_normal(n) * 1e6
        if n >= 4:
            v[:4] = [-0.0, np.inf, -np.inf, 0.0]
        return v.astype(dt)
    info = np.iinfo(dt)
    if narrow:
        lo = max(info.min, -1000)
        hi = min(info.max, lo + 2000)
        return rng.integers(lo, hi, size=n, dtype=dt, endpoint=True)
    v = rng.integers(info.min, info.max, size=n, dtype=dt, endpoint=True)
    if n >= 2:
        v[0], v[1] = info.min, info.max
    return v


def check_buffer(algorithm, arr, pivot="median", seed=0):
    """Sorts a copy of the NumPy array `arr` natively; checks order and counts."""
    work = arr.copy()
    counts = _native.sort_buffer(algorithm, work, pivot, seed)
    assert np.array_equal(work, np.sort(arr)), (algorithm, arr.dtype, len(arr))
    twin = arr.tolist()
    bits, signed = bits_signed(arr.dtype)
    twin_counts = run_twin(algorithm, twin, pivot, seed, bits=bits, signed=signed)
    assert counts == twin_counts, (algorithm, arr.dtype, len(arr))
    # the same permutation, down to where -0.0 and 0.0 (equal) ended up
    assert [repr(x) for x in work.tolist()] == [repr(x) for x in twin]
    return counts


@pytest.mark.parametrize("dtype", NUMPY_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_numpy_every_dtype(algorithm, dtype):
    if algorithm in INTEGER_ONLY and np.dtype(dtype).kind == "f":
        pytest.skip("integer-only algorithm (refusal tested in test_sort_errors.py)")
    sizes = (0, 1, 2, 5, 150) if algorithm in QUADRATIC else (0, 1, 2, 5, 150, 2500)
    for n in sizes:
        check_buffer(algorithm, values_for(dtype, n, seed=n,
                                           narrow=algorithm == "counting_sort"))


@pytest.mark.parametrize("pivot", PIVOTS)
def test_numpy_quick_sort_pivots(pivot):
    for dtype in (np.int64, np.uint8, np.float32):
        for n in (3, 100, 2000):
            check_buffer("quick_sort", values_for(dtype, n, seed=n), pivot, seed=n)


@pytest.mark.parametrize("typecode", TYPECODES)
def test_array_every_typecode(typecode):
    for algorithm in ALGORITHMS:
        if algorithm in INTEGER_ONLY and typecode in "fd":
            continue
        n = 120 if algorithm in QUADRATIC else 1500
        raw = ints(n, "random", seed=7, lo=-100, hi=100)
        data = array.array(typecode, [x + 100 if typecode.isupper() else x for x in raw])
        work = array.array(typecode, data)
        counts = _native.sort_buffer(algorithm, work)
        assert work.tolist() == sorted(data)
        bits, signed = work.itemsize * 8, typecode.islower()
        twin = data.tolist()
        assert counts == run_twin(algorithm, twin, bits=bits, signed=signed)


def test_buffer_counts_equal_list_counts():
    # one algorithm, one order: the element container does not change the counts
    data = ints(800, "random", seed=2)
    for algorithm in ("quick_sort", "merge_sort", "heap_sort", "insertion_sort"):
        a = np.array(data, dtype=np.int64)
        assert _native.sort_buffer(algorithm, a) == _native.sort_list(algorithm, list(data))


def test_memoryview_native_size_formats_and_ctypes_prefix():
    for fmt, values in (("n", [5, -3, 2**62, -2**63]), ("N", [5, 3, 2**64 - 1, 0])):
        mv = memoryview(bytearray(8 * len(values))).cast(fmt)
        for i, v in enumerate(values):
            mv[i] = v
        _native.sort_buffer("radix_sort", mv)
        assert mv.tolist() == sorted(values)
    raw = bytearray(b"\x03\xff\x01\x02")            # format 'B'
    _native.sort_buffer("counting_sort", raw)
    assert raw == bytearray(b"\x01\x02\x03\xff")
    # ctypes exports an explicit byte-order prefix ('<i' here): native, accepted
    arr = (ctypes.c_int32 * 5)(4, -1, 3, 9, -7)
    assert memoryview(arr).format.startswith("<")
    _native.sort_buffer("heap_sort", arr)
    assert list(arr) == [-7, -1, 3, 4, 9]


def test_full_64_bit_ranges():
    i64 = np.array([2**63 - 1, -2**63, 0, -1, 1, -2**63 + 1] * 50, dtype=np.int64)
    u64 = np.array([2**64 - 1, 0, 2**63, 2**63 - 1, 1] * 50, dtype=np.uint64)
    for algorithm in ("radix_sort", "quick_sort", "merge_sort_bottom_up"):
        check_buffer(algorithm, i64)
        check_buffer(algorithm, u64)
    check_buffer("counting_sort", np.array([-2**63, -2**63 + 5, -2**63 + 1], dtype=np.int64))
    check_buffer("counting_sort", np.array([2**64 - 1, 2**64 - 9], dtype=np.uint64))


def test_empty_and_single_element_buffers():
    for algorithm in ALGORITHMS:
        for data in (np.zeros(0, dtype=np.int32), np.array([5], dtype=np.uint16)):
            work = data.copy()
            counts = _native.sort_buffer(algorithm, work)
            assert work.tolist() == data.tolist()
            assert counts == run_twin(algorithm, data.tolist(), bits=data.itemsize * 8,
                                      signed=data.dtype.kind == "i")
