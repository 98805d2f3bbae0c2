"""The insights as HTML: a self-contained fragment (for Jupyter's ``_repr_html_`` and
for embedding) or a whole page. No scripts, no external assets; every text escaped."""
from __future__ import annotations

from html import escape

from dprof.insights import render_text

_STYLE = """<style>
.dprof-insights{font-family:system-ui,sans-serif;font-size:13px}
.dprof-insights h3{margin:.8em 0 .3em}
.dprof-insights li.regression{color:#b3261e}
.dprof-insights li.improvement{color:#1b6e2e}
.dprof-insights table{border-collapse:collapse}
.dprof-insights td,.dprof-insights th{border:1px solid #ccc;padding:2px 6px;text-align:right}
.dprof-insights pre{background:#f6f6f6;padding:6px}
</style>"""


def _list(lines, css=None) -> str:
    if not lines:
        return "<p>(none)</p>"
    items = []
    for line in lines:
        cls = css(line) if css else ""
        items.append(f"<li class=\"{cls}\">{escape(line)}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _kind(line: str) -> str:
    if line.startswith("REGRESSION"):
        return "regression"
    if line.startswith("improvement"):
        return "improvement"
    return ""


def render(report, full_page: bool = True) -> str:
    parts = [_STYLE, "<div class=\"dprof-insights\">",
             f"<h2>dprof insights: {report.profiles} profiles, {report.tasks} task(s)</h2>"]
    sections = [("Regressions and improvements", render_text.regression_lines(report), _kind),
                ("Leaks and drift", render_text.drift_lines(report), None),
                ("Right-sizing", render_text.sizing_lines(report), None),
                ("Cost", render_text.cost_lines(report), None),
                ("Where to look", render_text.where_lines(report), None)]
    for title, lines, css in sections:
        parts.append(f"<h3>{escape(title)}</h3>")
        parts.append(_list(lines, css))
    if not report.rightsizing.empty:
        parts.append("<h3>Kubernetes resources</h3>")
        parts.append(f"<pre>{escape(report.k8s())}</pre>")
    if report.notes:
        parts.append("<h3>Notes</h3>" + _list(report.notes))
    parts.append("</div>")
    body = "\n".join(parts)
    if not full_page:
        return body
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>dprof insights</title></head><body>\n" + body + "\n</body></html>\n")
