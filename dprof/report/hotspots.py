"""Line-level hotspots (in the manner of Scalene): where the time went, per source line
and per function, split into CPU in Python, CPU in native code and waiting.

Attribution. A stack's time is the *self* time of one line: the leaf frame's line when
libraries are included; otherwise the deepest frame of the user's own code, so that
time spent inside ``sorted()``, numpy or the stdlib lands on the user's line that called
it (that is where the user can act). Stacks with no user frame at all are not shown as
a line; they still count in the total that percentages are taken of.

Percentages are of the profile's whole time: the seconds of every row, all threads and
all categories. A function's *total* counts every stack it appears in once (recursion
does not double-count); its *self* is the time attributed to its lines.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from dprof.report._common import (CATEGORY_LABELS, add_into, check_profile, check_threshold,
                                  empty_by_category, encodable_output, frame_filter,
                                  is_profiler_overhead, percent, short_path, source_line,
                                  use_rich, user_predicate)
from dprof.stacks.model import (CATEGORIES, CPU_NATIVE, CPU_PYTHON, WAIT_GIL, WAIT_IO,
                                WAIT_SLEEP, Frame, StackProfile)

SORT_KEYS = ("time", "line")


@dataclass
class LineHotspot:
    """The time attributed to one source line."""

    filename: str
    line: int
    function: str
    source: str                                  # the line's text ("" when unreadable)
    seconds: Dict[str, float] = field(default_factory=empty_by_category)
    percent: Dict[str, float] = field(default_factory=dict)   # per category and "total"

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def location(self) -> str:
        return f"{self.filename}:{self.line}"


@dataclass
class FunctionHotspot:
    """The time of one function: self (attributed to its lines) and total (inclusive)."""

    filename: str
    function: str
    first_line: int                              # the lowest line seen executing
    self_seconds: Dict[str, float] = field(default_factory=empty_by_category)
    total_seconds: Dict[str, float] = field(default_factory=empty_by_category)
    self_percent: float = 0.0
    total_percent: float = 0.0


def _attributed_frame(frames: List[Frame], wanted) -> Optional[Frame]:
    for frame in reversed(frames):
        if wanted(frame):
            return frame
    return None


def profiler_overhead_seconds(profile: StackProfile) -> float:
    """Seconds the profiled program spent inside dprof recording nested profiles
    (``@profiler`` calls inside a profiled run): measuring, building the record,
    opening the database and storing. Left off the user's lines by ``hotspots``."""
    user = user_predicate(profile)
    return sum(row.seconds for row in profile.rows
               if is_profiler_overhead(profile.stack_frames(row.stack_id), user))


def hotspots(profile: StackProfile, *, threshold: float = 0.0,
             include_libraries: bool = False, sort: str = "time") -> List[LineHotspot]:
    """One row per ``file:line`` holding self time, with percentages of the whole profile.

    threshold: hide lines whose total is under this percentage.
    include_libraries: attribute to the leaf frame wherever it is, instead of the deepest
        frame of the user's code.
    sort: "time" (largest total first) or "line" (by file, then line number).
    """
    check_profile(profile)
    threshold = check_threshold(threshold)
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {SORT_KEYS}, got {sort!r}")
    wanted = frame_filter(include_libraries, profile)
    user = user_predicate(profile)
    whole = profile.total_seconds()
    by_line: Dict[Tuple[str, int], LineHotspot] = {}
    for row in profile.rows:
        frames = profile.stack_frames(row.stack_id)
        if not include_libraries and is_profiler_overhead(frames, user):
            continue    # dprof's own time, not the line's: see profiler_overhead_seconds
        frame = _attributed_frame(frames, wanted)
        if frame is None:
            continue
        key = (frame.filename, frame.line)
        spot = by_line.get(key)
        if spot is None:
            source = source_line(frame.filename, frame.line)
            spot = by_line[key] = LineHotspot(frame.filename, frame.line, frame.function, source)
        add_into(spot.seconds, row.category, row.seconds)
    rows = []
    for spot in by_line.values():
        spot.percent = {c: percent(s, whole) for c, s in spot.seconds.items()}
        spot.percent["total"] = percent(spot.total_seconds, whole)
        if spot.percent["total"] >= threshold:
            rows.append(spot)
    if sort == "time":
        rows.sort(key=lambda r: (-r.total_seconds, r.filename, r.line))
    else:
        rows.sort(key=lambda r: (r.filename, r.line))
    return rows


def function_hotspots(profile: StackProfile, *, threshold: float = 0.0,
                      include_libraries: bool = False) -> List[FunctionHotspot]:
    """One row per function (file, name), largest total first; same attribution rules
    as ``hotspots``. ``threshold`` hides functions whose total is under that percent."""
    check_profile(profile)
    threshold = check_threshold(threshold)
    wanted = frame_filter(include_libraries, profile)
    user = user_predicate(profile)
    whole = profile.total_seconds()
    funcs: Dict[Tuple[str, str], FunctionHotspot] = {}

    def entry(frame: Frame) -> FunctionHotspot:
        key = (frame.filename, frame.function)
        fn = funcs.get(key)
        if fn is None:
            fn = funcs[key] = FunctionHotspot(frame.filename, frame.function, frame.line)
        fn.first_line = min(fn.first_line, frame.line) if frame.line > 0 else fn.first_line
        return fn

    for row in profile.rows:
        stack = profile.stack_frames(row.stack_id)
        if not include_libraries and is_profiler_overhead(stack, user):
            continue    # dprof's own recording time, as in hotspots()
        frames = [f for f in stack if wanted(f)]
        if not frames:
            continue
        seen = set()
        for frame in frames:
            fn = entry(frame)
            if id(fn) not in seen:          # once per stack: recursion counts once
                seen.add(id(fn))
                add_into(fn.total_seconds, row.category, row.seconds)
        add_into(entry(frames[-1]).self_seconds, row.category, row.seconds)
    out = []
    for fn in funcs.values():
        fn.self_percent = percent(sum(fn.self_seconds.values()), whole)
        fn.total_percent = percent(sum(fn.total_seconds.values()), whole)
        if fn.total_percent >= threshold:
            out.append(fn)
    out.sort(key=lambda f: (-sum(f.total_seconds.values()), f.filename, f.function))
    return out


