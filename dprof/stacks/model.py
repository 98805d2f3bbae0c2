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

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Tuple

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
    def from_dict(cls, data: dict) -> "StackProfile":
        if data.get("version") != 1:
            raise ValueError(f"unsupported stack profile version {data.get('version')!r}")
        return cls(
            frames=[Frame(f, fn, int(line)) for f, fn, line in data["frames"]],
            stacks=[tuple(s) for s in data["stacks"]],
            rows=[StackRow(int(t), int(s), c, int(n), float(sec))
                  for t, s, c, n, sec in data["rows"]],
            thread_names={int(k): v for k, v in data.get("thread_names", {}).items()},
            duration_seconds=float(data.get("duration_seconds", 0.0)),
            requested_hz=float(data.get("requested_hz", 0.0)),
            effective_hz=float(data.get("effective_hz", 0.0)),
            overhead_seconds=float(data.get("overhead_seconds", 0.0)),
            meta=dict(data.get("meta", {})),
        )

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
