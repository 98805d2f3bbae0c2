"""``Algorithm``: one sort algorithm and what is known about it.

The metadata is what ``dprof algorithms`` lists and what a comparison uses (the
declared complexity feeds the runaway guard; the input kinds decide what it may be
given). ``Algorithm.run`` calls the implementation on a copy of the input and checks
what comes back, so that a built-in and a user's Python callable are driven and
trusted the same way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from dprof.algorithms.complexity import parse_complexity
from dprof.algorithms.errors import AlgorithmError
from dprof.algorithms.inputs import CONTAINERS, KINDS

__all__ = ["Algorithm", "COUNT_NAMES"]

#: The operation counts of the contract (docs/algorithms-native.md), in display order.
COUNT_NAMES = ("comparisons", "swaps", "moves", "reads", "writes")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")


@dataclass(frozen=True)
class Algorithm:
    """A registered sort algorithm.

    ``name``: what users type (letters, digits, ``_ . -``; it starts with a letter or
    ``_``). ``function``: ``function(data, **parameters)`` returns the sorted data, or
    ``(sorted_data, counts)`` with counts a dict of str -> int (``COUNT_NAMES`` are the
    ones shown in tables; others are kept). ``best``/``average``/``worst``: complexity
    labels (anything :func:`parse_complexity` reads) or None when unknown.
    ``stable``/``in_place``: bool or None; ``extra_memory``: text such as "O(1)" or
    "O(n + k)". ``kinds``: element kinds it takes (of int, float, str);
    ``containers``: "list" and/or "numpy". ``parameters``: name -> allowed values;
    ``defaults``: name -> default value. ``origin``: "built-in", "register()" or
    "entry point NAME = VALUE"."""

    name: str
    function: Callable[..., Any]
    best: Optional[str] = None
    average: Optional[str] = None
    worst: Optional[str] = None
    stable: Optional[bool] = None
    in_place: Optional[bool] = None
    extra_memory: Optional[str] = None
    kinds: Tuple[str, ...] = KINDS
    containers: Tuple[str, ...] = ("list",)
    parameters: Mapping[str, Tuple[Any, ...]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    origin: str = "register()"
    # built-ins get the comparison's seed (quick_sort's "random" pivot draws from it)
    takes_seed: bool = False

    def __post_init__(self) -> None:
        where = f"algorithm {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise AlgorithmError(f"bad algorithm name {self.name!r}: use letters, digits, "
                                 f"'_', '.', '-', starting with a letter or '_'")
        if not callable(self.function):
            raise AlgorithmError(f"{where}: the implementation must be callable, got "
                                 f"{type(self.function).__name__}")
        for label in ("best", "average", "worst"):
            value = getattr(self, label)
            if value is not None:
                try:
                    object.__setattr__(self, label, parse_complexity(value))
                except (ValueError, TypeError) as exc:
                    raise AlgorithmError(f"{where}: {label} complexity: {exc}") from None
        for label in ("stable", "in_place"):
            if getattr(self, label) not in (None, True, False):
                raise AlgorithmError(f"{where}: {label} must be True, False or None")
        kinds = tuple(self.kinds)
        if not kinds or any(k not in KINDS for k in kinds):
            raise AlgorithmError(f"{where}: kinds must be a non-empty subset of {KINDS}, "
                                 f"got {self.kinds!r}")
        containers = tuple(self.containers)
        if not containers or any(c not in CONTAINERS for c in containers):
            raise AlgorithmError(f"{where}: containers must be a non-empty subset of "
                                 f"{CONTAINERS}, got {self.containers!r}")
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "containers", containers)
        params = {str(k): tuple(v) for k, v in dict(self.parameters).items()}
        defaults = dict(self.defaults)
        for key, value in defaults.items():
            if key not in params:
                raise AlgorithmError(f"{where}: default for unknown parameter {key!r}")
            if value not in params[key]:
                raise AlgorithmError(f"{where}: default {key}={value!r} is not one of "
                                     f"{params[key]}")
        object.__setattr__(self, "parameters", params)
        object.__setattr__(self, "defaults", defaults)

    @property
    def builtin(self) -> bool:
        return self.origin == "built-in"

    def resolve_parameters(self, given: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """The defaults overridden by ``given``; AlgorithmError naming a parameter this
        algorithm does not take or a value it does not allow."""
        out = dict(self.defaults)
        for key, value in dict(given or {}).items():
            if key not in self.parameters:
                known = ", ".join(self.parameters) or "none"
                raise AlgorithmError(f"algorithm {self.name!r} takes no parameter {key!r} "
                                     f"(its parameters: {known})")
            if value not in self.parameters[key]:
                raise AlgorithmError(f"algorithm {self.name!r}: {key}={value!r} is not one "
                                     f"of {', '.join(map(str, self.parameters[key]))}")
            out[key] = value
        return out

    def describe(self) -> Dict[str, Any]:
        """The metadata as plain, JSON-safe values (for tables and --json)."""
        return {"name": self.name, "best": self.best, "average": self.average,
                "worst": self.worst, "stable": self.stable, "in_place": self.in_place,
                "extra_memory": self.extra_memory, "kinds": list(self.kinds),
                "containers": list(self.containers),
                "parameters": {k: list(v) for k, v in self.parameters.items()},
                "defaults": dict(self.defaults), "origin": self.origin,
                "description": self.description}
