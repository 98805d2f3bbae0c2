"""What a comparison will run, checked before anything runs.

``make_plan`` turns compare()'s arguments into a :class:`Plan`: the entries (an
algorithm with its parameters and the label it is shown under), the sizes, the
iterations and the input. Every argument error is raised here, naming the bad value,
so that a mistake costs nothing and stores nothing.

An entry is a registered name (``"merge_sort"``), a name with parameters
(``"quick_sort[pivot_strategy=first]"``, labelled that way), or an Algorithm.
"""
from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

from dprof.algorithms import registry
from dprof.algorithms.errors import AlgorithmError
from dprof.algorithms.inputs import (CONTAINERS, check_distribution, check_kind, check_seed)
from dprof.algorithms.spec import Algorithm

__all__ = ["Entry", "Plan", "make_plan", "parse_sizes", "parse_size", "MAX_SIZE"]

#: The largest input size a comparison accepts (an input of 10^8 ints is ~3 GB).
MAX_SIZE = 10 ** 8

_ENTRY = re.compile(r"^\s*([^\[\]\s]+)\s*(?:\[(.*)\])?\s*$")


@dataclass(frozen=True)
class Entry:
    label: str
    algorithm: Algorithm
    parameters: Dict[str, Any]


@dataclass(frozen=True)
class Plan:
    entries: Tuple[Entry, ...]
    sizes: Tuple[int, ...]
    iterations: int
    distribution: str
    kind: str
    container: str
    seed: int
    time_limit: float
    force: bool

    def describe(self) -> Dict[str, Any]:
        """JSON-safe description, stored with every run of the comparison."""
        return {"algorithms": [e.label for e in self.entries], "sizes": list(self.sizes),
                "iterations": self.iterations, "distribution": self.distribution,
                "kind": self.kind, "container": self.container, "seed": self.seed,
                "time_limit": self.time_limit, "force": self.force}


def parse_size(value: Any) -> int:
    """A positive integer size from an int, a whole float (1e3) or text ("1e3",
    "10000", "1_000"); ValueError naming the value otherwise."""
    original = value
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"size {original!r} is not a number; sizes are positive "
                                 f"integers such as 1000 or 1e4") from None
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, numbers.Real)):
        raise ValueError(f"size {original!r} is not a positive integer")
    if isinstance(value, numbers.Integral):
        n = int(value)
    else:
        if not math.isfinite(value) or value != math.floor(value):
            raise ValueError(f"size {original!r} is not a whole number; sizes are positive "
                             f"integers (1e3 is fine, 1.5 is not)")
        n = int(value)
    if n <= 0:
        raise ValueError(f"size {original!r} is not positive; sizes are positive integers")
    if n > MAX_SIZE:
        raise ValueError(f"size {original!r} is above the largest supported size "
                         f"{MAX_SIZE:,}")
    return n


def parse_sizes(sizes: Union[str, int, Sequence[Any]]) -> Tuple[int, ...]:
    """Sizes from "1e3,1e4", a single size, or a sequence; sorted, duplicates dropped."""
    if isinstance(sizes, str):
        parts = [p for p in sizes.split(",")]
        if any(not p.strip() for p in parts):
            raise ValueError(f"sizes {sizes!r} has an empty item; write them as 1e3,1e4")
        items: List[Any] = parts
    elif isinstance(sizes, (numbers.Number,)):
        items = [sizes]
    else:
        items = list(sizes)
    if not items:
        raise ValueError("no sizes given")
    return tuple(sorted({parse_size(s) for s in items}))


def _parse_value(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _entry(item: Any, shared: Mapping[str, Any],
           per_algorithm: Mapping[str, Mapping[str, Any]]) -> Entry:
    if isinstance(item, Algorithm):
        algo, given, label = item, {}, item.name
    elif isinstance(item, str):
        match = _ENTRY.match(item)
        if not match:
            raise AlgorithmError(f"bad algorithm {item!r}; write a name, or "
                                 f"name[param=value,...]")
        algo = registry.get(match.group(1))
        given = {}
        if match.group(2) is not None:
            for part in match.group(2).split(","):
                key, sep, value = part.partition("=")
                if not sep or not key.strip():
                    raise AlgorithmError(f"bad parameter {part!r} in {item!r}; write "
                                         f"name[param=value,...]")
                given[key.strip()] = _parse_value(value.strip())
        label = item.strip() if given else algo.name
    else:
        raise AlgorithmError(f"an algorithm is a registered name or an Algorithm, got "
                             f"{type(item).__name__} {item!r}")
    params = {k: v for k, v in shared.items() if k in algo.parameters}
    params.update(per_algorithm.get(algo.name, {}))
    params.update(given)
    return Entry(label=label, algorithm=algo, parameters=algo.resolve_parameters(params))


def make_plan(algorithms: Union[str, Sequence[Any]], sizes: Any, iterations: int,
              distribution: str, seed: int, kind: str, container: str,
              shared: Mapping[str, Any], per_algorithm: Mapping[str, Mapping[str, Any]],
              time_limit: float, force: bool) -> Plan:
    if isinstance(algorithms, (str, Algorithm)):
        algorithms = [algorithms]
    entries = [_entry(a, shared, per_algorithm) for a in algorithms]
    if not entries:
        raise AlgorithmError("no algorithms given")
    labels = [e.label for e in entries]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise AlgorithmError(f"algorithm {twice[0]!r} is listed twice")
    sizes = parse_sizes(sizes)
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) or \
            iterations <= 0:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    check_distribution(distribution)
    check_kind(kind)
    if container not in CONTAINERS:
        raise ValueError(f"unknown container {container!r}; use one of {', '.join(CONTAINERS)}")
    if container == "numpy" and kind == "str":
        raise ValueError("str inputs come only as lists; use container='list' or an int or "
                         "float kind")
    for e in entries:
        if kind not in e.algorithm.kinds:
            raise AlgorithmError(f"{e.label} takes {'/'.join(e.algorithm.kinds)} input, "
                                 f"not {kind}")
        if container not in e.algorithm.containers:
            raise AlgorithmError(f"{e.label} takes {'/'.join(e.algorithm.containers)} "
                                 f"containers, not {container}")
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or \
            not time_limit > 0:
        raise ValueError(f"time_limit must be a positive number of seconds, got "
                         f"{time_limit!r}")
    return Plan(entries=tuple(entries), sizes=sizes, iterations=int(iterations),
                distribution=distribution, kind=kind, container=container,
                seed=check_seed(seed), time_limit=float(time_limit), force=bool(force))
