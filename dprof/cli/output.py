"""Terminal output: rich tables on a terminal, plain aligned text when piped.

Units, the same in every table (``history``, ``show``, ``stats``, ``dprof run``'s
summary) and in the HTML report: durations in s / ms / us, sizes in binary units
(``memory_usage_peak_mb`` is MiB, 2**20 bytes), CPU as a percent of runtime x cores.
JSON and CSV keep the stored numbers whole.

Files named with ``-o`` are written whole or not at all (:func:`atomic_file`): a
reader, or a run killed while writing, never leaves half a file at the path.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
from typing import Any, Iterator, List, Optional, Sequence


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if value != 0 and abs(value) < 0.01:
            return f"{value:.2e}"
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def human_seconds(value) -> str:
    """``1.54 ms``, ``2.31 s``, ``3 min 05 s``; "-" for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    value = float(value)
    if value >= 3600:
        return f"{int(value // 3600)} h {int(value % 3600 // 60):02d} min"
    if value >= 60:
        return f"{int(value // 60)} min {int(value % 60):02d} s"
    if value >= 10:
        return f"{value:.1f} s"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    if value > 0:
        return f"{value * 1e6:.3g} us"
    return "0 s"


_BINARY = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(value) -> str:
    """``512 bytes``, ``4.0 KiB``, ``39.2 MiB``; "-" for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    value = float(value)
    for unit in _BINARY:
        if abs(value) < 1024 or unit == _BINARY[-1]:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024.0
    return f"{value:.1f} {_BINARY[-1]}"


def human_mib(value) -> str:
    """A size given in MiB (``memory_usage_peak_mb``), written as human_bytes does."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return human_bytes(float(value) * 2**20)


def human_percent(fraction) -> str:
    """A fraction (0.43) as a percent (``43.0 %``)."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "-"
    return f"{float(fraction) * 100:.1f} %"


def print_table(headers: Sequence[str], rows: List[Sequence[Any]],
                title: Optional[str] = None, stream=None) -> None:
    stream = stream or sys.stdout
    cells = [[format_value(v) for v in row] for row in rows]
    if is_terminal(stream):
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
        table = Table(title=title, header_style="bold")
        for h in headers:
            table.add_column(h, overflow="fold")
        for row in cells:
            # cells are data, not markup: "quick_sort[pivot_strategy=first]" would
            # otherwise lose its brackets as an unknown style tag
            table.add_row(*[escape(c) for c in row])
        Console(file=stream).print(table)
        return
    if title:
        print(title, file=stream)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), file=stream)
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=stream)


def progress(iterable, total: Optional[int] = None, description: str = "working"):
    """Wrap a long loop with a progress bar on a terminal; plain iteration when piped."""
    if not is_terminal(sys.stderr):
        yield from iterable
        return
    from rich.progress import Progress
    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in iterable:
            yield item
            bar.advance(task)


@contextlib.contextmanager
def atomic_file(path: str, binary: bool = False) -> Iterator[Any]:
    """Open a temporary file next to ``path`` for writing; on a clean exit it is
    flushed to disk and renamed over ``path`` (atomic on POSIX), on an error (or a
    kill) ``path`` keeps what it held and the temporary file is removed (after
    SIGKILL a ``.dprof-*`` file may stay behind; ``path`` is still whole).
    OSError becomes CliError("cannot write PATH: why")."""
    from dprof.cli.errors import CliError
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".dprof-", dir=directory)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}")
    try:
        with os.fdopen(fd, "wb" if binary else "w",
                       **({} if binary else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())   # the rename must not land before the data
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise CliError(f"cannot write {path}: {exc.strerror or exc}")
        raise


def write_atomically(path: str, content) -> None:
    """Write ``content`` (str or bytes) to ``path`` through :func:`atomic_file`."""
    with atomic_file(path, binary=isinstance(content, bytes)) as fh:
        fh.write(content)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
