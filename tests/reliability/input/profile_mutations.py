"""Mutations of real profile files, for the loader fuzz tests (imported as
``profile_mutations``; pytest puts this directory on sys.path) and for the longer run
of ``tests/fuzz/fuzz_profiles.py --seconds N``.

A seed is a profile dprof itself recorded (stacks, memory and resources on), turned
into its JSON dict. A mutation picks one place in that dict (any key or list item,
at any depth) and deletes it, replaces it with a hostile value (wrong type, inf, nan,
a 400-digit int, a lone surrogate, a 100,000-deep nesting), or moves an id past the
end of what it points into. ``to_json`` writes the result as a file would hold it
(``Infinity``/``NaN`` included, as Python's json writes them).
"""
from __future__ import annotations

import json
import math
import random
from typing import Any, List, Tuple

DEEP = "\x00deep-nesting\x00"        # replaced by 100,000 nested lists in to_json
DEPTH = 100_000

HOSTILE: Tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2 ** 63, -2 ** 63 - 1, 10 ** 400, 1e308, -1e-300,
    math.inf, -math.inf, math.nan, "", "x", "\ud800", "caf\udce9.py", "\udfff\ud800",
    "9" * 500, [], [0], [[1, 2]], {}, {"a": 1}, {"version": 1}, 0.5, "cpu_python",
    "not_a_category", "1970-01-01T00:00:00", "0001-01-01T00:00:00",
    "9999-12-31T23:59:59-12:00", "not base64!", "AAAA", DEEP,
)
KINDS = ("delete", "replace", "past_end", "negate", "wrap", "surrogate")


def paths(doc: Any) -> List[tuple]:
    """Every place in ``doc`` (a tuple of keys and indexes), the root's children first."""
    out, todo = [], [((), doc)]
    while todo:
        path, value = todo.pop()
        items = value.items() if isinstance(value, dict) else \
            enumerate(value) if isinstance(value, list) else ()
        for key, child in items:
            out.append(path + (key,))
            todo.append((path + (key,), child))
    return out


def _parent(doc: Any, path: tuple):
    for key in path[:-1]:
        doc = doc[key]
    return doc


def mutate(doc: Any, place: int, kind: str, value: Any) -> Any:
    """A copy of ``doc`` with one mutation at ``paths(doc)[place % n]``."""
    doc = json.loads(json.dumps(doc))
    where = paths(doc)
    if not where:
        return value
    path = where[place % len(where)]
    parent, key = _parent(doc, path), path[-1]
    old = parent[key]
    if kind == "delete":
        del parent[key]
    elif kind == "replace":
        parent[key] = value
    elif kind == "past_end":     # an id (or any number) just past anything it names
        parent[key] = (old + 10 ** 6 if isinstance(old, int) and not isinstance(old, bool)
                       else len(where))
    elif kind == "negate":
        parent[key] = -old if isinstance(old, (int, float)) and not isinstance(old, bool) \
            else -1
    elif kind == "wrap":         # the right value, one level too deep
        parent[key] = [old]
    elif kind == "surrogate":    # strings gain an unencodable character
        parent[key] = (old + "\ud83d") if isinstance(old, str) else "\udc80"
    return doc


def to_json(doc: Any) -> str:
    text = json.dumps(doc)            # allow_nan: Infinity and NaN, as files may hold
    return text.replace(json.dumps(DEEP), "[" * DEPTH + "]" * DEPTH)


def random_mutation(doc: Any, rnd: random.Random, count: int = 1) -> Any:
    """``count`` random mutations in a row (for the time-bounded fuzz run)."""
    for _ in range(count):
        doc = mutate(doc, rnd.randrange(1 << 30), rnd.choice(KINDS), rnd.choice(HOSTILE))
    return doc


def recorded_profile() -> dict:
    """A real profile recorded by dprof (a recursion, some allocations), as a dict."""
    import dprof

    def recurse(n):
        return [bytearray(256) for _ in range(50)] if n == 0 else recurse(n - 1)

    def work():
        import time
        end = time.perf_counter() + 0.15
        while time.perf_counter() < end:
            recurse(30)

    with dprof.profile("fuzz-seed", stacks=True, stack_hz=500, memory=True, store=False,
                       parameters={"n": 30, "nested": {"a": [1, 2.5, None]}},
                       tags={"kind": "fuzz"}) as run:
        work()
    return run.profile.to_dict()
