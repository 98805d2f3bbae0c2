"""The stack profile: where the time of a run went, by call stack, thread and class.

This module is the contract between the stack sampler (which fills a StackProfile),
the reports and exporters (which read one), and storage (which round-trips it through
``to_dict``/``from_dict``). It holds data and the pure-Python reference operations
(merge, diff); the native aggregator in ``dprof._native`` must agree with them.

Time is counted, not ticks: every row carries the seconds it stands for (each sample
is weighted by the time elapsed since the previous one), and ``samples`` only says how
many observations the seconds came from.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Tuple

from dprof.errors import (ProfileFormatError, describe, need_float, need_index, need_indexes,
                          need_int, need_json_safe, need_key, need_list, need_mapping,
                          need_str)

_INT64 = 2 ** 63

# What a thread was doing when it was sampled.
CPU_PYTHON = "cpu_python"    # running Python bytecode
CPU_NATIVE = "cpu_native"    # running native code (C extension, builtin) on CPU
WAIT_IO = "wait_io"          # waiting on disk (thread state D)
WAIT_GIL = "wait_gil"        # runnable but waiting for the GIL
WAIT_SLEEP = "wait_sleep"    # sleeping or blocked (lock, socket, time.sleep, select)
CATEGORIES = (CPU_PYTHON, CPU_NATIVE, WAIT_IO, WAIT_GIL, WAIT_SLEEP)
CPU_CATEGORIES = (CPU_PYTHON, CPU_NATIVE)
WAIT_CATEGORIES = (WAIT_IO, WAIT_GIL, WAIT_SLEEP)


@dataclass(frozen=True)
class Frame:
    """One interned code location. ``line`` is the line executing in this frame."""

    filename: str
    function: str
    line: int



def frames_from_dict(where: str, data: Mapping[str, Any]) -> List["Frame"]:
    """``data["frames"]`` of a saved profile (stack or memory) as Frames: each a
    (filename, function, line) list; anything else raises ProfileFormatError
    naming the entry (``where.frames[i][k]``)."""
    frames = []
    for i, raw in enumerate(need_list(f"{where}.frames", need_key(where, data, "frames"))):
        name = f"{where}.frames[{i}]"
        filename, function, line = need_list(name, raw, 3)
        frames.append(Frame(need_str(f"{name}[0]", filename),
                            need_str(f"{name}[1]", function),
                            need_int(f"{name}[2]", line)))
    return frames

@dataclass
class StackRow:
    """Aggregated samples of one (thread, stack, category)."""

    thread_id: int        # native thread id (the kernel TID)
    stack_id: int         # index into StackProfile.stacks
    category: str         # one of CATEGORIES
    samples: int          # number of observations
    seconds: float        # time they stand for


@dataclass
class StackProfile:
    """Interned frames, interned stacks (root first) and aggregated rows."""

    frames: List[Frame] = field(default_factory=list)
    stacks: List[Tuple[int, ...]] = field(default_factory=list)   # frame ids, root -> leaf
    rows: List[StackRow] = field(default_factory=list)
    thread_names: Dict[int, str] = field(default_factory=dict)
    duration_seconds: float = 0.0
    requested_hz: float = 0.0
    effective_hz: float = 0.0       # the rate actually achieved (lowered under the budget)
    overhead_seconds: float = 0.0   # time the sampler itself spent, measured
    meta: Dict[str, object] = field(default_factory=dict)

    # -- building -------------------------------------------------------------
    def intern_frame(self, frame: Frame) -> int:
        index = self._frame_index()
        fid = index.get(frame)
        if fid is None:
            fid = len(self.frames)
            self.frames.append(frame)
            index[frame] = fid
        return fid

    def intern_stack(self, frame_ids: Tuple[int, ...]) -> int:
        index = self._stack_index()
        sid = index.get(frame_ids)
        if sid is None:
            sid = len(self.stacks)
            self.stacks.append(tuple(frame_ids))
            index[tuple(frame_ids)] = sid
        return sid

    def add(self, thread_id: int, frames: Iterable[Frame], category: str,
            seconds: float, samples: int = 1) -> None:
        """Add observations of one stack (frames root first)."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}; expected one of {CATEGORIES}")
        sid = self.intern_stack(tuple(self.intern_frame(f) for f in frames))
        key = (thread_id, sid, category)
        rows = self._row_index()
        row = rows.get(key)
        if row is None:
            row = StackRow(thread_id, sid, category, 0, 0.0)
            rows[key] = row
            self.rows.append(row)
        row.samples += samples
        row.seconds += seconds

    # -- reading --------------------------------------------------------------
    def stack_frames(self, stack_id: int) -> List[Frame]:
        return [self.frames[i] for i in self.stacks[stack_id]]

    def total_seconds(self, categories: Iterable[str] = CATEGORIES) -> float:
        wanted = set(categories)
        return sum(r.seconds for r in self.rows if r.category in wanted)

    def seconds_by_category(self) -> Dict[str, float]:
        out = {c: 0.0 for c in CATEGORIES}
        for r in self.rows:
            out[r.category] += r.seconds
        return out

    # -- combining (pure-Python reference; the native aggregator must agree) -----
    def merged(self, other: "StackProfile") -> "StackProfile":
        """A new profile holding the samples of both (threads kept apart by id)."""
        out = StackProfile(requested_hz=self.requested_hz or other.requested_hz)
        for src in (self, other):
            for r in src.rows:
                out.add(r.thread_id, src.stack_frames(r.stack_id), r.category,
                        r.seconds, r.samples)
            out.thread_names.update(src.thread_names)
        out.duration_seconds = self.duration_seconds + other.duration_seconds
        out.overhead_seconds = self.overhead_seconds + other.overhead_seconds
        out.effective_hz = min(x for x in (self.effective_hz, other.effective_hz)) \
            if self.effective_hz and other.effective_hz else (self.effective_hz or other.effective_hz)
        return out

    def diff(self, base: "StackProfile") -> Dict[Tuple[Frame, ...], Tuple[float, float]]:
        """Seconds per stack (all threads and categories) as (base, self)."""
        def by_stack(p):
            acc: Dict[Tuple[Frame, ...], float] = {}
            for r in p.rows:
                key = tuple(p.stack_frames(r.stack_id))
                acc[key] = acc.get(key, 0.0) + r.seconds
            return acc
        a, b = by_stack(base), by_stack(self)
        return {k: (a.get(k, 0.0), b.get(k, 0.0)) for k in set(a) | set(b)}

    # -- display in Jupyter (built by dprof.jupyter.display, imported when shown) --
    def _repr_html_(self) -> str:
        from dprof.jupyter.display import stacks_html
        return stacks_html(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        from dprof.jupyter.display import pretty, stacks_text
        pretty(stacks_text(self), printer, cycle)

    # -- serialisation ---------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "version": 1,
            "frames": [[f.filename, f.function, f.line] for f in self.frames],
            "stacks": [list(s) for s in self.stacks],
            "rows": [[r.thread_id, r.stack_id, r.category, r.samples, r.seconds]
                     for r in self.rows],
            "thread_names": {str(k): v for k, v in self.thread_names.items()},
            "duration_seconds": self.duration_seconds,
            "requested_hz": self.requested_hz,
            "effective_hz": self.effective_hz,
            "overhead_seconds": self.overhead_seconds,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "stacks") -> "StackProfile":
        """The profile ``to_dict`` wrote. Anything else raises ``ProfileFormatError``
        (a ValueError) naming the field, ``where`` being this dict's own name (an id
        that points nowhere, an unknown category, a wrong type, a non-finite
        number), so that every report can trust what it reads."""
        data = need_mapping(where, data)
        if data.get("version") != 1:
            raise ProfileFormatError(f"{where}.version", f"unsupported stack profile "
                                     f"version {describe(data.get('version'))}; this dprof reads 1")
        frames = frames_from_dict(where, data)
        raw_stacks = need_list(f"{where}.stacks", need_key(where, data, "stacks"))
        stacks = _frame_id_tuples(raw_stacks, len(frames))
        if stacks is None:                  # something is wrong: find it, by name
            stacks = [need_indexes(f"{where}.stacks[{i}]", raw, len(frames), "frame")
                      for i, raw in enumerate(raw_stacks)]
        rows = []
        for i, raw in enumerate(need_list(f"{where}.rows", need_key(where, data, "rows"))):
            name = f"{where}.rows[{i}]"
            tid, sid, category, samples, seconds = need_list(name, raw, 5)
            if (type(tid) is int and type(sid) is int and type(samples) is int
                    and type(seconds) is float and category in CATEGORIES
                    and -_INT64 <= tid < _INT64 and 0 <= sid < len(stacks)
                    and 0 <= samples < _INT64 and 0.0 <= seconds < math.inf):
                rows.append(StackRow(tid, sid, category, samples, seconds))  # the usual row
                continue
            if category not in CATEGORIES:
                raise ProfileFormatError(f"{name}[2]", f"unknown category {describe(category)}; "
                                         f"expected one of {', '.join(CATEGORIES)}")
            rows.append(StackRow(need_int(f"{name}[0]", tid),
                                 need_index(f"{name}[1]", sid, len(stacks), "stack"),
                                 category, need_int(f"{name}[3]", samples, 0),
                                 need_float(f"{name}[4]", seconds, 0.0)))
        names = {}
        for key, value in need_mapping(f"{where}.thread_names",
                                       data.get("thread_names", {})).items():
            field_name = f"{where}.thread_names[{key!r}]"
            try:
                tid = int(key)
            except (TypeError, ValueError):
                raise ProfileFormatError(field_name, "a thread name's key must be a "
                                                     "thread id (a whole number)") from None
            names[need_int(field_name, tid)] = need_str(field_name, value)
        numbers = {key: need_float(f"{where}.{key}", data.get(key, 0.0), 0.0)
                   for key in ("duration_seconds", "requested_hz", "effective_hz",
                               "overhead_seconds")}
        meta = dict(need_mapping(f"{where}.meta", data.get("meta", {})))
        _check_meta(f"{where}.meta", meta)
        return cls(frames=frames, stacks=stacks, rows=rows, thread_names=names, meta=meta,
                   **numbers)

    # -- private indexes (rebuilt lazily; not part of equality or serialisation) --
    def _frame_index(self) -> Dict[Frame, int]:
        idx = self.__dict__.get("_fidx")
        if idx is None or len(idx) != len(self.frames):
            idx = {f: i for i, f in enumerate(self.frames)}
            self.__dict__["_fidx"] = idx
        return idx

    def _stack_index(self) -> Dict[Tuple[int, ...], int]:
        idx = self.__dict__.get("_sidx")
        if idx is None or len(idx) != len(self.stacks):
            idx = {s: i for i, s in enumerate(self.stacks)}
            self.__dict__["_sidx"] = idx
        return idx

    def _row_index(self) -> Dict[Tuple[int, int, str], StackRow]:
        idx = self.__dict__.get("_ridx")
        if idx is None or len(idx) != len(self.rows):
            idx = {(r.thread_id, r.stack_id, r.category): r for r in self.rows}
            self.__dict__["_ridx"] = idx
        return idx


