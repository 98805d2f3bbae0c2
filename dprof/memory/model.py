"""``MemoryProfile``: the sampled allocations of one run, by stack.

Each row is one distinct Python stack (innermost frame first, as frame ids into
``frames``) with estimated bytes allocated, the number of sampled allocations, the
estimated number of allocations, and the sampled bytes still live at the peak of
the live total and at the end. All byte figures are sums of sample weights, so each
is an unbiased estimate of the true figure (docs/memory.md, "The estimator").

Views by line and by function attribute a stack to its innermost frame that passes
a filter (by default the innermost user-code frame, so that ``np.ones`` called
from your line is charged to your line); ``collapsed(kind)`` gives bytes per whole
stack in the flamegraph.pl format.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from dprof.errors import (ProfileFormatError, describe, need_float, need_indexes, need_int,
                          need_key, need_list, need_mapping, need_str)
from dprof.stacks.model import Frame, frames_from_dict

#: the byte figures a flamegraph or collapsed output can show
KINDS = ("allocated", "peak", "leaked")
_KIND_FIELD = {"allocated": "alloc_bytes", "peak": "peak_bytes", "leaked": "end_bytes"}
DICT_FORMAT = 1


@dataclass
class MemoryRow:
    """Sampled allocations of one stack."""

    stack: Tuple[int, ...]      # frame ids, innermost first
    alloc_bytes: int            # estimated bytes allocated
    samples: int                # sampled allocations
    alloc_count: float          # estimated allocations
    peak_bytes: int             # estimated bytes live at the peak of the live total
    end_bytes: int              # estimated bytes live at the end (leak candidates)


@dataclass
class LineStats:
    """Per line or per function: the columns of the memory hotspot table."""

    key: str
    frame: Frame
    alloc_bytes: int = 0
    alloc_count: float = 0.0
    samples: int = 0
    peak_bytes: int = 0
    end_bytes: int = 0

    @property
    def net_growth(self) -> int:
        """Bytes this key allocated during the run that are still live at its end:
        what it added to the heap (blocks it allocated before the start, and their
        frees, are not seen, so this equals ``end_bytes``)."""
        return self.end_bytes


@dataclass
class MemoryProfile:
    """The allocation samples of one run. ``totals`` holds ``mean`` (bytes per sample
    point), ``seed``, ``samples``, ``allocated``, ``peak_live``, ``live_end``,
    ``peak_t`` (seconds from the start to the peak, or None), ``errors`` (samples
    dropped), ``unattributed_bytes`` and ``nogil_bytes`` (NumPy allocations made
    without the GIL, which carry no stack), ``duration``, ``hooks_replaced`` (True
    when another tool, tracemalloc.stop(), took the allocator hooks out during the
    run: allocations and frees after that were not seen); ``numpy`` is None when
    NumPy's allocations were hooked, else why not. The timeline is four lists of
    equal length, one event per sample and per free of a sampled block: seconds
    since the start, sampled live bytes after the event, the row (index into
    ``rows``) whose live bytes changed, and by how much (signed)."""

    frames: List[Frame]
    rows: List[MemoryRow]
    totals: Dict[str, Any] = field(default_factory=dict)
    numpy: Optional[str] = None
    timeline_t: List[float] = field(default_factory=list)
    timeline_live: List[int] = field(default_factory=list)
    timeline_row: List[int] = field(default_factory=list)
    timeline_delta: List[int] = field(default_factory=list)

    # -- views ----------------------------------------------------------------------
    def stack_frames(self, row: MemoryRow) -> List[Frame]:
        return [self.frames[i] for i in row.stack]

    def _attribute(self, row: MemoryRow, keep: Optional[Callable[[Frame], bool]]) -> Optional[Frame]:
        frames = self.stack_frames(row)
        if not frames:
            return None
        if keep is not None:
            for f in frames:
                if keep(f):
                    return f
        return frames[0]

    def _group(self, keyfn, keep) -> List[LineStats]:
        acc: Dict[str, LineStats] = {}
        for row in self.rows:
            frame = self._attribute(row, keep)
            if frame is None:
                frame = Frame("<no Python frame>", "<native>", 0)
            key = keyfn(frame)
            s = acc.get(key)
            if s is None:
                s = acc[key] = LineStats(key, frame)
            s.alloc_bytes += row.alloc_bytes
            s.alloc_count += row.alloc_count
            s.samples += row.samples
            s.peak_bytes += row.peak_bytes
            s.end_bytes += row.end_bytes
        return sorted(acc.values(), key=lambda s: (-s.alloc_bytes, s.key))

    def by_line(self, keep: Optional[Callable[[Frame], bool]] = None) -> List[LineStats]:
        """One entry per ``file:line`` (the stack's innermost frame for which
        ``keep`` is true, else its innermost frame), by bytes allocated."""
        return self._group(lambda f: f"{f.filename}:{f.line}", keep)

    def by_function(self, keep: Optional[Callable[[Frame], bool]] = None) -> List[LineStats]:
        """One entry per function (file and name), by bytes allocated."""
        return self._group(lambda f: f"{f.filename}:{f.function}", keep)

    def leak_candidates(self, keep=None, limit: int = 10) -> List[LineStats]:
        """Lines with sampled bytes still live at the end, most first."""
        lines = [s for s in self.by_line(keep) if s.end_bytes > 0]
        return sorted(lines, key=lambda s: (-s.end_bytes, s.key))[:limit]

    def top_at_peak(self, keep=None, limit: int = 10) -> List[LineStats]:
        """Lines holding the most live bytes at the peak of the live total."""
        lines = [s for s in self.by_line(keep) if s.peak_bytes > 0]
        return sorted(lines, key=lambda s: (-s.peak_bytes, s.key))[:limit]

    def peaks(self, limit: int = 3, min_drop: float = 0.10, keep=None,
              top: int = 5) -> List[Dict[str, Any]]:
        """Local peaks of the sampled live bytes: a peak is the highest point before
        the live bytes fall by ``min_drop`` of it (the last stretch counts if it
        ends lower by that much, and the global peak always counts). For each of
        the ``limit`` highest: ``t`` (seconds), ``live`` (bytes) and ``top``, the
        lines holding most live bytes then (replayed from the timeline events), as
        (LineStats-like key, bytes) pairs."""
        live = self.timeline_live
        if not live:
            return []
        # rising: follow the running max (cand); once it has fallen by min_drop, it is
        # a peak, and we follow the valley (low) until the live bytes rise again
        found, cand, low = [], 0, None
        for i in range(1, len(live)):
            if cand is None:
                if live[i] < live[low]:
                    low = i
                elif live[i] > live[low]:
                    cand = i
            elif live[i] > live[cand]:
                cand = i
            elif live[i] < live[cand] * (1 - min_drop):
                found.append(cand)
                cand, low = None, i
        if cand is not None:
            found.append(cand)
        glob = max(range(len(live)), key=lambda i: (live[i], -i))
        if glob not in found:
            found.append(glob)
        chosen = sorted(sorted(set(found), key=lambda i: -live[i])[:limit])
        out = []
        per_row = [0] * len(self.rows)
        j = 0
        for idx in chosen:
            while j <= idx:
                per_row[self.timeline_row[j]] += self.timeline_delta[j]
                j += 1
            by_line: Dict[str, int] = {}
            frames: Dict[str, Frame] = {}
            for r, value in enumerate(per_row):
                if value <= 0:
                    continue
                f = self._attribute(self.rows[r], keep) or Frame("<no Python frame>", "<native>", 0)
                key = f"{f.filename}:{f.line}"
                by_line[key] = by_line.get(key, 0) + value
                frames[key] = f
            best = sorted(by_line.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
            out.append({"t": self.timeline_t[idx], "live": live[idx],
                        "top": [(frames[k], v) for k, v in best]})
        return out

    def bytes_by_stack(self, kind: str) -> Dict[Tuple[int, ...], int]:
        if kind not in KINDS:
            raise ValueError(f"memory kind must be one of {', '.join(KINDS)}, got {kind!r}")
        name = _KIND_FIELD[kind]
        out: Dict[Tuple[int, ...], int] = {}
        for row in self.rows:
            value = getattr(row, name)
            if value:
                out[row.stack] = out.get(row.stack, 0) + value
        return out

    def collapsed(self, kind: str) -> str:
        """``root;...;leaf bytes`` per distinct stack (flamegraph.pl
        ``--countname=bytes``), frames named ``function (file:line)``, sorted."""
        from dprof.report._common import frame_label
        lines: Dict[str, int] = {}
        for stack, value in self.bytes_by_stack(kind).items():
            names = [frame_label(self.frames[i], True, short=False)
                     .replace(";", ":").replace("\n", " ") for i in reversed(stack)]
            key = ";".join(names) or "[no Python frame]"
            lines[key] = lines.get(key, 0) + value
        return "".join(f"{k} {v}\n" for k, v in sorted(lines.items()))

    # -- serialisation --------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return {
            "format": DICT_FORMAT,
            "frames": [[f.filename, f.function, f.line] for f in self.frames],
            "rows": [[list(r.stack), r.alloc_bytes, r.samples, r.alloc_count,
                      r.peak_bytes, r.end_bytes] for r in self.rows],
            "totals": dict(self.totals),
            "numpy": self.numpy,
            "timeline": {"t": list(self.timeline_t), "live": list(self.timeline_live),
                         "row": list(self.timeline_row), "delta": list(self.timeline_delta)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "memory") -> "MemoryProfile":
        """The profile ``to_dict`` wrote; anything else raises ``ProfileFormatError``
        (a ValueError) naming the field (``where`` is this dict's own name)."""
        data = need_mapping(where, data)
        if data.get("format") != DICT_FORMAT:
            raise ProfileFormatError(f"{where}.format", f"unsupported memory profile "
                                     f"format {describe(data.get('format'))}; this dprof reads "
                                     f"{DICT_FORMAT}")
        frames = frames_from_dict(where, data)
        rows = []
        for i, raw in enumerate(need_list(f"{where}.rows", need_key(where, data, "rows"))):
            name = f"{where}.rows[{i}]"
            stack, ab, ns, cnt, pk, end = need_list(name, raw, 6)
            ids = need_indexes(f"{name}[0]", stack, len(frames), "frame")
            rows.append(MemoryRow(ids, need_int(f"{name}[1]", ab, 0),
                                  need_int(f"{name}[2]", ns, 0),
                                  need_float(f"{name}[3]", cnt, 0.0),
                                  need_int(f"{name}[4]", pk, 0),
                                  need_int(f"{name}[5]", end, 0)))
        tl = need_mapping(f"{where}.timeline", data.get("timeline") or {})
        cols = {k: need_list(f"{where}.timeline.{k}", tl.get(k, []))
                for k in ("t", "live", "row", "delta")}
        if len({len(c) for c in cols.values()}) > 1:
            raise ProfileFormatError(f"{where}.timeline", "columns differ in length: " +
                                     ", ".join(f"{k} {len(c)}" for k, c in cols.items()))
        t = _floats(f"{where}.timeline.t", cols["t"])
        live = _ints(f"{where}.timeline.live", cols["live"])
        row = list(need_indexes(f"{where}.timeline.row", cols["row"], len(rows), "row"))
        delta = _ints(f"{where}.timeline.delta", cols["delta"])
        totals = dict(need_mapping(f"{where}.totals", data.get("totals") or {}))
        for key, value in totals.items():      # numbers (finite, 64-bit), flags or None
            if isinstance(value, float):
                need_float(f"{where}.totals.{key}", value)
            elif value is not None and not isinstance(value, bool):   # seed: uint64
                need_int(f"{where}.totals.{key}", value, -2 ** 63, 2 ** 64 - 1)
        numpy = data.get("numpy")
        if numpy is not None:
            need_str(f"{where}.numpy", numpy)
        return cls(frames, rows, totals, numpy, t, live, row, delta)

    @classmethod
    def from_native(cls, raw: Mapping[str, Any], numpy_reason: Optional[str]) -> "MemoryProfile":
        """From ``_native.memsample_stop()``'s dict."""
        # The timeline columns are native arrays (uint64, uint64, uint32, int64), read
        # with memoryview, not NumPy: importing NumPy at the end of every memory
        # profile cost a program that never used it ~0.1 s of CPU.
        frames = [Frame(f, fn, line) for f, fn, line in raw["frames"]]
        # every stack was made by a sample, so rows keep the native stack ids (the
        # timeline's row numbers)
        rows = [MemoryRow(tuple(ids), ab, ns, cnt, pk, end)
                for ids, ab, ns, cnt, pk, end in raw["stacks"]]
        started = float(raw["started_ns"])
        t = [round((float(ns) - started) / 1e9, 6)
             for ns in _column(raw["timeline_t_ns"], "Q", 8)]
        live = _column(raw["timeline_live"], "Q", 8)
        totals = {k: raw[k] for k in ("mean", "seed", "samples", "allocated", "peak_live",
                                      "live_end", "errors", "unattributed_bytes",
                                      "nogil_bytes", "dropped_frees", "duration",
                                      "timeline_truncated")}
        totals["peak_t"] = raw["peak_t"] if raw["peak_t"] >= 0 else None
        totals["hooks_replaced"] = bool(raw.get("hooks_replaced", False))
        row = _column(raw["timeline_stack"], "I", 4)
        delta = _column(raw["timeline_delta"], "q", 8)
        return cls(frames, rows, totals, numpy_reason, t, live, row, delta)


def _column(buffer, code: str, size: int) -> List[int]:
    """A native-endian array of `size`-byte integers as a list (struct code `code`)."""
    view = memoryview(buffer).cast("B")
    if view.nbytes % size:
        raise ValueError(f"a timeline column of {view.nbytes} bytes is not made of "
                         f"{size}-byte values")
    return view.cast(code).tolist()


# A timeline holds one entry per sample and per free of a sampled block: checked with
# builtins in the usual case, element by element only to name a bad one.
def _floats(field: str, values) -> List[float]:
    try:                        # isfinite of a 400-digit int overflows: the slow path
        if set(map(type, values)) <= {float, int} and all(map(math.isfinite, values)):
            return [float(x) for x in values]
    except OverflowError:
        pass
    return [need_float(f"{field}[{i}]", x) for i, x in enumerate(values)]


def _ints(field: str, values) -> List[int]:
    if not values or (set(map(type, values)) == {int}
                      and -2 ** 63 <= min(values) and max(values) < 2 ** 63):
        return list(values)
    return [need_int(f"{field}[{i}]", x) for i, x in enumerate(values)]
