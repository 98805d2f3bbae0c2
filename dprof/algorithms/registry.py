"""The registry: built-ins, algorithms registered from Python, and entry points.

Three sources, one table: the nine built-ins (``builtin.py``), callables registered
with :func:`register` (as a decorator or a call), and objects other packages publish
under the entry point group ``dprof.algorithms``::

    [project.entry-points."dprof.algorithms"]
    tim_sort = "mypkg.sorts:tim_sort"

The object an entry point names may be an :class:`Algorithm`, a function decorated
with :func:`register` (its metadata comes along), or a plain callable (registered
under the entry point's name, with no metadata). Entry points are loaded on the first
look-up, not at import; one that fails to load is skipped with a warning naming it,
so that a broken plugin cannot break dprof.

A name is registered once: registering a taken name raises, unless ``replace=True``
and the holder is not a built-in.
"""
from __future__ import annotations

import threading
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from dprof.algorithms import builtin
from dprof.algorithms.errors import AlgorithmError, UnknownAlgorithmError
from dprof.algorithms.inputs import KINDS
from dprof.algorithms.spec import Algorithm

__all__ = ["ENTRY_POINT_GROUP", "register", "unregister", "get", "names", "all_algorithms",
           "reload_entry_points", "AlgorithmWarning"]

ENTRY_POINT_GROUP = "dprof.algorithms"

# the attribute @register leaves on a function, for entry points that name it
_MARK = "__dprof_algorithm__"


class AlgorithmWarning(UserWarning):
    """An entry point of the dprof.algorithms group could not be loaded."""


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._table: Dict[str, Algorithm] = {}
        self._entry_points_loaded = False

    def _ensure(self) -> None:
        with self._lock:
            if not self._table:
                for algo in builtin.algorithms():
                    self._table[algo.name] = algo
            if not self._entry_points_loaded:
                self._entry_points_loaded = True
                self._load_entry_points()

    def _load_entry_points(self) -> None:
        for ep in _entry_points():
            where = f"entry point {ep.name} = {ep.value}"
            try:
                obj = ep.load()
                algo = _from_entry_point(ep.name, obj, where)
            except Exception as exc:
                warnings.warn(AlgorithmWarning(f"dprof.algorithms: skipped {where}: {exc}"),
                              stacklevel=4)
                continue
            held = self._table.get(algo.name)
            if held is not None and held.function is algo.function:
                continue        # the module's @register already put it here
            if held is not None:
                warnings.warn(AlgorithmWarning(
                    f"dprof.algorithms: skipped {where}: the name {algo.name!r} is taken "
                    f"({held.origin})"), stacklevel=4)
                continue
            self._table[algo.name] = algo

    def add(self, algo: Algorithm, replace: bool = False) -> None:
        with self._lock:
            self._ensure()
            held = self._table.get(algo.name)
            if held is not None and held.function is not algo.function:
                if held.builtin:
                    raise AlgorithmError(f"{algo.name!r} is a built-in algorithm; register "
                                         f"yours under another name")
                if not replace:
                    raise AlgorithmError(f"an algorithm named {algo.name!r} is already "
                                         f"registered ({held.origin}); pass replace=True "
                                         f"to replace it")
            self._table[algo.name] = algo

    def remove(self, name: str) -> None:
        with self._lock:
            self._ensure()
            algo = self.get(name)
            if algo.builtin:
                raise AlgorithmError(f"{name!r} is a built-in algorithm and cannot be removed")
            del self._table[name]

    def get(self, name: str) -> Algorithm:
        with self._lock:
            self._ensure()
            algo = self._table.get(name)
        if algo is None:
            raise UnknownAlgorithmError(f"unknown algorithm {name!r}; known: "
                                        f"{', '.join(self.names())}")
        return algo

    def names(self) -> List[str]:
        with self._lock:
            self._ensure()
            return list(self._table)

    def reload_entry_points(self) -> None:
        with self._lock:
            self._ensure()
            self._table = {k: v for k, v in self._table.items()
                           if not v.origin.startswith("entry point")}
            self._entry_points_loaded = False
            self._ensure()


