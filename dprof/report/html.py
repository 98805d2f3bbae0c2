"""A single self-contained HTML report of a StackProfile.

The page works offline: the CSS and the small hand-written script in ``assets/`` are
inlined, the call tree is embedded as JSON, and nothing is fetched from a network. It
holds an interactive flamegraph (click a frame to zoom, type a regular expression to
highlight matching frames), the hotspot tables, and - when resource series are given -
one small line chart per series drawn as inline SVG (a series the sampler could not
give says why instead of being drawn empty).
"""
from __future__ import annotations

import json
import math
import textwrap
from html import escape
from importlib import resources as _package_files
from typing import Dict, List, Mapping, Optional, Sequence

from dprof.report._common import (CATEGORY_COLOURS, CATEGORY_LABELS, check_profile,
                                  encodable_output, format_seconds, percent, short_path)
from dprof.report.hotspots import function_hotspots, hotspots
from dprof.report.tree import Node, build_tree
from dprof.stacks.model import CATEGORIES, StackProfile


def _asset(name: str) -> str:
    return _package_files.files("dprof.report").joinpath("assets").joinpath(name).read_text("utf-8")


def _tree_json(root: Node, whole: float, min_fraction: float) -> list:
    """The tree as a flat, pre-order list of ``[name, file, line, total, self,
    [seconds per category], parent index]`` (-1 for the root), leaving out nodes
    under ``min_fraction`` of ``whole`` and their subtrees. Flat, not nested: nested
    lists as deep as a deep recursion would overflow ``json.dumps`` (and the page's
    script), and building it walks an explicit stack."""
    out: list = []
    todo = [(root, -1)]
    while todo:
        node, parent = todo.pop()
        index = len(out)
        out.append([node.name, node.filename, node.line or 0, node.total, node.self_total,
                    [node.seconds[c] for c in CATEGORIES], parent])
        kids = [k for k in node.sorted_children()
                if whole > 0 and k.total / whole >= min_fraction]
        todo.extend((k, index) for k in reversed(kids))
    return out


def _script_json(data) -> str:
    # '<' escaped so that no "</script>" inside frame names can end the script element.
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


def _summary(profile: StackProfile) -> str:
    by_cat = profile.seconds_by_category()
    whole = sum(by_cat.values())
    items = [f"<span>sampled time <b>{format_seconds(whole)}</b></span>",
             f"<span>threads <b>{len({r.thread_id for r in profile.rows})}</b></span>"]
    if profile.duration_seconds:
        items.append(f"<span>duration <b>{format_seconds(profile.duration_seconds)}</b></span>")
    if profile.effective_hz:
        items.append(f"<span>rate <b>{profile.effective_hz:.0f} Hz</b></span>")
    if profile.overhead_seconds:
        items.append(f"<span>sampler overhead <b>{format_seconds(profile.overhead_seconds)}"
                     f"</b></span>")
    legend = "".join(
        f'<span><i style="background:{CATEGORY_COLOURS[c]}"></i>{CATEGORY_LABELS[c]} '
        f'{percent(by_cat[c], whole):.1f}%</span>' for c in CATEGORIES)
    return (f'<div class="summary">{"".join(items)}</div>'
            f'<div class="legend">{legend}</div>')


def _hotspot_table(profile: StackProfile, threshold: float, include_libraries: bool,
                   limit: int) -> str:
    rows = hotspots(profile, threshold=threshold, include_libraries=include_libraries)[:limit]
    head = ("<tr><th class=loc>Line</th>" + "".join(
        f"<th>{CATEGORY_LABELS[c]}</th>" for c in CATEGORIES) +
        "<th>Total</th><th></th><th class=src>Source</th></tr>")
    body = []
    for r in rows:
        cells = "".join(f"<td>{r.percent[c]:.1f}%</td>" if r.seconds[c] > 0 else "<td></td>"
                        for c in CATEGORIES)
        bar = "".join(f'<span style="width:{r.percent[c] * 1.2:.2f}px;'
                      f'background:{CATEGORY_COLOURS[c]}"></span>'
                      for c in CATEGORIES if r.seconds[c] > 0)
        body.append(f"<tr><td class=loc>{escape(short_path(r.filename))}:{r.line}</td>"
                    f"{cells}<td><b>{r.percent['total']:.1f}%</b></td>"
                    f"<td class=bar>{bar}</td><td class=src>{escape(r.source)}</td></tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(CATEGORIES) + 4}" class=loc>'
                    f'no lines above {threshold:g}%</td></tr>')
    return f'<table id="hotspots">{head}{"".join(body)}</table>'


