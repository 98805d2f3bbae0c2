"""Renderings of a MemoryProfile: the memory hotspot table (Scalene's columns),
collapsed stacks in bytes, and speedscope / pprof documents with memory sample types.

Each is a pure function of the MemoryProfile, like the time renderers; the CLI's
``dprof view PROFILE --memory allocated|peak|leaked`` picks one.
"""
from __future__ import annotations

import json
from typing import Dict, List

from dprof.memory.model import KINDS, MemoryProfile
from dprof.report._common import encodable_output, frame_label, is_user_code
from dprof.report.exporters import _field_bytes as _field
from dprof.report.exporters import _field_varint as _int_field
from dprof.report.exporters import _packed

_KIND_TITLE = {"allocated": "bytes allocated", "peak": "bytes live at the peak",
               "leaked": "bytes live at the end (leak candidates)"}


def _mb(value: float) -> str:
    return f"{value / (1 << 20):10.1f}"


@encodable_output
def memory_table(prof: MemoryProfile, *, by: str = "line", limit: int = 20,
                 include_libraries: bool = False) -> str:
    """The memory hotspot table: per line (or function) MB allocated, estimated
    allocations, MB live at the peak, MB live at the end, net growth, % of bytes."""
    keep = None if include_libraries else (lambda f: is_user_code(f.filename))
    rows = prof.by_line(keep) if by == "line" else prof.by_function(keep)
    total = prof.totals.get("allocated") or 0
    out = [f"Memory (sampled, one sample per {prof.totals.get('mean', 0):.0f} bytes on average; "
           f"peak {_mb(prof.totals.get('peak_live', 0)).strip()} MB live"
           + (f" at {prof.totals['peak_t']:.3f} s" if prof.totals.get("peak_t") is not None else "")
           + f", {_mb(prof.totals.get('live_end', 0)).strip()} MB live at the end)",
           f"{'alloc MB':>10} {'allocs':>10} {'peak MB':>10} {'end MB':>10} "
           f"{'growth MB':>10} {'%alloc':>7}  {by}"]
    for s in rows[:limit]:
        share = 100.0 * s.alloc_bytes / total if total else 0.0
        out.append(f"{_mb(s.alloc_bytes)} {s.alloc_count:10.0f} {_mb(s.peak_bytes)} "
                   f"{_mb(s.end_bytes)} {_mb(s.net_growth)} {share:6.1f}%  "
                   f"{frame_label(s.frame, lines=by == 'line')}")
    if prof.numpy is not None:
        out.append(f"NumPy data allocations not sampled: {prof.numpy}")
    if prof.totals.get("nogil_bytes"):
        out.append(f"{_mb(prof.totals['nogil_bytes']).strip()} MB of NumPy data allocated "
                   f"without the GIL carry no stack")
    return "\n".join(out) + "\n"


def summary_lines(prof: MemoryProfile) -> List[str]:
    """The few lines ``dprof run --memory`` prints after its summary."""
    keep = lambda f: is_user_code(f.filename)    # noqa: E731
    t = prof.totals
    out = [f"  memory       {_mb(t.get('allocated', 0)).strip()} MB allocated (sampled), "
           f"peak {_mb(t.get('peak_live', 0)).strip()} MB live, "
           f"{_mb(t.get('live_end', 0)).strip()} MB live at the end"]
    for s in prof.top_at_peak(keep, 3):
        out.append(f"    at peak {_mb(s.peak_bytes)} MB  {frame_label(s.frame)}")
    for s in prof.leak_candidates(keep, 3):
        out.append(f"    at end  {_mb(s.end_bytes)} MB  {frame_label(s.frame)}")
    return out


def top_lines_at_peak(prof: MemoryProfile, limit: int = 5,
                      include_libraries: bool = False) -> List[str]:
    keep = None if include_libraries else (lambda f: is_user_code(f.filename))
    return [f"{_mb(s.peak_bytes)} MB  {frame_label(s.frame)}"
            for s in prof.top_at_peak(keep, limit)]


