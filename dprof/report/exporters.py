"""Exports of a StackProfile to the formats other profiling tools read.

- speedscope (https://www.speedscope.app): the "sampled" file format, one profile per
  thread, ``unit: "seconds"``; each (stack, category) row becomes one sample whose
  weight is its seconds, so a profile's weights sum to that thread's time.
- Chrome trace events (Perfetto UI, chrome://tracing): complete events (``ph: "X"``),
  one track per thread. A StackProfile is aggregated (it has no timestamps), so each
  thread's stacks are laid end to end in sorted order, a stack lasting its seconds, and
  consecutive stacks that share a prefix share that prefix's events - the time axis is
  a flame chart of the aggregate, not the real timeline. Times are integer microseconds
  computed from cumulative sums, so events nest exactly.
- collapsed stacks (flamegraph.pl, inferno, speedscope): ``frame;frame;frame count``,
  root first, one line per distinct stack, each frame ``function (file:line)``; the count is integer microseconds by default
  (``unit="us"``) or the number of samples (``unit="samples"``).
- pprof (``go tool pprof``, Pyroscope, Google Cloud Profiler): the gzipped protobuf of
  ``profile.proto``, encoded here by hand. Sample types ``samples/count`` and
  ``wall/nanoseconds``; each sample carries labels ``thread`` (name or id),
  ``thread_id`` (number) and ``category``.
"""
from __future__ import annotations

import gzip
import json
from typing import Dict, Iterable, List, Tuple

from dprof.report._common import encodable_output, check_profile, frame_label
from dprof.stacks.model import Frame, StackProfile

SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def _version() -> str:
    import dprof
    return getattr(dprof, "__version__", "?")


def _thread_name(profile: StackProfile, tid: int) -> str:
    name = profile.thread_names.get(tid)
    return f"{name} (tid {tid})" if name else f"thread {tid}"


def _rows_by_thread(profile: StackProfile) -> Dict[int, list]:
    out: Dict[int, list] = {}
    for row in profile.rows:
        out.setdefault(row.thread_id, []).append(row)
    return dict(sorted(out.items()))


# -- speedscope ----------------------------------------------------------------------------

def to_speedscope(profile: StackProfile, *, name: str = "dprof profile") -> dict:
    """A speedscope file (as a dict ready for ``json.dump``)."""
    check_profile(profile)
    profiles = []
    for tid, rows in _rows_by_thread(profile).items():
        rows = sorted(rows, key=lambda r: (profile.stacks[r.stack_id], r.category))
        weights = [r.seconds for r in rows]
        profiles.append({
            "type": "sampled",
            "name": _thread_name(profile, tid),
            "unit": "seconds",
            "startValue": 0,
            "endValue": sum(weights),
            "samples": [list(profile.stacks[r.stack_id]) for r in rows],
            "weights": weights,
        })
    frames = [{"name": f.function, "file": f.filename, "line": f.line}
              if f.line > 0 else {"name": f.function, "file": f.filename}
              for f in profile.frames]
    return {"$schema": SPEEDSCOPE_SCHEMA, "name": name, "activeProfileIndex": 0,
            "exporter": f"dprof {_version()}", "shared": {"frames": frames},
            "profiles": profiles}


# -- Chrome trace events -----------------------------------------------------------------------

def to_chrome_trace(profile: StackProfile, *, pid: int = 1, lines: bool = True) -> dict:
    """A Chrome trace-event JSON object (``{"traceEvents": [...]}``) of complete events."""
    check_profile(profile)
    events: List[dict] = [{"ph": "M", "pid": pid, "tid": 0, "name": "process_name",
                           "args": {"name": "dprof (aggregated stacks)"}}]
    for tid, rows in _rows_by_thread(profile).items():
        events.append({"ph": "M", "pid": pid, "tid": tid, "name": "thread_name",
                       "args": {"name": _thread_name(profile, tid)}})
        per_stack: Dict[Tuple[int, ...], float] = {}
        for r in rows:
            key = profile.stacks[r.stack_id]
            per_stack[key] = per_stack.get(key, 0.0) + r.seconds
        labelled = sorted(
            ([frame_label(profile.frames[i], lines, short=False) for i in stack], secs, stack)
            for stack, secs in per_stack.items())
        # open: [label, start_us, frame] per depth of the stack being laid out
        open_: List[list] = []
        cumulative = 0.0
        now = 0
        for labels, secs, stack in labelled:
            common = 0
            while (common < len(open_) and common < len(labels)
                   and open_[common][0] == labels[common]):
                common += 1
            _close(events, open_, common, now, pid, tid)
            for depth in range(common, len(labels)):
                open_.append([labels[depth], now, profile.frames[stack[depth]]])
            cumulative += secs
            now = round(cumulative * 1e6)
        _close(events, open_, 0, now, pid, tid)
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"exporter": f"dprof {_version()}",
                          "note": "aggregated stacks laid end to end per thread; "
                                  "the time axis is not the real timeline"}}


