"""Terminal output: rich tables on a terminal, plain aligned text when piped."""
from __future__ import annotations

import math
import sys
from typing import Any, List, Optional, Sequence


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


def print_table(headers: Sequence[str], rows: List[Sequence[Any]],
                title: Optional[str] = None, stream=None) -> None:
    stream = stream or sys.stdout
    cells = [[format_value(v) for v in row] for row in rows]
    if is_terminal(stream):
        from rich.console import Console
        from rich.table import Table
        table = Table(title=title, header_style="bold")
        for h in headers:
            table.add_column(h, overflow="fold")
        for row in cells:
            table.add_row(*row)
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