def memory_speedscope(prof: MemoryProfile, kind: str, name: str = "dprof") -> Dict:
    """A speedscope "sampled" profile whose weights are bytes of ``kind``."""
    frames: List[Dict] = []
    index: Dict[int, int] = {}
    samples, weights = [], []
    for stack, value in sorted(prof.bytes_by_stack(kind).items()):
        ids = []
        for fid in reversed(stack):
            if fid not in index:
                f = prof.frames[fid]
                index[fid] = len(frames)
                frames.append({"name": f.function, "file": f.filename, "line": f.line})
            ids.append(index[fid])
        samples.append(ids)
        weights.append(value)
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": [{"type": "sampled", "name": f"{name}: {_KIND_TITLE[kind]}",
                      "unit": "bytes", "startValue": 0, "endValue": sum(weights),
                      "samples": samples, "weights": weights}],
        "exporter": "dprof", "name": name,
    }


# -- pprof: profile.proto written by hand (see exporters.py for the time version) ----
# (the protobuf encoding is the time exporter's: zero scalars and empty packed fields
# are left out, which a proto3 reader reads back as 0 / empty)


def memory_pprof(prof: MemoryProfile) -> bytes:
    """gzipped profile.proto with sample types alloc_objects/count,
    alloc_space/bytes, peak_space/bytes and leaked_space/bytes (one sample per
    stack)."""
    import gzip
    strings: List[str] = [""]
    sidx: Dict[str, int] = {"": 0}

    def s(text: str) -> int:
        if text not in sidx:
            sidx[text] = len(strings)
            strings.append(text)
        return sidx[text]

    body = b""
    for t, u in (("alloc_objects", "count"), ("alloc_space", "bytes"),
                 ("peak_space", "bytes"), ("leaked_space", "bytes")):
        body += _field(1, _int_field(1, s(t)) + _int_field(2, s(u)))
    functions: Dict[tuple, int] = {}
    locations: Dict[int, int] = {}
    loc_msgs, fn_msgs = b"", b""
    for row in prof.rows:
        loc_ids = []
        for fid in row.stack:                  # leaf first, as pprof wants
            if fid not in locations:
                f = prof.frames[fid]
                key = (f.filename, f.function)
                if key not in functions:
                    functions[key] = len(functions) + 1
                    fn_msgs += _field(5, _int_field(1, functions[key])
                                      + _int_field(2, s(f.function))
                                      + _int_field(3, s(f.function))
                                      + _int_field(4, s(f.filename)))
                locations[fid] = len(locations) + 1
                line = _int_field(1, functions[key]) + _int_field(2, max(f.line, 0))
                loc_msgs += _field(4, _int_field(1, locations[fid]) + _field(4, line))
            loc_ids.append(locations[fid])
        values = [int(round(row.alloc_count)), row.alloc_bytes, row.peak_bytes, row.end_bytes]
        body += _field(2, _packed(1, loc_ids) + _packed(2, values))
    body += loc_msgs + fn_msgs
    for text in strings:
        body += _field(6, text.encode("utf-8", "backslashreplace"))
    return gzip.compress(body)


@encodable_output
def render_memory(prof: MemoryProfile, kind: str, fmt: str, label: str,
                  include_libraries: bool = False) -> object:
    """What ``dprof view --memory KIND --format FMT`` writes."""
    if kind not in KINDS:
        raise ValueError(f"memory kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if fmt == "collapsed":
        return prof.collapsed(kind)
    if fmt == "text":
        return memory_table(prof, include_libraries=include_libraries)
    if fmt == "speedscope":
        return json.dumps(memory_speedscope(prof, kind, label), separators=(",", ":"))
    if fmt == "pprof":
        return memory_pprof(prof)
    if fmt == "svg":
        from dprof.report.memory_flamegraph import memory_flamegraph_svg
        return memory_flamegraph_svg(prof, kind, title=f"{label}: {_KIND_TITLE[kind]}")
    if fmt == "html":
        from html import escape
        from dprof.report.memory_flamegraph import memory_html_section
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>dprof memory: "
                f"{escape(label)}</title></head><body><h1>{escape(label)}</h1>"
                f"{memory_html_section(prof, include_libraries)}</body></html>")
    raise ValueError(f"--memory writes text, collapsed, svg, html, speedscope or pprof, not {fmt}")
