"""SVG flamegraphs of sampled memory (bytes allocated, live at the peak, leaked), the
memory timeline chart, and the memory section of the HTML report.

A flamegraph here is an icicle: root on top, one rectangle per call-tree node, width
proportional to the node's bytes, children packed left to right by name. Every
rectangle has a ``<title>`` tooltip and a ``data-bytes`` attribute.
"""
from __future__ import annotations

import zlib
from html import escape
from typing import Dict, List, Optional, Tuple

from dprof.memory.model import KINDS, MemoryProfile
from dprof.report._common import encodable_output, frame_label

_ROW = 17
_TOP = 30
_TITLES = {"allocated": "Bytes allocated", "peak": "Bytes live at the peak",
           "leaked": "Bytes live at the end (leak candidates)"}


def _mb(n: float) -> str:
    return f"{n / (1 << 20):.1f} MB"


class _Node:
    __slots__ = ("name", "total", "children")

    def __init__(self, name: str):
        self.name = name
        self.total = 0
        self.children: Dict[str, "_Node"] = {}


def _tree(prof: MemoryProfile, kind: str) -> _Node:
    root = _Node("all")
    for stack, value in prof.bytes_by_stack(kind).items():
        root.total += value
        node = root
        for fid in reversed(stack):
            name = frame_label(prof.frames[fid], True)
            node = node.children.setdefault(name, _Node(name))
            node.total += value
    return root


def _colour(name: str) -> str:
    h = (zlib.crc32(name.encode("utf-8", "replace")) & 0xFF) / 255.0
    # blue-green hues: memory, not time (the time flamegraphs are orange-red)
    return f"hsl({170 + int(h * 60)},55%,{55 + int(h * 15)}%)"


@encodable_output
def memory_flamegraph_svg(prof: MemoryProfile, kind: str, *, width: int = 1200,
                          title: Optional[str] = None) -> str:
    if kind not in KINDS:
        raise ValueError(f"memory kind must be one of {', '.join(KINDS)}, got {kind!r}")
    root = _tree(prof, kind)
    heading = title or _TITLES[kind]
    placed: List[Tuple[_Node, int, float, float]] = []
    if root.total > 0:
        scale = (width - 20) / root.total
        stack = [(root, 0, 10.0)]
        while stack:
            node, depth, x = stack.pop()
            w = node.total * scale
            if w < 0.5:
                continue
            placed.append((node, depth, x, w))
            cx = x
            for name in sorted(node.children):
                child = node.children[name]
                stack.append((child, depth + 1, cx))
                cx += child.total * scale
    depth_max = max((d for _, d, _, _ in placed), default=0)
    height = _TOP + (depth_max + 1) * _ROW + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11" class="dprof-memory-flamegraph" '
           f'data-kind="{kind}">',
           f'<text x="10" y="18" font-size="14">{escape(heading)}: '
           f'{escape(_mb(root.total))} sampled</text>']
    if not placed:
        out.append(f'<text x="10" y="{_TOP + 12}">no sampled bytes of this kind</text>')
    for node, depth, x, w in placed:
        y = _TOP + depth * _ROW
        share = 100.0 * node.total / root.total
        label = node.name if len(node.name) * 6.6 < w - 4 else node.name[: max(0, int((w - 4) / 6.6) - 2)] + ".."
        out.append(f'<g><title>{escape(node.name)}\n{escape(_mb(node.total))} ({share:.1f}%)</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{_ROW - 1}" '
                   f'fill="{_colour(node.name)}" data-bytes="{node.total}"/>'
                   + (f'<text x="{x + 2:.1f}" y="{y + 12}">{escape(label)}</text>'
                      if w > 20 else "") + '</g>')
    out.append("</svg>")
    return "\n".join(out)


def memory_timeline_svg(prof: MemoryProfile, *, width: int = 1200, height: int = 160) -> str:
    """Sampled live bytes over time, local peaks marked."""
    t, live = prof.timeline_t, prof.timeline_live
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11" class="dprof-memory-timeline">',
           '<text x="10" y="14" font-size="13">Sampled live bytes over time</text>']
    if len(t) >= 2 and max(live) > 0:
        t0, t1, top = t[0], max(t[-1], t[0] + 1e-9), max(live)
        def px(i):
            return (50 + (t[i] - t0) / (t1 - t0) * (width - 60),
                    height - 20 - live[i] / top * (height - 40))
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (px(i) for i in range(len(t))))
        out.append(f'<polyline fill="none" stroke="#2a8" stroke-width="1.5" points="{pts}"/>')
        out.append(f'<text x="4" y="28">{escape(_mb(top))}</text>')
        out.append(f'<text x="50" y="{height - 4}">{t0:.3f} s</text>'
                   f'<text x="{width - 80}" y="{height - 4}">{t1:.3f} s</text>')
        for p in prof.peaks():
            i = min(range(len(t)), key=lambda k: abs(t[k] - p["t"]))
            x, y = px(i)
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#c33">'
                       f'<title>peak {escape(_mb(p["live"]))} at {p["t"]:.3f} s</title></circle>')
    else:
        out.append('<text x="10" y="40">too few samples for a timeline</text>')
    out.append("</svg>")
    return "\n".join(out)


@encodable_output
def memory_html_section(prof: MemoryProfile, include_libraries: bool = False) -> str:
    """The report's memory section: the table, the timeline with the top lines at
    each peak, and the three flamegraphs."""
    from dprof.report.memory_views import memory_table
    from dprof.report._common import is_user_code
    keep = None if include_libraries else (lambda f: is_user_code(f.filename))
    parts = ['<section class="dprof-memory"><h2>Memory (sampled allocations)</h2>',
             f"<pre>{escape(memory_table(prof, include_libraries=include_libraries))}</pre>",
             memory_timeline_svg(prof)]
    for p in prof.peaks(keep=keep):
        items = "".join(f"<li>{escape(_mb(v))} {escape(frame_label(f))}</li>" for f, v in p["top"])
        parts.append(f"<p>Peak {escape(_mb(p['live']))} at {p['t']:.3f} s:</p><ul>{items}</ul>")
    for kind in KINDS:
        parts.append(memory_flamegraph_svg(prof, kind))
    parts.append("</section>")
    return "\n".join(parts)
