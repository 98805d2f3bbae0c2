"""Static SVG flamegraphs of a StackProfile, and a diff flamegraph of two profiles.

Layout: one rectangle per call-tree node; its width is the node's seconds times a
fixed scale (``(width - 2 * margin) / root seconds``), children sorted by name and
packed left to right inside their parent. ``style="icicle"`` puts the root on top,
``"flame"`` at the bottom. Every rectangle carries a ``<title>`` tooltip and
``data-seconds`` (and, in a diff, ``data-before``/``data-after``) attributes so that
tools can read the numbers back.

Colour: ``colour_by="category"`` takes the hue of the category holding most of the
node's time (orange Python, red native, blue IO, purple GIL, grey sleep), with a small
per-name lightness shift so neighbours stay apart; ``"module"`` takes a hue from the
file name. In a diff the width comes from ``after`` and the colour from the change of
the node's inclusive time: red where it grew, blue where it shrank, the stronger the
larger the change relative to the largest change. A node only in ``after`` is "new"
(full change); time only in ``before`` cannot have an ``after`` width, so the header
states how much of it there is; draw with ``width_from="before"`` to see it.
"""
from __future__ import annotations

import colorsys
import zlib
from html import escape
from typing import Dict, List, Optional, Tuple

from dprof.report._common import (CATEGORY_COLOURS, CATEGORY_LABELS, check_profile,
                                  dominant_category, encodable_output, format_seconds,
                                  module_of, percent)
from dprof.report.tree import Node, build_tree
from dprof.stacks.model import CATEGORIES, StackProfile

STYLES = ("icicle", "flame")
COLOUR_BY = ("category", "module")
_ROW = 17          # px per stack level
_FONT = 11         # px
_CHAR = 6.6        # approximate px per character at _FONT (monospace-ish estimate)
_TOP = 34          # px above the first row (title and notes)


def _hash01(text: str) -> float:
    return (zlib.crc32(text.encode("utf-8", "replace")) & 0xFFFF) / 0xFFFF


def _shade(hex_colour: str, amount: float) -> str:
    """Lighten (amount > 0) or darken a #rrggbb colour in HLS space."""
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, l, s = colorsys.rgb_to_hls(r, g, b)
    l = min(0.92, max(0.15, l + amount))
    r, g, b = colorsys.hls_to_rgb(h, l, s)
    return "#%02x%02x%02x" % (round(r * 255), round(g * 255), round(b * 255))


def category_colour(node: Node) -> str:
    base = CATEGORY_COLOURS[dominant_category(node.seconds)]
    return _shade(base, 0.12 * _hash01(node.name) - 0.04)


def module_colour(node: Node) -> str:
    hue = _hash01(module_of(node.filename) or node.name)
    r, g, b = colorsys.hls_to_rgb(hue, 0.62, 0.55)
    return "#%02x%02x%02x" % (round(r * 255), round(g * 255), round(b * 255))


def diff_colour(delta: float, max_abs: float) -> str:
    """White for no change; red for growth, blue for shrinkage; saturation by size."""
    if max_abs <= 0 or delta == 0:
        return "#e8e8e8"
    strength = min(1.0, abs(delta) / max_abs)
    fade = round(220 * (1.0 - strength))          # 220 -> pale, 0 -> saturated
    return "#%02x%02x%02x" % ((255, fade, fade) if delta > 0 else (fade, fade, 255))


def _layout(root: Node, scale: float, min_width: float) -> List[Tuple[Node, int, float, float]]:
    """(node, depth, x, width) for every node at least ``min_width`` px wide."""
    out = []
    todo = [(root, 0, 0.0)]          # an explicit stack: a deep recursion is a deep tree
    while todo:
        node, depth, x = todo.pop()
        w = node.total * scale
        if w < min_width:
            continue
        out.append((node, depth, x, w))
        placed_kids = []
        for child in node.sorted_children():
            placed_kids.append((child, depth + 1, x))
            x += child.total * scale
        todo.extend(reversed(placed_kids))      # popped in order: pre-order output
    return out


def _tooltip(node: Node, whole: float) -> str:
    lines = [f"{node.name}", f"{format_seconds(node.total)} ({percent(node.total, whole):.2f}%)"
             f", self {format_seconds(node.self_total)}"]
    for c in CATEGORIES:
        if node.seconds[c] > 0:
            lines.append(f"{CATEGORY_LABELS[c]}: {format_seconds(node.seconds[c])}")
    return "\n".join(lines)


def _label(name: str, width: float) -> str:
    fits = int((width - 6) / _CHAR)
    if fits < 3:
        return ""
    return name if len(name) <= fits else name[:fits - 2] + ".."


