"""Conversions between StackProfile and the native aggregator, and the native merge/diff.

``merge`` and ``diff`` do the combining in C (dprof._native.StackTable); their
pure-Python twins are ``StackProfile.merged`` and ``StackProfile.diff``, and the tests
hold the two to the same answers.
"""
from __future__ import annotations

from typing import Dict, Iterable, Tuple

from dprof import _native
from dprof.stacks.model import CATEGORIES, Frame, StackProfile, StackRow

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


def merge(profiles: Iterable[StackProfile]) -> StackProfile:
    """One profile holding the samples of all ``profiles`` (threads kept apart by id)."""
    profiles = list(profiles)
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


def diff(base: StackProfile, other: StackProfile
         ) -> Dict[Tuple[Frame, ...], Tuple[float, float]]:
    """Seconds per stack (all threads and categories) as (base, other)."""
    frames, stacks, base_s, other_s = _native.stack_table_diff(to_table(base),
                                                               to_table(other))
    fr = [Frame(f, fn, line) for f, fn, line in frames]
    return {tuple(fr[i] for i in s): (a, b) for s, a, b in zip(stacks, base_s, other_s)}
