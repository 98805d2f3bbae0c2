"""Conversions between StackProfile and the native aggregator, and the native merge.

``merge`` does the combining in C (dprof._native.StackTable); its pure-Python twin
is ``StackProfile.merged``, and the tests hold the two to the same answers.
(``dprof.stacks.diff`` is ``StackProfile.diff``: a C copy of it had no caller but
its tests, and ``dprof diff`` compares per line, not per stack; see
dprof/report/diff.py.)
"""
from __future__ import annotations

from typing import Iterable

from dprof._native_loader import native as _load_native
from dprof.stacks.model import CATEGORIES, Frame, StackProfile, StackRow

# None without the extension (DPROF_NO_NATIVE=1, or no build): merge() is then its
# pure-Python twin, StackProfile.merged
_native = _load_native()

_CATEGORY_INDEX = {c: i for i, c in enumerate(CATEGORIES)}


def to_table(profile: StackProfile) -> "_native.StackTable":
    """A native table holding the rows of ``profile``."""
    table = _native.StackTable()
    frames = [(f.filename, f.function, f.line) for f in profile.frames]
    for r in profile.rows:
        try:
            category = _CATEGORY_INDEX[r.category]
        except KeyError:
            raise ValueError(f"unknown category {r.category!r} in a stack row; "
                             f"expected one of {CATEGORIES}") from None
        table.add(r.thread_id, [frames[i] for i in profile.stacks[r.stack_id]],
                  category, r.seconds, r.samples)
    return table


def from_table(table: "_native.StackTable", into: StackProfile) -> StackProfile:
    """Fills ``into`` (an empty profile) with the frames, stacks and rows of ``table``."""
    frames, stacks, rows = table.to_data()
    into.frames = [Frame(f, fn, line) for f, fn, line in frames]
    into.stacks = [tuple(s) for s in stacks]
    into.rows = [StackRow(tid, sid, CATEGORIES[cat], n, sec)
                 for tid, sid, cat, n, sec in rows]
    return into


def _merged_in_python(profiles) -> StackProfile:
    """merge() without the extension: StackProfile.merged, one profile at a time."""
    out = StackProfile()
    for p in profiles:
        if not isinstance(p, StackProfile):
            raise TypeError(f"merge() takes StackProfile objects, not {type(p).__name__}")
        out = out.merged(p)
    out.requested_hz = next((p.requested_hz for p in profiles if p.requested_hz), 0.0)
    rates = [p.effective_hz for p in profiles if p.effective_hz]
    out.effective_hz = min(rates) if rates else 0.0
    return out


def merge(profiles: Iterable[StackProfile]) -> StackProfile:
    """One profile holding the samples of all ``profiles`` (threads kept apart by id)."""
    profiles = list(profiles)
    if _native is None:
        return _merged_in_python(profiles)
    table = _native.StackTable()
    out = StackProfile()
    for p in profiles:
        if not isinstance(p, StackProfile):
            raise TypeError(f"merge() takes StackProfile objects, not {type(p).__name__}")
        table.merge(to_table(p))
        out.thread_names.update(p.thread_names)
    from_table(table, out)
    out.requested_hz = next((p.requested_hz for p in profiles if p.requested_hz), 0.0)
    out.duration_seconds = sum(p.duration_seconds for p in profiles)
    out.overhead_seconds = sum(p.overhead_seconds for p in profiles)
    rates = [p.effective_hz for p in profiles if p.effective_hz]
    out.effective_hz = min(rates) if rates else 0.0
    return out