def _function_table(profile: StackProfile, threshold: float, include_libraries: bool,
                    limit: int) -> str:
    rows = function_hotspots(profile, threshold=threshold,
                             include_libraries=include_libraries)[:limit]
    body = "".join(
        f"<tr><td class=loc>{escape(f.function)}</td>"
        f"<td class=loc>{escape(short_path(f.filename))}:{f.first_line}</td>"
        f"<td>{f.total_percent:.1f}%</td><td>{f.self_percent:.1f}%</td></tr>" for f in rows)
    return ('<table id="functions"><tr><th class=loc>Function</th><th class=loc>File</th>'
            f'<th>Total</th><th>Self</th></tr>{body}</table>')


# -- resource series -----------------------------------------------------------------------

def _numbers(values: Sequence) -> List[Optional[float]]:
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = math.nan
        out.append(None if math.isnan(f) or math.isinf(f) else f)
    return out


def _scaled(name: str, values: List[Optional[float]]):
    """Readable units: *_bytes in MiB, everything else as is."""
    if name.endswith("_bytes"):
        return [None if v is None else v / 2**20 for v in values], name[:-6] + " (MiB)"
    return values, name


def _missing_plot(head: str, reason: str, left: int, top: int) -> str:
    """The plot's place, holding why the series is missing (wrapped; whole on hover)."""
    lines = textwrap.wrap(f"missing: {reason}", 62) or ["missing"]
    if len(lines) > 6:
        lines = lines[:5] + [lines[5][:58] + " ..."]
    text = "".join(f'<tspan x="{left}" dy="{0 if i == 0 else 14}">{escape(line)}</tspan>'
                   for i, line in enumerate(lines))
    return (head + f'<text class="missing" x="{left}" y="{top + 16}">'
            f'<title>{escape(reason)}</title>{text}</text></svg>')


def _plot(name: str, times: List[float], values: List[Optional[float]],
          width: int = 420, height: int = 150, missing: Optional[str] = None) -> str:
    values, label = _scaled(name, values)
    known = [v for v in values if v is not None]
    left, right, top, bottom = 48, 10, 18, 22
    pw, ph = width - left - right, height - top - bottom
    reason_attr = "" if missing is None else f' data-missing="{escape(missing)}"'
    head = (f'<svg class="plot" data-series="{escape(name)}"{reason_attr} '
            f'xmlns="http://www.w3.org/2000/svg"'
            f' width="{width}" height="{height}"><text x="{left}" y="12" font-weight="bold">'
            f'{escape(label)}</text>')
    if missing is not None:
        return _missing_plot(head, missing, left, top)
    if not known or len(times) < 2:
        return head + f'<text x="{left}" y="{top + ph / 2}">no values</text></svg>'
    t0, t1 = times[0], times[-1]
    lo, hi = min(known), max(known)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    span_t = (t1 - t0) or 1.0

    def xy(t, v):
        return (left + (t - t0) / span_t * pw, top + (1 - (v - lo) / (hi - lo)) * ph)

    # A missing value breaks the line instead of being drawn as 0.
    segments, current = [], []
    for t, v in zip(times, values):
        if v is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append("%.1f,%.1f" % xy(t, v))
    if current:
        segments.append(current)
    lines = "".join(f'<polyline fill="none" stroke="#3b7dd8" stroke-width="1.5" '
                    f'points="{" ".join(seg)}"/>' for seg in segments)
    axes = (f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>'
            f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{hi:.4g}</text>'
            f'<text x="{left - 4}" y="{top + ph}" text-anchor="end">{lo:.4g}</text>'
            f'<text x="{left}" y="{height - 6}">0 s</text>'
            f'<text x="{left + pw}" y="{height - 6}" text-anchor="end">{t1 - t0:.4g} s</text>')
    return head + axes + lines + "</svg>"


