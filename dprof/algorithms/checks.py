"""Calling an algorithm and checking what it returns.

``invoke`` is what a comparison runs inside the profiled window: one copy of the input
and the call, the same for every algorithm (a built-in's wrapper copies, a user's
callable gets a copy made here). ``check_result`` runs outside the window: the result
must be a sorted permutation of the input (compared with the input sorted once by
``sorted``/``numpy.sort``) and the counts a dict of str -> non-negative int. Anything
else is a :class:`BadResultError` naming the algorithm and what was wrong.
"""
from __future__ import annotations

import array
import numbers
from typing import Any, Dict, Mapping, Optional, Tuple

from dprof.algorithms.errors import BadResultError
from dprof.algorithms.spec import Algorithm

__all__ = ["invoke", "check_result", "reference_sort", "copy_input"]


def copy_input(data: Any) -> Any:
    if isinstance(data, list):
        return list(data)
    if isinstance(data, array.array):
        return array.array(data.typecode, data)
    if hasattr(data, "copy") and type(data).__module__ == "numpy":
        return data.copy()
    return list(data)


def invoke(algo: Algorithm, data: Any, parameters: Mapping[str, Any], seed: int) -> Any:
    """Call the implementation on (a copy of) ``data``; returns what it returned."""
    if algo.takes_seed:
        return algo.function(data, seed=seed, **parameters)
    return algo.function(copy_input(data), **parameters)


def reference_sort(data: Any) -> Any:
    """The right answer, to check results against."""
    if type(data).__module__ == "numpy":
        import numpy as np
        return np.sort(data, kind="stable")
    return sorted(data)


def _split(result: Any) -> Tuple[Any, Any, bool]:
    """(data, counts, counts_given) from ``data`` or ``(data, counts)``."""
    if isinstance(result, tuple) and len(result) == 2 and (
            isinstance(result[1], Mapping) or
            isinstance(result[0], (list, tuple, array.array)) or
            type(result[0]).__module__ == "numpy"):
        return result[0], result[1], True
    return result, None, False


def check_result(algo: Algorithm, result: Any, expected: Any,
                 context: str = "") -> Tuple[Any, Optional[Dict[str, int]]]:
    """(sorted data, counts or None) from what ``algo`` returned; BadResultError when
    it is not ``expected`` (the sorted input) or the counts are malformed."""
    where = f"algorithm {algo.name!r}" + (f" ({context})" if context else "")
    data, counts, counts_given = _split(result)
    if data is None or isinstance(data, (str, bytes, numbers.Number, Mapping)) or \
            not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise BadResultError(f"{where} returned {type(data).__name__}, not the sorted "
                             f"data (a list, tuple or array) or (sorted data, counts)")
    _check_sorted_permutation(where, data, expected)
    if not counts_given:
        return data, None
    return data, _check_counts(where, counts)


def _check_sorted_permutation(where: str, data: Any, expected: Any) -> None:
    n, want = len(data), len(expected)
    if n != want:
        raise BadResultError(f"{where} returned {n} elements for an input of {want}; "
                             f"a sort returns a permutation of its input")
    got = data.tolist() if hasattr(data, "tolist") else list(data)
    ref = expected.tolist() if hasattr(expected, "tolist") else list(expected)
    if got == ref:
        return
    for i in range(1, n):
        try:
            out_of_order = got[i] < got[i - 1]
        except TypeError:
            out_of_order = True
        if out_of_order:
            raise BadResultError(f"{where} returned unsorted data: element {i} "
                                 f"({got[i]!r}) is less than element {i - 1} "
                                 f"({got[i - 1]!r})")
    first = next(i for i in range(n) if got[i] != ref[i])
    raise BadResultError(f"{where} returned sorted data that is not a permutation of its "
                         f"input: element {first} is {got[first]!r}, the sorted input has "
                         f"{ref[first]!r} there")


def _check_counts(where: str, counts: Any) -> Dict[str, int]:
    if not isinstance(counts, Mapping):
        raise BadResultError(f"{where} returned counts of type {type(counts).__name__}; "
                             f"counts are a dict of str -> non-negative int")
    out: Dict[str, int] = {}
    for key, value in counts.items():
        if not isinstance(key, str):
            raise BadResultError(f"{where} returned a count named {key!r}; count names "
                                 f"are str")
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise BadResultError(f"{where} returned count {key}={value!r} "
                                 f"({type(value).__name__}); counts are non-negative ints")
        out[key] = int(value)
    return out
