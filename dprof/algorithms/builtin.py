"""The nine built-in sort algorithms: metadata, and wrappers around the C engines.

Each wrapper follows the contract with the engines (docs/algorithms-native.md): it
copies the input (``list(seq)`` for a sequence, a copy of a NumPy array or an
``array.array``), sorts the copy in place with ``dprof._native.sort_list`` or
``sort_buffer``, and returns ``(sorted copy of the same kind, counts)``. The caller's
input is never modified.

Call them directly (``dprof.algorithms.builtin.sort("merge_sort", data)``) or through
the registry (``dprof.algorithms.get("merge_sort").function``).
"""
from __future__ import annotations

import array
import functools
from typing import Any, Dict, List, Tuple

from dprof.algorithms.errors import AlgorithmError
from dprof.algorithms.spec import Algorithm

__all__ = ["NAMES", "PIVOT_STRATEGIES", "algorithms", "sort", "engine_available"]

NAMES = ("bubble_sort", "insertion_sort", "selection_sort", "quick_sort", "merge_sort",
         "merge_sort_bottom_up", "heap_sort", "counting_sort", "radix_sort")
PIVOT_STRATEGIES = ("first", "last", "random", "median")

# name -> (best, average, worst, stable, in place, extra memory, kinds, description)
_METADATA = {
    "bubble_sort": ("O(n)", "O(n^2)", "O(n^2)", True, True, "O(1)", ("int", "float", "str"),
                    "exchanges adjacent out-of-order pairs; stops after a pass without one"),
    "insertion_sort": ("O(n)", "O(n^2)", "O(n^2)", True, True, "O(1)", ("int", "float", "str"),
                       "shifts each element left into the sorted prefix"),
    "selection_sort": ("O(n^2)", "O(n^2)", "O(n^2)", False, True, "O(1)",
                       ("int", "float", "str"),
                       "swaps the smallest remaining element into place"),
    "quick_sort": ("O(n log n)", "O(n log n)", "O(n^2)", False, True, "O(log n)",
                   ("int", "float", "str"),
                   "partitions around a pivot (first, last, random or median of three)"),
    "merge_sort": ("O(n log n)", "O(n log n)", "O(n log n)", True, False, "O(n)",
                   ("int", "float", "str"), "top-down: sorts halves recursively, merges them"),
    "merge_sort_bottom_up": ("O(n log n)", "O(n log n)", "O(n log n)", True, False, "O(n)",
                             ("int", "float", "str"),
                             "bottom-up: merges runs of width 1, 2, 4, ..."),
    "heap_sort": ("O(n log n)", "O(n log n)", "O(n log n)", False, True, "O(1)",
                  ("int", "float", "str"), "builds a max-heap, moves its top to the end"),
    "counting_sort": ("O(n)", "O(n)", "O(n)", True, False, "O(n + k), k = max - min + 1",
                      ("int",), "counts each value, writes them back in order; "
                                "O(n + k) with k the value range"),
    "radix_sort": ("O(n)", "O(n)", "O(n)", True, False, "O(n)", ("int",),
                   "LSD radix sort by bytes; O(n * d) with d the key bytes (fixed)"),
}


def engine_available() -> bool:
    """Whether this build of dprof has the C sort engines."""
    from dprof._native_loader import native
    _native = native()
    if _native is None:
        return False
    return hasattr(_native, "sort_list") and hasattr(_native, "sort_buffer")


def _native():
    from dprof._native_loader import native as load, reason
    native = load()
    if native is None:
        raise AlgorithmError(f"the built-in sort engines are C only: {reason()}; "
                             f"build the extension (`python setup.py build_ext --inplace`, "
                             f"DPROF_NO_NATIVE unset) or register a Python algorithm")
    if not hasattr(native, "sort_list"):
        raise AlgorithmError("this build of dprof._native has no sort engines "
                             "(sort_list/sort_buffer); rebuild the extension")
    return native


def sort(name: str, data: Any, pivot_strategy: str = "median",
         seed: int = 0) -> Tuple[Any, Dict[str, int]]:
    """Sort a copy of ``data`` with the built-in ``name``: (sorted data, counts).

    A list gives a list and a tuple a tuple; any other sequence a list; a NumPy array
    or an ``array.array`` gives a sorted copy of the same type and dtype."""
    if name not in NAMES:
        raise AlgorithmError(f"unknown built-in algorithm {name!r}; the built-ins are "
                             f"{', '.join(NAMES)}")
    native = _native()
    module = type(data).__module__
    if isinstance(data, array.array):
        out = array.array(data.typecode, data)
        return out, native.sort_buffer(name, out, pivot_strategy, seed)
    if module == "numpy" and hasattr(data, "dtype"):
        import numpy as np
        out = np.array(data, copy=True, order="C")
        return out, native.sort_buffer(name, out, pivot_strategy, seed)
    items: List[Any] = list(data)
    counts = native.sort_list(name, items, pivot_strategy, seed)
    return (tuple(items) if isinstance(data, tuple) else items), counts


def _wrapper(name: str):
    if name == "quick_sort":
        def run(data, pivot_strategy: str = "median", seed: int = 0):
            return sort(name, data, pivot_strategy, seed)
    else:
        def run(data, seed: int = 0):
            return sort(name, data, "median", seed)
    run.__name__ = name
    run.__qualname__ = name
    run.__doc__ = f"{name}: {_METADATA[name][7]}. Returns (sorted copy, counts)."
    return run


@functools.lru_cache(maxsize=None)
def algorithms() -> Tuple[Algorithm, ...]:
    """The built-ins as Algorithm records, in the contract's order."""
    out = []
    for name in NAMES:
        best, average, worst, stable, in_place, memory, kinds, text = _METADATA[name]
        params = {"pivot_strategy": PIVOT_STRATEGIES} if name == "quick_sort" else {}
        defaults = {"pivot_strategy": "median"} if name == "quick_sort" else {}
        out.append(Algorithm(name=name, function=_wrapper(name), best=best, average=average,
                             worst=worst, stable=stable, in_place=in_place,
                             extra_memory=memory, kinds=kinds, containers=("list", "numpy"),
                             parameters=params, defaults=defaults, description=text,
                             origin="built-in", takes_seed=True))
    return tuple(out)
