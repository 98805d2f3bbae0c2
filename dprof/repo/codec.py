"""Profile <-> table rows: the one place that knows how a Profile is laid out in the
tables of ``schema.py``."""
from __future__ import annotations

import json
import re
import zlib
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

if TYPE_CHECKING:      # numpy is imported only where a series is handled
    import numpy as np


from dprof.record import METRICS, Profile, datetime_to_us, us_to_datetime
from dprof.stacks.model import StackProfile

RESOURCE_ENCODING = "f64le-zlib"   # float64 columns, little-endian, end to end, zlib
STACKS_ENCODING = "json-zlib"      # StackProfile.to_dict() as JSON, zlib
MEMORY_ENCODING = "json-zlib"      # MemoryProfile.to_dict() as JSON, zlib

# Columns of ``profiles`` filled straight from the Profile attribute of the same name.
_PLAIN = ("id", "process_name", "env", "stage", "status") + METRICS + (
    "exception_type", "exception_message", "host", "pid", "python_version")
_JSON = ("parameters", "missing", "sources", "tags")
_TEXT = ("process_name", "env", "stage", "status", "exception_type", "exception_message",
         "host", "python_version")


def _json(value: Any) -> str:
    # ensure_ascii (the default): lone surrogates are kept as \udcXX escapes, which
    # json.loads turns back into the same str (lossless)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:      # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def storable_text(value: Optional[str]) -> Optional[str]:
    """``value`` as text every database takes (UTF-8 has no lone surrogates).

    A name taken from a path or argv that is not valid UTF-8 (``café.py`` in
    Latin-1 arrives as ``'caf\\udce9.py'``, Python's surrogateescape) keeps each byte
    that was not UTF-8 as a literal ``\\xNN`` (``'caf\\\\xe9.py'``, as
    ``bytes.decode("utf-8", "backslashreplace")`` writes it) and any other lone
    surrogate as ``\\uNNNN``; valid text is returned unchanged."""
    if value is None or value.isascii() or not _SURROGATE.search(value):
        return value
    return _SURROGATE.sub(_escape_surrogate, value)


def profile_row(p: Profile) -> Dict[str, Any]:
    row = {name: getattr(p, name) for name in _PLAIN}
    for name in _TEXT:
        row[name] = storable_text(row[name])
    row["task_start_time_us"] = datetime_to_us(p.task_start_time)
    row["task_end_time_us"] = datetime_to_us(p.task_end_time)
    for name in _JSON:
        row[name] = _json(getattr(p, name))
    return row


def resources_row(p: Profile) -> Optional[Dict[str, Any]]:
    if p.resources is None:
        return None
    columns = list(p.resources)
    n = len(p.resources[columns[0]]) if columns else 0
    raw = b"".join(p.resources[c].astype("<f8").tobytes() for c in columns)
    return {"profile_id": p.id, "columns": _json(columns), "n_samples": n,
            "encoding": RESOURCE_ENCODING, "data": zlib.compress(raw, 1),
            "missing": _json(p.resources_missing)}


def stacks_row(p: Profile) -> Optional[Dict[str, Any]]:
    if p.stacks is None:
        return None
    data = zlib.compress(_json(p.stacks.to_dict()).encode("utf-8"), 6)
    return {"profile_id": p.id, "encoding": STACKS_ENCODING, "data": data}


def memory_row(p: Profile) -> Optional[Dict[str, Any]]:
    if p.memory is None:
        return None
    data = zlib.compress(_json(p.memory.to_dict()).encode("utf-8"), 6)
    return {"profile_id": p.id, "encoding": MEMORY_ENCODING, "data": data}


def child_rows(p: Profile) -> List[Tuple[str, Dict[str, Any]]]:
    """(table name, row) of each child table ``p`` has a row in: the one list that
    ProfileRepo and the sqlite3 fast path (direct.py) both insert."""
    rows = (("profile_resources", resources_row(p)), ("profile_stacks", stacks_row(p)),
            ("profile_memory", memory_row(p)))
    return [(table, row) for table, row in rows if row is not None]


def decode_memory(row: Mapping[str, Any]):
    from dprof.memory.model import MemoryProfile
    if row["encoding"] != MEMORY_ENCODING:
        raise ValueError(f"unknown memory profile encoding {row['encoding']!r}")
    return MemoryProfile.from_dict(json.loads(zlib.decompress(bytes(row["data"]))))


def decode_resources(row: Mapping[str, Any]) -> Dict[str, "np.ndarray"]:
    import numpy as np   # only for a stored series (a profile without one needs none)
    if row["encoding"] != RESOURCE_ENCODING:
        raise ValueError(f"unknown resource series encoding {row['encoding']!r}")
    columns = json.loads(row["columns"])
    n = int(row["n_samples"])
    flat = np.frombuffer(zlib.decompress(bytes(row["data"])), dtype="<f8")
    if flat.size != n * len(columns):
        raise ValueError(f"stored resource series is damaged: {flat.size} values for "
                         f"{len(columns)} columns x {n} samples")
    table = flat.reshape(len(columns), n).astype(np.float64)   # copies: writable arrays
    return {name: table[i].copy() for i, name in enumerate(columns)}


def decode_resources_missing(row: Mapping[str, Any]) -> Dict[str, str]:
    """Column -> why it is missing; ``{}`` for a series stored before revision 3."""
    text = row.get("missing")
    return json.loads(text) if text else {}


def decode_stacks(row: Mapping[str, Any]) -> StackProfile:
    if row["encoding"] != STACKS_ENCODING:
        raise ValueError(f"unknown stack profile encoding {row['encoding']!r}")
    return StackProfile.from_dict(json.loads(zlib.decompress(bytes(row["data"]))))


def profile_from_row(row: Mapping[str, Any], resources: Optional[Mapping[str, Any]] = None,
                     stacks: Optional[Mapping[str, Any]] = None,
                     memory: Optional[Mapping[str, Any]] = None) -> Profile:
    kwargs = {name: row[name] for name in _PLAIN}
    kwargs["task_start_time"] = us_to_datetime(row["task_start_time_us"])
    kwargs["task_end_time"] = us_to_datetime(row["task_end_time_us"])
    for name in _JSON:
        kwargs[name] = json.loads(row[name])
    kwargs["resources"] = decode_resources(resources) if resources is not None else None
    if resources is not None:
        kwargs["resources_missing"] = decode_resources_missing(resources)
    kwargs["stacks"] = decode_stacks(stacks) if stacks is not None else None
    kwargs["memory"] = decode_memory(memory) if memory is not None else None
    return Profile(**kwargs)