def resource_plots(series: Mapping[str, Sequence],
                   missing: Optional[Mapping[str, str]] = None) -> str:
    """Inline SVG line charts, one per column of ``series`` other than ``timestamp``
    (seconds, any origin). Accepts a dict of sequences or a pandas DataFrame.

    ``missing``: column -> why the sampler could not give it (``Profile.
    resources_missing``); such a column shows "missing: <reason>" instead of a chart.
    Default: the DataFrame's ``attrs["missing"]`` (as ``ProfileRepo.resources`` sets)."""
    if missing is None:
        missing = getattr(series, "attrs", {}).get("missing") or {}
    columns = list(series.keys())
    if not columns:         # a run shorter than one sampling interval has no samples
        return ('<div class="plots"><p class="missing">no resource samples: the run '
                'ended before the sampler\'s first interval</p></div>')
    if "timestamp" not in columns:
        raise ValueError(f"resource series need a 'timestamp' column; got {columns}")
    times = _numbers(series["timestamp"])
    if any(t is None for t in times):
        raise ValueError("resource series 'timestamp' has missing or non-numeric values")
    plots = []
    for name in columns:
        if name == "timestamp":
            continue
        values = _numbers(series[name])
        if len(values) != len(times):
            raise ValueError(f"resource series {name!r} has {len(values)} values but "
                             f"'timestamp' has {len(times)}")
        plots.append(_plot(str(name), times, values, missing=missing.get(name)))
    return f'<div class="plots">{"".join(plots)}</div>'


# -- the page ------------------------------------------------------------------------------

@encodable_output
def html_report(profile: StackProfile, *, title: str = "dprof report",
                resources: Optional[Mapping[str, Sequence]] = None,
                resources_missing: Optional[Mapping[str, str]] = None,
                threshold: float = 0.5, include_libraries: bool = False,
                lines: bool = False, min_fraction: float = 1e-4,
                hotspot_limit: int = 50) -> str:
    """The whole report as one HTML string.

    profile: a ``StackProfile``, or a ``dprof.Profile`` recorded with stacks; for
        the latter the page also charts its resource series (CPU, memory, disk,
        threads, network, GPU, derived by ``resource_panel.panel``) unless
        ``resources`` is given.
    resources: optional resource time series (columns incl. ``timestamp``).
    resources_missing: column -> why it is missing (``Profile.resources_missing``);
        default: ``resources.attrs["missing"]`` when ``resources`` is a DataFrame.
    threshold: hide hotspot lines and functions under this percent.
    include_libraries: hotspots attribute to leaf frames anywhere (the flamegraph
        always shows every frame).
    lines: one flamegraph node per call site instead of per function.
    min_fraction: flamegraph nodes under this fraction of the total are not embedded.
    """
    from dprof.record import Profile
    if isinstance(profile, Profile):
        if profile.stacks is None:
            raise ValueError(f"profile {profile.id[:12]} ({profile.process_name}) has no "
                             f"stack samples; record it with stacks=True")
        if resources is None and profile.resources is not None:
            from dprof.report.resource_panel import panel
            resources, resources_missing = panel(profile.resources, profile.resources_missing)
        profile = profile.stacks
    check_profile(profile)
    root = build_tree(profile, lines=lines)
    data = {"nodes": _tree_json(root, root.total, min_fraction),
            "categories": list(CATEGORIES),
            "labels": [CATEGORY_LABELS[c] for c in CATEGORIES],
            "colours": [CATEGORY_COLOURS[c] for c in CATEGORIES]}
    plots = ""
    if resources is not None:
        plots = f"<h2>Resources</h2>{resource_plots(resources, resources_missing)}"
    scope = "all code" if include_libraries else "your code (libraries excluded)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_asset("report.css")}</style>
</head><body>
<h1>{escape(title)}</h1>
{_summary(profile)}
<h2>Flamegraph</h2>
<div class="toolbar"><input id="search" type="search" placeholder="Search frames (regular expression)">
<button id="reset" type="button">Reset zoom</button><span id="flame-info"></span></div>
<div id="flame-box"><svg id="flame-svg" xmlns="http://www.w3.org/2000/svg"></svg></div>
<div id="details">Hover a frame for details; click to zoom.</div>
<h2>Hotspots by line</h2>
<p class="note">Percent of all sampled time; {escape(scope)}; lines under {threshold:g}% hidden.</p>
{_hotspot_table(profile, threshold, include_libraries, hotspot_limit)}
<h2>Functions</h2>
{_function_table(profile, threshold, include_libraries, hotspot_limit)}
{plots}
<output id="dprof-status">not rendered</output>
<script id="dprof-data" type="application/json">{_script_json(data)}</script>
<script>{_asset("report.js")}</script>
</body></html>
"""
