"""The call tree as terminal text: total and self time per node, the share of the whole
profile, and how the node's time splits between CPU and waiting.

Subtrees under ``threshold`` percent of the whole are collapsed into one
"N more below threshold" line so that a deep profile stays readable.
"""
from __future__ import annotations

import io
from typing import List, Optional

from dprof.report._common import (check_profile, check_threshold, encodable_output, percent,
                                  use_rich)
from dprof.report.tree import Node, build_tree
from dprof.stacks.model import CATEGORIES, StackProfile

# Compact names for the per-node breakdown.
_SHORT = {"cpu_python": "py", "cpu_native": "c", "wait_io": "io", "wait_gil": "gil",
          "wait_sleep": "sleep"}


#: Deeper than this, a row shows its depth and only the innermost guide columns, so that
#: a 50,000-deep recursion gives 50,000 short lines rather than gigabytes of indentation.
MAX_INDENT = 40


def breakdown(node: Node) -> str:
    """``py 60% c 40%``: each category's share of the node's own total."""
    total = node.total
    parts = [f"{_SHORT[c]} {percent(node.seconds[c], total):.0f}%"
             for c in CATEGORIES if node.seconds[c] > 0]
    return " ".join(parts)


def calltree_lines(profile: StackProfile, *, threshold: float = 1.0, lines: bool = False,
                   by_thread: bool = False, include_libraries: bool = True,
                   max_depth: Optional[int] = None) -> List[tuple]:
    """The rows of the call-tree text as (prefix, node-or-None, text) tuples; a row with
    node None is a collapsed "more below threshold" line. Used by both renderers."""
    threshold = check_threshold(threshold)
    root = build_tree(profile, lines=lines, by_thread=by_thread,
                      include_libraries=include_libraries)
    whole = root.total
    out: List[tuple] = []
    # An explicit stack instead of recursion (a deep recursion in the profile is a deep
    # tree). Each entry: (node or hidden list, branch, guide columns of its parent,
    # depth); the guides are "│  " / "   " columns, at most MAX_INDENT of them kept.
    todo: List[tuple] = [(root, "", "", 0)]
    while todo:
        entry, branch, guides, depth = todo.pop()
        marker = f"[depth {depth}] " if depth - 1 > MAX_INDENT else ""
        prefix = marker + guides + branch
        if isinstance(entry, list):
            secs = sum(k.total for k in entry)
            out.append((prefix, None, f"{secs:.3f}s {percent(secs, whole):5.1f}%  "
                                      f"[{len(entry)} more below {threshold:g}%]"))
            continue
        node = entry
        out.append((prefix, node, ""))
        if max_depth is not None and depth >= max_depth:
            kids, hidden = [], node.sorted_children()
        else:
            ordered = sorted(node.children.values(), key=lambda n: -n.total)
            kids = [k for k in ordered if percent(k.total, whole) >= threshold]
            hidden = [k for k in ordered if percent(k.total, whole) < threshold]
        entries: List[object] = list(kids)
        if hidden:
            entries.append(hidden)
        if depth > 0:
            guides += "   " if branch.startswith("└") else "│  "
            if len(guides) > 3 * MAX_INDENT:       # every column is 3 characters
                guides = guides[3:]
        for i in reversed(range(len(entries))):       # pushed last first: popped in order
            last = i == len(entries) - 1
            todo.append((entries[i], "└─ " if last else "├─ ", guides, depth + 1))
    return out



@encodable_output
def render_calltree(profile: StackProfile, *, threshold: float = 1.0, lines: bool = False,
                    by_thread: bool = False, include_libraries: bool = True,
                    max_depth: Optional[int] = None, color: Optional[bool] = None,
                    width: int = 160) -> str:
    """The call tree as text, one node per line::

        1.500s 100.0% self 0.000s  all  [py 67% io 33%]
        └─ 1.500s 100.0% self 0.000s  main (app.py)  [py 67% io 33%]

    Styled with rich when ``color`` is True or (when None) stdout is a terminal.
    """
    check_profile(profile)
    rows = calltree_lines(profile, threshold=threshold, lines=lines, by_thread=by_thread,
                          include_libraries=include_libraries, max_depth=max_depth)
    whole = rows[0][1].total if rows else 0.0
    styled = use_rich(color)
    text_lines = []
    for prefix, node, text in rows:
        if node is None:
            text_lines.append((prefix, None, text))
            continue
        numbers = (f"{node.total:.3f}s {percent(node.total, whole):5.1f}% "
                   f"self {node.self_total:.3f}s")
        text_lines.append((prefix, node, f"{numbers}  {node.name}  [{breakdown(node)}]"))
    if not styled:
        return "\n".join(prefix + text for prefix, _, text in text_lines) + "\n"
    return _rich_render(text_lines, whole, width)


def _rich_render(text_lines, whole: float, width: int) -> str:
    from rich.console import Console
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=width, color_system="standard",
                      highlight=False)
    for prefix, node, text in text_lines:
        line = Text()
        line.append(prefix, style="dim")
        if node is None:
            line.append(text, style="dim italic")
        else:
            share = percent(node.total, whole)
            style = "bold red" if share >= 50 else "yellow" if share >= 10 else "green"
            line.append(text, style=style)
        console.print(line, no_wrap=True, overflow="ellipsis")
    return buf.getvalue()
