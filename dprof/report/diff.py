"""What changed between two stack profiles, per line or per function: the rows
``dprof diff`` prints and ``dprof insights`` quotes.

A line's seconds are its self time as ``hotspots`` attributes it (the deepest frame
of the user's code, or the leaf with ``include_libraries``); a function's are its
total (inclusive) time as ``function_hotspots`` counts it. Each profile is
attributed by its own rules (its own user-code roots), then the two are compared.
This is not ``dprof.stacks.diff``, which gives seconds per whole stack.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from dprof.report._common import short_path
from dprof.report.hotspots import function_hotspots, hotspots


def diff_rows(before, after, *, by: str = "line", threshold: float = 1.0,
              include_libraries: bool = False,
              limit: Optional[int] = 20) -> Tuple[List[Tuple[str, float, float]], int]:
    """([(location, seconds before, seconds after)], how many were left out), largest
    absolute change first. A row is kept when its change is at least ``threshold``
    percent of the larger of the two profiles' totals."""
    b = _seconds_by(before, by, include_libraries)
    a = _seconds_by(after, by, include_libraries)
    whole = max(before.total_seconds(), after.total_seconds())
    rows = [(key, b.get(key, 0.0), a.get(key, 0.0)) for key in set(b) | set(a)]
    rows.sort(key=lambda r: (-abs(r[2] - r[1]), r[0]))
    kept = [r for r in rows if whole > 0 and abs(r[2] - r[1]) * 100.0 / whole >= threshold
            and abs(r[2] - r[1]) > 1e-12]
    shown = kept if limit is None else kept[:limit]
    changed = sum(1 for r in rows if abs(r[2] - r[1]) > 1e-12)
    return shown, changed - len(shown)


def _seconds_by(stacks, by: str, include_libraries: bool) -> Dict[str, float]:
    """Seconds per row label: a line's self time, or a function's total."""
    if by == "line":
        return {f"{short_path(s.filename)}:{s.line} {s.function}": s.total_seconds
                for s in hotspots(stacks, include_libraries=include_libraries)}
    return {f"{f.function} ({short_path(f.filename)})": sum(f.total_seconds.values())
            for f in function_hotspots(stacks, include_libraries=include_libraries)}