def _close(events: list, open_: list, keep: int, now: int, pid: int, tid: int) -> None:
    while len(open_) > keep:
        label, start, frame = open_.pop()
        if now > start:
            events.append({"ph": "X", "pid": pid, "tid": tid, "name": label,
                           "cat": "python", "ts": start, "dur": now - start,
                           "args": {"file": frame.filename, "line": frame.line}})


# -- collapsed stacks ---------------------------------------------------------------------------

def _collapsed_name(frame: Frame, lines: bool) -> str:
    # ';' separates frames and the count follows the last space: keep both out of names.
    return frame_label(frame, lines, short=False).replace(";", ":").replace("\n", " ")


@encodable_output
def to_collapsed(profile: StackProfile, *, unit: str = "us", lines: bool = True,
                 by_thread: bool = False) -> str:
    """Collapsed stacks, one ``root;...;leaf count`` line per distinct stack, sorted.

    unit: "us" (count = integer microseconds, rounded per line) or "samples".
    lines: name frames ``function (file:line)``, the line executing in each frame, as
        py-spy does (False: ``function (file)``, one name per function).
    by_thread: start every stack with a ``thread <tid>`` frame.
    """
    check_profile(profile)
    if unit not in ("us", "samples"):
        raise ValueError(f"unit must be 'us' or 'samples', got {unit!r}")
    acc: Dict[str, float] = {}
    for row in profile.rows:
        names = [_collapsed_name(f, lines) for f in profile.stack_frames(row.stack_id)]
        if by_thread:
            names.insert(0, _thread_name(profile, row.thread_id).replace(";", ":"))
        key = ";".join(names) or "[no frames]"
        acc[key] = acc.get(key, 0) + (row.seconds if unit == "us" else row.samples)
    out = []
    for key in sorted(acc):
        count = round(acc[key] * 1e6) if unit == "us" else int(acc[key])
        if count > 0:
            out.append(f"{key} {count}")
    return "\n".join(out) + ("\n" if out else "")


# -- pprof ------------------------------------------------------------------------------------------
# profile.proto field numbers (github.com/google/pprof/blob/main/proto/profile.proto)

def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64            # int64 negatives are ten-byte two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value) if value else b""


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _packed(number: int, values: Iterable[int]) -> bytes:
    payload = b"".join(_varint(v) for v in values)
    return _field_bytes(number, payload) if payload else b""


class _Strings:
    def __init__(self) -> None:
        self.table: List[str] = [""]            # index 0 must be the empty string
        self.index: Dict[str, int] = {"": 0}

    def __call__(self, text: str) -> int:
        idx = self.index.get(text)
        if idx is None:
            idx = self.index[text] = len(self.table)
            self.table.append(text)
        return idx


def to_pprof(profile: StackProfile) -> bytes:
    """The profile as gzipped ``profile.proto`` bytes."""
    check_profile(profile)
    s = _Strings()
    body = bytearray()
    for type_, unit in (("samples", "count"), ("wall", "nanoseconds")):     # sample_type = 1
        body += _field_bytes(1, _field_varint(1, s(type_)) + _field_varint(2, s(unit)))
    for row in sorted(profile.rows, key=lambda r: (r.thread_id, r.stack_id, r.category)):
        locations = [fid + 1 for fid in reversed(profile.stacks[row.stack_id])]  # leaf first
        labels = [
            _field_varint(1, s("thread")) + _field_varint(2, s(
                profile.thread_names.get(row.thread_id) or str(row.thread_id))),
            _field_varint(1, s("thread_id")) + _field_varint(3, row.thread_id),
            _field_varint(1, s("category")) + _field_varint(2, s(row.category)),
        ]
        sample = (_packed(1, locations)
                  + _packed(2, [row.samples, round(row.seconds * 1e9)])
                  + b"".join(_field_bytes(3, lab) for lab in labels))
        body += _field_bytes(2, sample)                                     # sample = 2
    functions: Dict[Tuple[str, str], int] = {}
    for fid, frame in enumerate(profile.frames):                            # location = 4
        fn_id = functions.setdefault((frame.function, frame.filename), len(functions) + 1)
        line = _field_varint(1, fn_id) + _field_varint(2, frame.line)
        body += _field_bytes(4, _field_varint(1, fid + 1) + _field_bytes(4, line))
    for (function, filename), fn_id in functions.items():                   # function = 5
        body += _field_bytes(5, _field_varint(1, fn_id) + _field_varint(2, s(function))
                             + _field_varint(3, s(function)) + _field_varint(4, s(filename)))
    tail = bytearray()
    tail += _field_varint(10, round(profile.duration_seconds * 1e9))       # duration_nanos
    tail += _field_bytes(11, _field_varint(1, s("wall")) + _field_varint(2, s("nanoseconds")))
    if profile.effective_hz > 0:
        tail += _field_varint(12, round(1e9 / profile.effective_hz))       # period
    tail += _field_varint(14, s("wall"))                                    # default_sample_type
    # a lone surrogate in a name is escaped, as in every text output
    strings = b"".join(_field_bytes(6, text.encode("utf-8", "backslashreplace"))
                       for text in s.table)
    return gzip.compress(bytes(body) + strings + bytes(tail), mtime=0)


@encodable_output
def write_json(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"))