# -- terminal rendering ------------------------------------------------------------------

# Displayed columns: the three the user can act on most, the other waits, the total.
_COLUMNS = (
    ("CPU(Py)", (CPU_PYTHON,)),
    ("CPU(C)", (CPU_NATIVE,)),
    ("IO wait", (WAIT_IO,)),
    ("Other wait", (WAIT_GIL, WAIT_SLEEP)),
)
_SOURCE_WIDTH = 60


def _cells(spot: LineHotspot) -> List[str]:
    values = [sum(spot.percent.get(c, 0.0) for c in cats) for _, cats in _COLUMNS]
    return [f"{v:.1f}%" if v > 0 else "" for v in values] + [f"{spot.percent['total']:.1f}%"]


@encodable_output
def render_hotspots(profile: StackProfile, *, threshold: float = 1.0,
                    include_libraries: bool = False, sort: str = "time",
                    limit: Optional[int] = 40, color: Optional[bool] = None,
                    width: int = 140) -> str:
    """The hotspot table as text: a rich table when ``color`` is True or (when None)
    stdout is a terminal, otherwise plain aligned columns for pipes and files."""
    rows = hotspots(profile, threshold=threshold, include_libraries=include_libraries,
                    sort=sort)
    whole = profile.total_seconds()
    shown = rows if limit is None else rows[:limit]
    all_rows = hotspots(profile, threshold=0.0, include_libraries=include_libraries)
    attributed = sum(r.total_seconds for r in all_rows)
    hidden = attributed - sum(r.total_seconds for r in shown)
    notes = [f"Total time {whole:.3f}s over {len({r.thread_id for r in profile.rows})} "
             f"thread(s); percentages are of the total."]
    if hidden > 1e-12:
        notes.append(f"Lines not shown (under {threshold:g}% or past the first {limit}): "
                     f"{percent(hidden, whole):.1f}%.")
    overhead = 0.0 if include_libraries else profiler_overhead_seconds(profile)
    outside = whole - attributed - overhead
    if not include_libraries and outside > 1e-12:
        notes.append(f"Time with no frame of your code (libraries only): "
                     f"{percent(outside, whole):.1f}%.")
    if overhead > 1e-12:
        notes.append(f"Time dprof itself spent recording nested profiles (measuring, "
                     f"opening the database, storing), not shown on your lines: "
                     f"{percent(overhead, whole):.1f}%.")
    headers = ["Location"] + [name for name, _ in _COLUMNS] + ["Total", "Source"]
    table = [[f"{short_path(r.filename)}:{r.line}"] + _cells(r) + [_clip(r.source)]
             for r in shown]
    if use_rich(color):
        return _rich_table(headers, table, notes, width)
    return _plain_table(headers, table, notes)


def _clip(text: str) -> str:
    return text if len(text) <= _SOURCE_WIDTH else text[:_SOURCE_WIDTH - 3] + "..."


def _plain_table(headers: List[str], table: List[List[str]], notes: List[str]) -> str:
    widths = [max([len(h)] + [len(row[i]) for row in table]) for i, h in enumerate(headers)]
    numeric = range(1, len(headers) - 1)

    def line(cells):
        out = []
        for i, cell in enumerate(cells):
            if i == len(cells) - 1:
                out.append(cell)                       # source: ragged, last
            elif i in numeric:
                out.append(cell.rjust(widths[i]))
            else:
                out.append(cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    lines = [line(headers), line(["-" * w for w in widths[:-1]] + ["-" * 6])]
    lines += [line(row) for row in table]
    if not table:
        lines.append("(no lines of your code above the threshold)")
    return "\n".join(lines + [""] + notes) + "\n"


def _rich_table(headers, table, notes, width) -> str:
    from rich.console import Console
    from rich.table import Table

    grid = Table(title="Hotspots by line", header_style="bold", title_justify="left")
    for i, header in enumerate(headers):
        numeric = 0 < i < len(headers) - 1
        grid.add_column(header, justify="right" if numeric else "left",
                        style="bold" if header == "Total" else None,
                        no_wrap=header != "Source")
    for row in table:
        grid.add_row(*row)
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=width, color_system="standard",
                      highlight=False)
    console.print(grid)
    for note in notes:
        console.print(note, style="dim")
    return buf.getvalue()


__all__ = ["LineHotspot", "FunctionHotspot", "hotspots", "function_hotspots",
           "render_hotspots", "CATEGORY_LABELS", "CATEGORIES"]
