"""Which file a verb writes: the ending of ``-o FILE`` names the format.

One table for every verb that writes files, so that ``.json`` means the same thing
(dprof's profile JSON) in ``dprof run -o`` and ``dprof view -o``, and an ending dprof
does not know is an error naming the ones it knows.
"""
from __future__ import annotations

import json
import os
from typing import Tuple

from dprof.cli.errors import CliError

# a profile's files (dprof run -o, dprof view -o), longest ending first
PROFILE_ENDINGS: Tuple[Tuple[str, str], ...] = (
    (".speedscope.json", "speedscope"),
    (".trace.json", "chrome"),
    (".pb.gz", "pprof"),
    (".collapsed", "collapsed"),
    (".html", "html"),
    (".htm", "html"),
    (".svg", "svg"),
    (".json", "profile"),
)
# tables of profiles (dprof export -o)
TABLE_ENDINGS: Tuple[Tuple[str, str], ...] = (
    (".csv", "csv"),
    (".jsonl", "jsonl"),
    (".json", "json"),
    (".parquet", "parquet"),
    (".pq", "parquet"),
)


def format_for(path: str, endings, what: str) -> str:
    """The format ``path``'s ending names; CliError naming the known endings."""
    name = os.fspath(path).lower()
    for ending, fmt in endings:
        if name.endswith(ending):
            return fmt
    known = " ".join(e for e, _ in endings)
    raise CliError(f"cannot tell which {what} to write from the name {os.fspath(path)!r}: "
                   f"use one of the endings {known}")


def profile_format(path: str) -> str:
    return format_for(path, PROFILE_ENDINGS, "file")


def table_format(path: str) -> str:
    return format_for(path, TABLE_ENDINGS, "table")


def render(profile, fmt: str, *, label: str = "", threshold: float = 1.0,
           include_libraries: bool = False):
    """The content of a ``fmt`` file of ``profile`` (a Profile, or a StackProfile
    for every format but the profile JSON of a Profile): str or bytes."""
    from dprof import report
    from dprof.record import Profile
    stacks = profile.stacks if isinstance(profile, Profile) else profile
    label = label or (profile.process_name if isinstance(profile, Profile) else "profile")
    if fmt == "profile":
        return json.dumps(profile.to_dict(), allow_nan=False)
    if stacks is None or not stacks.rows:
        raise CliError(f"{label} has no stack samples to write as {fmt}")
    if fmt == "html":
        return report.html_report(profile, title=f"dprof: {label}", threshold=threshold,
                                  include_libraries=include_libraries)
    if fmt == "svg":
        return report.flamegraph_svg(stacks, title=f"dprof: {label}",
                                     include_libraries=include_libraries)
    if fmt == "speedscope":
        return json.dumps(report.to_speedscope(stacks, name=label), separators=(",", ":"))
    return report.FORMATS[fmt](stacks)


def write_file(path: str, content) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same directory,
    so that a reader never sees half a file (dprof.cli.output.atomic_file)."""
    from dprof.cli.output import write_atomically
    write_atomically(path, content)


def write_profile_file(profile, path: str, fmt: str = None, **options) -> str:
    """Write ``profile`` to ``path`` in ``fmt`` (default: from the ending); returns
    what was written, for the user ("FORMAT to PATH")."""
    fmt = fmt or profile_format(path)
    write_file(path, render(profile, fmt, **options))
    return f"{fmt} to {path}"
