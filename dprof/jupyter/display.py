"""Rich (HTML) and plain-text displays of a Profile and a StackProfile.

A Profile shows as: a header (name, status, id), the resource summary (every metric
with its unit; a missing one says why, never 0), the hotspot lines (IO wait, CPU
Python, CPU native and the rest), and - when stacks were recorded - the report of
``dprof.report.html_report`` (interactive flamegraph, hotspots, resource charts) in an
iframe whose ``srcdoc`` holds the whole page. That page inlines its CSS and script, so
it works offline and the same way in JupyterLab and classic Notebook; the iframe keeps
its CSS and script apart from the notebook's. ``sandbox="allow-scripts"`` lets the
flamegraph's script run without giving it the notebook's origin.

Nothing here raises for a profile that lacks a part: a display says what is missing.
"""
from __future__ import annotations

from html import escape
from typing import Any, List, Tuple

from dprof.stacks.model import CATEGORIES

# (field, label, how to format a value)
_GiB = 2**30


def _bytes(v) -> str:
    for unit, size in (("GiB", _GiB), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(v) >= size:
            return f"{v / size:.1f} {unit}"
    return f"{int(v)} B"


SUMMARY_FIELDS: Tuple[Tuple[str, str, Any], ...] = (
    ("runtime_seconds", "runtime", lambda v: f"{v:.3f} s"),
    ("cpu_cores", "CPU cores", lambda v: f"{v:g}"),
    ("cpu_user_utilization", "CPU user", lambda v: f"{100 * v:.1f} % of the cores"),
    ("cpu_system_utilization", "CPU system", lambda v: f"{100 * v:.1f} % of the cores"),
    ("memory_usage_peak_mb", "peak memory", lambda v: f"{v:.1f} MiB"),
    ("memory_allocations", "allocations", lambda v: f"{v:,}"),
    ("file_read_bytes", "disk read", _bytes),
    ("file_write_bytes", "disk write", _bytes),
    ("io_wait_time_seconds", "I/O wait", lambda v: f"{v:.3f} s"),
    ("network_data_sent_bytes", "network sent", _bytes),
    ("network_data_received_bytes", "network received", _bytes),
    ("exceptions_raised", "exceptions", lambda v: f"{v}"),
)

HOTSPOT_LIMIT = 10
IFRAME_HEIGHT = 640


def summary_rows(profile) -> List[Tuple[str, str, str]]:
    """(label, value, note) per metric; a missing metric's value is "missing" and its
    note the reason; the note of a measured one is its source when recorded."""
    rows = []
    for name, label, fmt in SUMMARY_FIELDS:
        value = getattr(profile, name, None)
        if value is None:
            rows.append((label, "missing", profile.missing.get(name, "not measured")))
        else:
            rows.append((label, fmt(value), profile.sources.get(name, "")))
    return rows


def _hotspot_rows(stacks, limit: int = HOTSPOT_LIMIT):
    from dprof.report.hotspots import hotspots
    return hotspots(stacks)[:limit]


def _label(c: str) -> str:
    from dprof.report._common import CATEGORY_LABELS
    return CATEGORY_LABELS[c]


def _hotspot_table_html(stacks, limit: int = HOTSPOT_LIMIT) -> str:
    from dprof.report._common import short_path
    rows = _hotspot_rows(stacks, limit)
    if not rows:
        return "<p><i>no samples in your code (libraries excluded)</i></p>"
    head = ("<tr><th style='text-align:left'>line</th>" +
            "".join(f"<th>{escape(_label(c))}</th>" for c in CATEGORIES) +
            "<th>total</th><th style='text-align:left'>source</th></tr>")
    body = []
    for r in rows:
        cells = "".join(f"<td>{r.percent[c]:.1f}%</td>" if r.seconds[c] > 0 else "<td></td>"
                        for c in CATEGORIES)
        body.append(f"<tr><td style='text-align:left'><code>{escape(short_path(r.filename))}:"
                    f"{r.line}</code></td>{cells}<td><b>{r.percent['total']:.1f}%</b></td>"
                    f"<td style='text-align:left'><code>{escape(r.source.strip())}</code></td></tr>")
    return f"<table class='dprof-hotspots'>{head}{''.join(body)}</table>"


def flamegraph_iframe(profile, *, height: int = IFRAME_HEIGHT, **options) -> str:
    """The self-contained HTML report of ``profile`` (a Profile with stacks or a
    StackProfile) as an ``<iframe srcdoc=...>`` element; ``options`` go to
    ``dprof.report.html_report``."""
    from dprof.report.html import html_report
    title = options.pop("title", None) or f"dprof: {getattr(profile, 'process_name', 'stacks')}"
    resources = getattr(profile, "resources", None)
    if resources is not None and len(resources.get("timestamp", ())) == 0:
        # a run shorter than one resource sample: the page without charts
        profile = profile.stacks
    page = html_report(profile, title=title, **options)
    # escape() quotes '"' and '&', so the whole page fits in one attribute value
    return (f'<iframe class="dprof-report" sandbox="allow-scripts" '
            f'style="width:100%;height:{int(height)}px;border:1px solid #ddd;resize:vertical" '
            f'srcdoc="{escape(page, quote=True)}"></iframe>')


def _guarded(make, profile) -> str:
    """``make(profile)``, or a line saying why the report could not be built: a display
    must never raise into the notebook."""
    try:
        return make(profile)
    except Exception as err:   # noqa: BLE001  (shown to the user, not hidden)
        return f"<p><i>report unavailable: {escape(f'{type(err).__name__}: {err}')}</i></p>"


def _summary_html(profile) -> str:
    cells = []
    for label, value, note in summary_rows(profile):
        style = " style='color:#a33'" if value == "missing" else ""
        title = f" title='{escape(note, quote=True)}'" if note else ""
        shown = value if value != "missing" else f"missing: {note}"
        cells.append(f"<tr><th style='text-align:left'>{escape(label)}</th>"
                     f"<td style='text-align:left'{style}{title}>{escape(shown)}</td></tr>")
    return f"<table class='dprof-summary'>{''.join(cells)}</table>"


def profile_html(profile, *, report: bool = True) -> str:
    """HTML of a Profile: header, resource summary, hotspot lines and (``report``) the
    interactive flamegraph and resource charts when it has stacks."""
    status = profile.status if not profile.failed else (
        f"failed: {profile.exception_type}: {profile.exception_message}")
    where = f"env {profile.env}, stage {profile.stage}"
    parts = [f"<div class='dprof-profile'><h3 style='margin:0.3em 0'>"
             f"{escape(profile.process_name)}</h3>"
             f"<p>{escape(status)} &middot; {escape(where)} &middot; id <code>"
             f"{escape(profile.id[:12])}</code> &middot; "
             f"{escape(profile.task_start_time.isoformat(timespec='seconds'))}</p>",
             "<details open><summary><b>Resources</b></summary>", _summary_html(profile),
             "</details>"]
    if profile.stacks is None:
        parts.append("<p><i>no stack samples (record with stacks=True for hotspots and a "
                     "flamegraph)</i></p>")
    else:
        parts += ["<details open><summary><b>Hotspot lines</b> (percent of sampled time)"
                  "</summary>", _hotspot_table_html(profile.stacks), "</details>"]
        if report:
            parts += ["<details open><summary><b>Flamegraph and resource charts</b>"
                      "</summary>", _guarded(flamegraph_iframe, profile), "</details>"]
    if profile.resources is None:
        parts.append("<p><i>no resource series recorded</i></p>")
    elif len(profile.resources.get("timestamp", ())) == 0:
        parts.append("<p><i>no resource sample fell inside the run (shorter than the "
                     "sampling interval)</i></p>")
    parts.append("</div>")
    return "".join(parts)


def stacks_html(stacks, *, report: bool = True) -> str:
    """HTML of a StackProfile: time by class, hotspot lines and the flamegraph."""
    by_cat = stacks.seconds_by_category()
    whole = sum(by_cat.values())
    split = " &middot; ".join(
        f"{escape(_label(c))} {100 * by_cat[c] / whole if whole else 0:.1f}%"
        for c in CATEGORIES)
    parts = [f"<div class='dprof-stacks'><p><b>stack profile</b>: {whole:.3f} s sampled "
             f"over {len({r.thread_id for r in stacks.rows})} thread(s) at "
             f"{stacks.effective_hz:.0f} Hz &middot; {split}</p>",
             _hotspot_table_html(stacks)]
    if report and stacks.rows:
        parts.append(_guarded(flamegraph_iframe, stacks))
    parts.append("</div>")
    return "".join(parts)


def _hotspot_lines_text(stacks, limit: int) -> List[str]:
    from dprof.report._common import short_path
    out = []
    for r in _hotspot_rows(stacks, limit):
        split = ", ".join(f"{_label(c)} {r.percent[c]:.1f}%" for c in CATEGORIES
                          if r.seconds[c] > 0)
        out.append(f"  {r.percent['total']:5.1f}%  {short_path(r.filename)}:{r.line}  "
                   f"{r.source.strip()[:60]}  ({split})")
    return out or ["  no samples in your code (libraries excluded)"]


def profile_text(profile, *, hotspot_limit: int = 5) -> str:
    """Plain text of a Profile: header, one line per metric, the top hotspot lines."""
    lines = [f"Profile {profile.process_name!r} [{profile.status}] id {profile.id[:12]} "
             f"(env {profile.env}, stage {profile.stage})"]
    for label, value, note in summary_rows(profile):
        lines.append(f"  {label:<17} {value}" + (f" ({note})" if value == "missing" else ""))
    if profile.stacks is not None:
        lines.append("hotspot lines:")
        lines += _hotspot_lines_text(profile.stacks, hotspot_limit)
    return "\n".join(lines)


def stacks_text(stacks, *, hotspot_limit: int = 5) -> str:
    """Plain text of a StackProfile: time by class and the top hotspot lines."""
    by_cat = stacks.seconds_by_category()
    whole = sum(by_cat.values())
    split = ", ".join(f"{_label(c)} {100 * by_cat[c] / whole if whole else 0:.1f}%"
                      for c in CATEGORIES)
    return "\n".join([f"StackProfile: {whole:.3f} s sampled at {stacks.effective_hz:.0f} Hz "
                      f"({split})"] + _hotspot_lines_text(stacks, hotspot_limit))


def pretty(text: str, printer, cycle: bool) -> None:
    """IPython's ``_repr_pretty_`` protocol: write ``text`` (or ``...`` on a cycle)."""
    printer.text("..." if cycle else text)


__all__ = ["flamegraph_iframe", "profile_html", "profile_text", "stacks_html",
           "stacks_text", "summary_rows", "pretty"]
