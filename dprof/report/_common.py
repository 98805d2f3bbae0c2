"""Helpers shared by the reports: which code is the user's, frame labels, number formats.

Nothing here reads a profile's rows; it only classifies and names frames so that every
report agrees on what "your code" is and how a frame is written.
"""
from __future__ import annotations

import functools
import os
import sys
from typing import Dict, Iterable, Tuple

from dprof.stacks.model import (CATEGORIES, CPU_NATIVE, CPU_PYTHON, WAIT_GIL, WAIT_IO,
                                WAIT_SLEEP, Frame)

# Short names used in column headers and breakdowns.
CATEGORY_LABELS: Dict[str, str] = {
    CPU_PYTHON: "CPU(Py)",
    CPU_NATIVE: "CPU(C)",
    WAIT_IO: "IO wait",
    WAIT_GIL: "GIL wait",
    WAIT_SLEEP: "Sleep/lock",
}

# One hue per category, the same in the SVG, the HTML and the terminal.
CATEGORY_COLOURS: Dict[str, str] = {
    CPU_PYTHON: "#f5a623",   # orange: Python bytecode
    CPU_NATIVE: "#d0453a",   # red: native code on CPU
    WAIT_IO: "#3b7dd8",      # blue: disk wait
    WAIT_GIL: "#9b59b6",     # purple: waiting for the GIL
    WAIT_SLEEP: "#8c9aa6",   # grey: sleeping / blocked
}


def _dir_prefix(path: str) -> str:
    path = os.path.normcase(os.path.abspath(path))
    return path if path.endswith(os.sep) else path + os.sep


def library_prefixes() -> Tuple[str, ...]:
    """Directories whose files are not the user's code: the stdlib, site dirs, dprof."""
    from dprof.stacks.user_code import library_prefixes as prefixes
    return prefixes()


@functools.lru_cache(maxsize=4096)
def is_user_code(filename: str) -> bool:
    """True for the user's own files; False for the stdlib, installed packages
    (anything under site-packages or dist-packages), frozen and other ``<...>``
    pseudo-files, native frames without a file, and dprof itself."""
    if not filename or (filename.startswith("<") and filename.endswith(">")):
        return False
    path = os.path.normcase(os.path.abspath(filename))
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    if any(path.startswith(prefix) for prefix in library_prefixes()):
        return False
    from dprof.stacks.user_code import _library_prefixes
    return not any(path.startswith(prefix) for prefix in _library_prefixes())


_DPROF_DIR = _dir_prefix(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def is_dprof_code(filename: str) -> bool:
    """True for frames in dprof's own package."""
    return bool(filename) and os.path.normcase(os.path.abspath(filename)).startswith(_DPROF_DIR)


def is_profiler_overhead(frames, user=None) -> bool:
    """True when a stack passes through dprof's own code *below* the user's deepest
    frame: time dprof spent recording a nested profile (measuring, building it,
    opening the database and storing it) inside the program being profiled. dprof
    frames above the user's code (the ``dprof run`` launcher) do not count."""
    user = user or is_user_code
    deepest_user = -1
    for i, frame in enumerate(frames):
        if user(frame.filename):
            deepest_user = i
    if deepest_user < 0:
        return False
    return any(is_dprof_code(f.filename) for f in frames[deepest_user + 1:])


def frame_filter(include_libraries: bool, profile=None):
    """A predicate on frames: everything, or only the user's code (as ``profile``'s
    ``meta["user_code"]`` describes it, see ``user_code.py``; without a profile, or
    without roots in it, every file that is not a library or dprof)."""
    if include_libraries:
        return lambda frame: True
    user = user_predicate(profile)
    return lambda frame: user(frame.filename)


def user_predicate(profile=None):
    """filename -> is it the user's code, for ``profile``."""
    if profile is None:
        return is_user_code
    from dprof.stacks.user_code import UserCode
    found = UserCode.of(profile)
    return found if found.has_roots else is_user_code


def short_path(filename: str) -> str:
    """The file name relative to the current directory when it lies below it."""
    if not filename or filename.startswith("<"):
        return filename
    cwd = os.getcwd()
    if os.path.dirname(cwd) == cwd:         # at "/": a relative path reads no better
        return filename
    try:
        rel = os.path.relpath(filename, cwd)
    except ValueError:          # another drive (Windows) - keep it whole
        return filename
    return filename if rel.startswith("..") else rel


def module_of(filename: str) -> str:
    """A coarse module key used to colour frames by module (the file's stem)."""
    base = os.path.basename(filename) or filename
    return base[:-3] if base.endswith(".py") else base


def frame_label(frame: Frame, lines: bool = True, short: bool = True) -> str:
    """``function (file:line)`` or ``function (file)``; ``short`` writes files below the
    current directory relative to it (for people), exports keep the whole path so that
    their output does not depend on where they were made."""
    where = short_path(frame.filename) if short else frame.filename
    if lines and frame.line > 0:
        where = f"{where}:{frame.line}"
    return f"{frame.function} ({where})" if where else frame.function


def encodable(text):
    """``text`` with every character UTF-8 cannot encode (a lone surrogate: a file
    name that was not valid UTF-8, a hand-edited profile) written as ``\\udXXX``, so
    that no output of a report fails to print or to save. Cheap when there is none;
    anything but a str (a binary format) is returned as it is."""
    if not isinstance(text, str):
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def encodable_output(render):
    """Decorate a renderer that returns text: its text is ``encodable``."""
    @functools.wraps(render)
    def wrapper(*args, **kwargs):
        return encodable(render(*args, **kwargs))
    return wrapper


def source_line(filename: str, line: int) -> str:
    """The stripped source of ``filename:line``, or "" when it cannot be read (no such
    file, or a name the file system cannot take: a lone surrogate, a NUL)."""
    import linecache
    if line <= 0:
        return ""
    try:
        return linecache.getline(filename, line).strip()
    except (OSError, ValueError):           # UnicodeEncodeError is a ValueError
        return ""


def empty_by_category() -> Dict[str, float]:
    return {c: 0.0 for c in CATEGORIES}


def add_into(acc: Dict[str, float], category: str, seconds: float) -> None:
    acc[category] = acc.get(category, 0.0) + seconds


def percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


def format_seconds(seconds: float) -> str:
    if seconds >= 100:
        return f"{seconds:.0f}s"
    if seconds >= 1:
        return f"{seconds:.2f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f}ms"
    return f"{seconds * 1e6:.0f}us"


def check_threshold(threshold: float) -> float:
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise TypeError(f"threshold must be a number of percent, got {threshold!r}") from None
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"threshold must be a percentage between 0 and 100, got {threshold!r}")
    return value


def check_profile(profile) -> None:
    from dprof.stacks.model import StackProfile
    if not isinstance(profile, StackProfile):
        raise TypeError(f"expected a dprof StackProfile, got {type(profile).__name__}")


def use_rich(color) -> bool:
    """Whether terminal output should be styled: asked for, or stdout is a terminal."""
    if color is None:
        isatty = getattr(sys.stdout, "isatty", None)
        return bool(isatty and isatty())
    return bool(color)


def dominant_category(seconds: Dict[str, float], categories: Iterable[str] = CATEGORIES) -> str:
    return max(categories, key=lambda c: seconds.get(c, 0.0))
