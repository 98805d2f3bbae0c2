"""Errors of reading a profile: the one exception type every loader raises.

``Profile.from_dict``, ``StackProfile.from_dict``, ``MemoryProfile.from_dict`` and the
files ``dprof view`` reads raise ``ProfileFormatError`` (a ValueError) for any input
that is not a profile this dprof can read, and nothing else: the message names the
field that was wrong (``stacks.rows[3][1]``), and ``field`` holds that name. The
helpers below check one JSON value each and raise it; the loaders are written with
them so that a wrong type, a missing key, an id that points nowhere, an infinite or
64-bit-overflowing number is reported, never an AttributeError or IndexError.

This module imports nothing from dprof, so that every loader can use it.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

_INT64 = 2 ** 63


class ProfileFormatError(ValueError):
    """A profile (dict or file) that cannot be read: ``field`` names what was wrong."""

    def __init__(self, field: str, problem: str):
        self.field = field
        super().__init__(f"{field}: {problem}")


def describe(value: Any) -> str:
    """A short, safe description of a JSON value for a message: scalars by repr
    (clipped), containers by type and size (a repr of a 100,000-deep nesting would
    overflow the stack, and of a huge one would flood the terminal)."""
    if isinstance(value, (list, tuple, dict)):
        return f"{type(value).__name__} of {len(value)} items"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return f"a {len(str(abs(value)))}-digit int"
    text = ascii(value) if isinstance(value, str) else repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return text if isinstance(value, str) or value is None else f"{type(value).__name__} {text}"


_what = describe


def need_mapping(field: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise ProfileFormatError(field, f"must be an object (a dict), got {_what(value)}")
    return value


def need_list(field: str, value: Any, length: int = None) -> Sequence:
    if not isinstance(value, (list, tuple)):
        raise ProfileFormatError(field, f"must be a list, got {_what(value)}")
    if length is not None and len(value) != length:
        raise ProfileFormatError(field, f"must have {length} items, has {len(value)}")
    return value


def need_key(field: str, data: Mapping, key: str) -> Any:
    if key not in data:
        raise ProfileFormatError(f"{field}.{key}" if field else key, "is missing")
    return data[key]


def need_str(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ProfileFormatError(field, f"must be a string, got {_what(value)}")
    return value


def need_int(field: str, value: Any, low: int = -_INT64, high: int = _INT64 - 1) -> int:
    """An int (not a bool, not a float) in [low, high] (default: 64-bit signed)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileFormatError(field, f"must be a whole number, got {_what(value)}")
    if not low <= value <= high:
        shown = value if abs(value) < 10 ** 30 else f"a {len(str(abs(value)))}-digit number"
        raise ProfileFormatError(field, f"must be from {low} to {high}, got {shown}")
    return value


def need_float(field: str, value: Any, low: float = -math.inf) -> float:
    """A finite number (int or float, not a bool) >= low, as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProfileFormatError(field, f"must be a number, got {_what(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ProfileFormatError(field, f"is too large for a float ({len(str(value))} "
                                        f"digits)") from None
    if not math.isfinite(number):
        raise ProfileFormatError(field, f"must be finite, got {number}")
    if number < low:
        raise ProfileFormatError(field, f"must be >= {low:g}, got {number!r}")
    return number


def need_json_safe(field: str, value: Any, max_depth: int = 64) -> Any:
    """A value dprof can write back as strict JSON: str keys; str, finite number,
    bool or None leaves; nested at most ``max_depth`` deep. Free-form entries (a
    stack profile's ``meta``) are kept as read, so an ``Infinity`` in them would
    only fail later, when the profile is saved or exported. Walked without
    recursion: a 100,000-deep nesting must not overflow the stack."""
    pending = [(field, value, 0)]
    while pending:
        where, item, depth = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ProfileFormatError(where, f"must be finite, got {item}")
        if isinstance(item, (dict, list, tuple)):
            if depth >= max_depth:
                raise ProfileFormatError(where, f"is nested more than {max_depth} deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise ProfileFormatError(where, f"has a key that is not a string: "
                                                        f"{_what(key)}")
                    pending.append((f"{where}.{key}", child, depth + 1))
            else:
                pending.extend((f"{where}[{i}]", child, depth + 1)
                               for i, child in enumerate(item))
        elif not (item is None or isinstance(item, (str, int, float))):
            raise ProfileFormatError(where, f"must be a JSON value, got {_what(item)}")
    return value


def need_index(field: str, value: Any, count: int, names: str) -> int:
    """An id into a list of ``count`` ``names``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileFormatError(field, f"must be a whole number ({names} id), got "
                                        f"{_what(value)}")
    if not 0 <= value < count:
        span = f"0..{count - 1}" if count else "none: the list is empty"
        shown = value if abs(value) < 10 ** 30 else f"a {len(str(abs(value)))}-digit number"
        raise ProfileFormatError(field, f"{names} id {shown} points nowhere ({names} ids: "
                                        f"{span})")
    return value


def need_indexes(field: str, value: Any, count: int, names: str) -> tuple:
    """A list of ids into a list of ``count`` ``names``, as a tuple. The common case
    (all ints in range) is checked with builtins that run in C: a stored profile
    holds hundreds of thousands of ids, and loading it must stay cheap."""
    ids = tuple(need_list(field, value))
    if not ids or (set(map(type, ids)) == {int} and min(ids) >= 0 and max(ids) < count):
        return ids
    for j, fid in enumerate(ids):       # the slow path, for the message
        need_index(f"{field}[{j}]", fid, count, names)
    raise AssertionError("unreachable: need_index raised")      # pragma: no cover
