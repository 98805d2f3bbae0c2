"""Seeded input generators: the same seed gives the same input on every run, machine
and NumPy version.

``generate(distribution, size, kind, seed)`` makes one input of :data:`DISTRIBUTIONS`
x :data:`KINDS`. The random numbers come from splitmix64 (Steele, Lea and Flood,
"Fast splittable pseudorandom number generators", 2014), computed here in NumPy
uint64 arithmetic, which wraps modulo 2**64 identically everywhere; numpy.random's
streams are not used because NumPy does not promise them across versions. The k-th
output (k = 1, 2, ...) of seed s is ``mix(s + k * 0x9E3779B97F4A7C15)`` with mix the
two xor-shift-multiply rounds below; seed 0 starts 0xE220A8397B1DCDAF (the published
first value), which the tests pin.

What each distribution is, for n elements:
  random        ints uniform in [-2n, 2n) (a range that grows with n, so that counting
                sort stays O(n + k) with k ~ n); floats uniform in [0, 1) with 53 random
                bits; strs of 8 lowercase letters
  sorted        random, sorted ascending        reversed   random, sorted descending
  nearly_sorted sorted, then max(1, n // 100) swaps of two random positions
  few_unique    each element one of 10 random values
  all_equal     n copies of one random value
"""
from __future__ import annotations

import numbers
from typing import List, Union

import numpy as np

__all__ = ["DISTRIBUTIONS", "KINDS", "CONTAINERS", "generate", "splitmix64", "derive_seed",
           "check_distribution", "check_kind", "check_seed"]

DISTRIBUTIONS = ("random", "sorted", "reversed", "nearly_sorted", "few_unique", "all_equal")
KINDS = ("int", "float", "str")
#: How the input is handed to an algorithm: a Python list, or a NumPy array
#: (int64 or float64; no str).
CONTAINERS = ("list", "numpy")

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_FEW = 10           # distinct values of few_unique
_STR_LEN = 8        # letters per random string

# sub-streams of one seed (so that, e.g., the swap positions of nearly_sorted do not
# reuse the values' random numbers)
_STREAM_VALUES, _STREAM_POOL, _STREAM_SWAPS = 0, 1, 2


def _mix_scalar(z: int) -> int:
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def splitmix64(seed: int, count: int) -> np.ndarray:
    """The first ``count`` outputs of splitmix64 seeded with ``seed``, as uint64."""
    seed = check_seed(seed)
    k = np.arange(1, count + 1, dtype=np.uint64)
    # uint64 array arithmetic wraps modulo 2**64 without warnings, on every platform
    z = np.uint64(seed) + k * np.uint64(_GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


def derive_seed(seed: int, *parts: int) -> int:
    """A seed for a sub-stream: splitmix64's mix folded over ``parts`` (ints >= 0).
    ``compare`` derives each input's seed from (seed, size, iteration)."""
    z = check_seed(seed)
    for p in parts:
        z = _mix_scalar(((z ^ (int(p) & _MASK)) + _GAMMA) & _MASK)
    return z


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not \
            0 <= int(seed) <= _MASK:
        raise ValueError(f"seed must be an integer in 0..2**64-1, got {seed!r}")
    return int(seed)


def check_distribution(distribution) -> str:
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {distribution!r}; use one of "
                         f"{', '.join(DISTRIBUTIONS)}")
    return distribution


def check_kind(kind) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown input kind {kind!r}; use one of {', '.join(KINDS)}")
    return kind


def _values(kind: str, u: np.ndarray, n: int):
    """Elements of ``kind`` from random uint64 ``u``: an int64/float64 array, or a list
    of str."""
    if kind == "int":
        span = 4 * max(n, 1)
        return (u % np.uint64(span)).astype(np.int64) - np.int64(2 * max(n, 1))
    if kind == "float":
        # the top 53 bits scaled by 2**-53: exact in float64, uniform in [0, 1)
        return (u >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    letters = np.empty((len(u), _STR_LEN), dtype=np.uint8)
    rest = u.copy()
    for j in range(_STR_LEN):
        letters[:, j] = (rest % np.uint64(26)).astype(np.uint8) + ord("a")
        rest //= np.uint64(26)
    return letters.view(f"S{_STR_LEN}").ravel().astype(f"U{_STR_LEN}").tolist()


def _sorted(values, reverse: bool = False):
    if isinstance(values, list):
        return sorted(values, reverse=reverse)
    out = np.sort(values, kind="stable")
    return out[::-1].copy() if reverse else out


def generate(distribution: str, size: int, kind: str = "int", seed: int = 0,
             container: str = "list") -> Union[List, np.ndarray]:
    """One input: ``size`` elements of ``kind`` in ``distribution``, as a list (the
    default) or, with ``container="numpy"``, an int64 or float64 array."""
    check_distribution(distribution)
    check_kind(kind)
    seed = check_seed(seed)
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0:
        raise ValueError(f"size must be a non-negative integer, got {size!r}")
    if container not in CONTAINERS:
        raise ValueError(f"unknown container {container!r}; use one of {', '.join(CONTAINERS)}")
    if container == "numpy" and kind == "str":
        raise ValueError("str inputs come only as lists (container='list'); NumPy arrays "
                         "of the sort engines hold ints or floats")
    n = int(size)
    u = splitmix64(derive_seed(seed, _STREAM_VALUES), n)
    if distribution == "random":
        data = _values(kind, u, n)
    elif distribution in ("sorted", "reversed"):
        data = _sorted(_values(kind, u, n), reverse=distribution == "reversed")
    elif distribution == "nearly_sorted":
        data = _sorted(_values(kind, u, n))
        if n > 1:
            swaps = max(1, n // 100)
            pos = (splitmix64(derive_seed(seed, _STREAM_SWAPS), 2 * swaps)
                   % np.uint64(n)).astype(np.int64).tolist()
            if not isinstance(data, list):
                data = data.copy()
            for i, j in zip(pos[0::2], pos[1::2]):
                data[i], data[j] = data[j], data[i]
    elif distribution == "few_unique":
        pool = _values(kind, splitmix64(derive_seed(seed, _STREAM_POOL), _FEW), n)
        index = (u % np.uint64(_FEW)).astype(np.int64)
        data = [pool[i] for i in index.tolist()] if isinstance(pool, list) else pool[index]
    else:   # all_equal
        one = _values(kind, splitmix64(derive_seed(seed, _STREAM_POOL), 1), n)
        data = one * n if isinstance(one, list) else np.repeat(one, n)
    if container == "numpy":
        return np.ascontiguousarray(data)
    return data if isinstance(data, list) else data.tolist()