def _entry_points():
    from importlib import metadata
    try:
        return list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    except TypeError:       # Python 3.9: entry_points() takes no arguments
        return list(metadata.entry_points().get(ENTRY_POINT_GROUP, ()))


def _from_entry_point(name: str, obj: Any, where: str) -> Algorithm:
    if isinstance(obj, Algorithm):
        return obj
    marked = getattr(obj, _MARK, None)
    if isinstance(marked, Algorithm):
        return marked
    if callable(obj):
        return Algorithm(name=name, function=obj, origin=where)
    raise AlgorithmError(f"it names a {type(obj).__name__}, not an Algorithm or a callable")


_REGISTRY = _Registry()


def register(function: Optional[Callable] = None, *, name: Optional[str] = None,
             best: Optional[str] = None, average: Optional[str] = None,
             worst: Optional[str] = None, stable: Optional[bool] = None,
             in_place: Optional[bool] = None, extra_memory: Optional[str] = None,
             kinds: Sequence[str] = KINDS, containers: Sequence[str] = ("list",),
             parameters: Optional[Mapping[str, Sequence[Any]]] = None,
             defaults: Optional[Mapping[str, Any]] = None, description: str = "",
             replace: bool = False):
    """Register a Python sort function so that it competes with the built-ins.

    As a decorator (``@register`` or ``@register(name="tim", average="n log n")``) it
    returns the function unchanged; as a call (``register(fn, name=...)``) it returns
    the :class:`Algorithm`. The function is called as ``fn(data, **parameters)`` with
    a copy of the input (a list, or a NumPy array when ``containers`` has "numpy")
    and returns the sorted data, or ``(sorted_data, counts)`` with counts a dict of
    str -> int such as ``{"comparisons": 10, "swaps": 3}``. What it returns is checked
    on every run of a comparison. The other arguments are :class:`Algorithm`'s."""
    def make(fn: Callable) -> Algorithm:
        if not callable(fn):
            raise AlgorithmError(f"register() needs a callable, got {type(fn).__name__} "
                                 f"{fn!r}")
        algo = Algorithm(
            name=name or getattr(fn, "__name__", ""), function=fn, best=best,
            average=average, worst=worst, stable=stable, in_place=in_place,
            extra_memory=extra_memory, kinds=tuple(kinds), containers=tuple(containers),
            parameters={k: tuple(v) for k, v in (parameters or {}).items()},
            defaults=dict(defaults or {}), description=description or _first_line(fn),
            origin="register()")
        _REGISTRY.add(algo, replace=replace)
        return algo

    if function is not None:
        return make(function)

    def decorate(fn: Callable) -> Callable:
        algo = make(fn)
        try:
            setattr(fn, _MARK, algo)
        except (AttributeError, TypeError):
            pass            # a builtin or a slotted callable: registered all the same
        return fn
    return decorate


def _first_line(fn: Callable) -> str:
    doc = getattr(fn, "__doc__", None) or ""
    return doc.strip().split("\n")[0]


def unregister(name: str) -> None:
    """Remove an algorithm registered with register() or by an entry point."""
    _REGISTRY.remove(name)


def get(name: str) -> Algorithm:
    """The Algorithm registered as ``name``; UnknownAlgorithmError listing the known
    names otherwise."""
    if not isinstance(name, str):
        raise UnknownAlgorithmError(f"an algorithm is named by a str, got "
                                    f"{type(name).__name__} {name!r}")
    return _REGISTRY.get(name)


def names() -> List[str]:
    """Every registered name: the built-ins first, in the contract's order."""
    return _REGISTRY.names()


def all_algorithms() -> Tuple[Algorithm, ...]:
    return tuple(_REGISTRY.get(n) for n in _REGISTRY.names())


def reload_entry_points() -> None:
    """Forget the algorithms that came from entry points and load them again (after
    installing a package in a running interpreter)."""
    _REGISTRY.reload_entry_points()