def _svg(placed, *, width: int, style: str, title: str, notes: str, margin: int,
         colour, tooltip, data) -> str:
    depth = max((d for _, d, _, _ in placed), default=0) + 1
    height = _TOP + depth * _ROW + margin
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Verdana, DejaVu Sans, sans-serif" '
        f'font-size="{_FONT}">',
        '<style>.f rect{stroke:#fff;stroke-width:0.5}.f:hover rect{stroke:#000}'
        '.f text{pointer-events:none;fill:#000}</style>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa"/>',
        f'<text x="{margin}" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="{margin}" y="29" fill="#555">{escape(notes)}</text>',
    ]
    for node, d, x, w in placed:
        row = d if style == "icicle" else depth - 1 - d
        y = _TOP + row * _ROW
        attrs = " ".join(f'data-{k}="{v}"' for k, v in data(node).items())
        parts.append(
            f'<g class="f" {attrs}><title>{escape(tooltip(node))}</title>'
            f'<rect x="{margin + x:.4f}" y="{y}" width="{w:.4f}" height="{_ROW - 1}" '
            f'fill="{colour(node)}"/>'
            f'<text x="{margin + x + 3:.2f}" y="{y + _ROW - 5}">{escape(_label(node.name, w))}'
            f'</text></g>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _check(style: str, width: int) -> None:
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    if not isinstance(width, int) or width < 100:
        raise ValueError(f"width must be an integer number of pixels >= 100, got {width!r}")


@encodable_output
def flamegraph_svg(profile: StackProfile, *, style: str = "icicle",
                   colour_by: str = "category", width: int = 1200, lines: bool = False,
                   by_thread: bool = False, include_libraries: bool = True,
                   min_width: float = 0.1, title: str = "dprof flamegraph",
                   margin: int = 10) -> str:
    """An SVG flamegraph (``style="icicle"`` root on top, ``"flame"`` root at the
    bottom). Frames narrower than ``min_width`` px are left out."""
    check_profile(profile)
    _check(style, width)
    if colour_by not in COLOUR_BY:
        raise ValueError(f"colour_by must be one of {COLOUR_BY}, got {colour_by!r}")
    root = build_tree(profile, lines=lines, by_thread=by_thread,
                      include_libraries=include_libraries)
    whole = root.total
    scale = (width - 2 * margin) / whole if whole > 0 else 0.0
    placed = _layout(root, scale, min_width) if whole > 0 else []
    notes = (f"{format_seconds(whole)} sampled; colour by {colour_by}"
             + ("" if colour_by == "module" else ": orange Python, red native, blue IO, "
                                                 "purple GIL, grey sleep"))
    return _svg(placed, width=width, style=style, title=title, notes=notes, margin=margin,
                colour=category_colour if colour_by == "category" else module_colour,
                tooltip=lambda n: _tooltip(n, whole),
                data=lambda n: {"seconds": repr(n.total)})


def _paired(primary: Node, other: Optional[Node], out: Dict[int, float]) -> None:
    """For every node of ``primary``, the inclusive seconds of the same path in ``other``
    (walked with an explicit stack, not recursion)."""
    todo = [(primary, other)]
    while todo:
        node, twin = todo.pop()
        out[id(node)] = twin.total if twin is not None else 0.0
        for key, child in node.children.items():
            todo.append((child, twin.children.get(key) if twin is not None else None))


@encodable_output
def diff_flamegraph_svg(before: StackProfile, after: StackProfile, *,
                        width_from: str = "after", style: str = "icicle",
                        width: int = 1200, lines: bool = False,
                        include_libraries: bool = True, normalize: bool = False,
                        min_width: float = 0.1, title: str = "dprof diff flamegraph",
                        margin: int = 10) -> str:
    """A diff flamegraph: shape from ``after`` (or ``before`` with
    ``width_from="before"``), colour from after-minus-before inclusive seconds.

    normalize: scale ``before`` so that its total equals ``after``'s before comparing
    (for runs of different length)."""
    check_profile(before)
    check_profile(after)
    _check(style, width)
    if width_from not in ("after", "before"):
        raise ValueError(f"width_from must be 'after' or 'before', got {width_from!r}")
    tree_b = build_tree(before, lines=lines, include_libraries=include_libraries)
    tree_a = build_tree(after, lines=lines, include_libraries=include_libraries)
    factor = (tree_a.total / tree_b.total) if normalize and tree_b.total > 0 else 1.0
    shape, other = (tree_a, tree_b) if width_from == "after" else (tree_b, tree_a)
    counterpart: Dict[int, float] = {}
    _paired(shape, other, counterpart)
    reverse: Dict[int, float] = {}
    _paired(other, shape, reverse)

    def before_after(node: Node) -> Tuple[float, float]:
        if width_from == "after":
            return counterpart[id(node)] * factor, node.total
        return node.total * factor, counterpart[id(node)]

    deltas = [a - b for b, a in (before_after(n) for n, _ in shape.walk())]
    max_abs = max((abs(d) for d in deltas), default=0.0)
    # Time the drawn shape cannot show: paths present only on the other side.
    unseen = sum(n.self_total for n, _ in other.walk() if reverse[id(n)] == 0.0)
    unseen *= factor if width_from == "after" else 1.0

    whole = shape.total
    scale = (width - 2 * margin) / whole if whole > 0 else 0.0
    placed = _layout(shape, scale, min_width) if whole > 0 else []

    def colour(node: Node) -> str:
        b, a = before_after(node)
        return diff_colour(a - b, max_abs)

    def tooltip(node: Node) -> str:
        b, a = before_after(node)
        change = f"{(a - b) / b * 100:+.1f}%" if b > 0 else "new"
        if a == 0:
            change = "removed"
        return (f"{node.name}\nbefore {format_seconds(b)}, after {format_seconds(a)}"
                f" ({change})")

    missing_side = "before" if width_from == "after" else "after"
    notes = (f"width: {width_from} ({format_seconds(whole)}); red grew, blue shrank"
             f"{'; before normalised' if normalize else ''}; "
             f"{format_seconds(unseen)} only in {missing_side} is not drawn")
    return _svg(placed, width=width, style=style, title=title, notes=notes, margin=margin,
                colour=colour, tooltip=tooltip,
                data=lambda n: {"seconds": repr(n.total),
                                "before": repr(before_after(n)[0]),
                                "after": repr(before_after(n)[1])})