def _frame_id_tuples(raw_stacks: List[Any], frame_count: int):
    """The stacks as tuples when every one is a list of frame ids in range, else None.
    All ids at once with builtins that run in C: a stored profile holds hundreds of
    thousands of them, and reading it must stay cheap."""
    if not all(type(s) is list for s in raw_stacks):
        return None
    stacks = list(map(tuple, raw_stacks))
    ids = list(itertools.chain.from_iterable(stacks))
    if ids and not (set(map(type, ids)) == {int} and min(ids) >= 0
                    and max(ids) < frame_count):
        return None
    return stacks


def _check_meta(where: str, meta: Mapping[str, Any]) -> None:
    """The ``meta`` entries the reports read: ``user_code`` (lists of paths, see
    user_code.py) and ``launcher_seconds``; other entries are kept as they are, once
    they are known to be writable as strict JSON."""
    need_json_safe(where, meta)
    roots = meta.get("user_code")
    if roots is not None:
        need_mapping(f"{where}.user_code", roots)
        for key in ("pinned", "local", "launcher"):
            for i, path in enumerate(need_list(f"{where}.user_code.{key}",
                                               roots.get(key) or [])):
                need_str(f"{where}.user_code.{key}[{i}]", path)
    if "launcher_seconds" in meta:
        need_float(f"{where}.launcher_seconds", meta["launcher_seconds"], 0.0)
