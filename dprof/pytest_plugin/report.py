"""What a benchmark session prints and writes: the summary table, the comparison
with a baseline, and the ``--dprof-json`` document.

Functions of plain results (BenchResult, gate.Change); they return lines or dicts
and print nothing, so that pytest's terminal reporter and ``dprof bench compare``
share them. A value that could not be measured is shown as ``missing`` (the reason
is listed under the table), never as 0.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Dict, List, Optional, Sequence

from dprof.pytest_plugin import stats
from dprof.pytest_plugin.gate import Change
from dprof.pytest_plugin.result import BenchResult

JSON_FORMAT = 1
MISSING = "missing"

COLUMNS = ("name", "min", "median", "mean", "stdev", "rounds", "ops/s",
           "peak mem/call", "allocs/call")


def format_time(ns: Optional[float]) -> str:
    if ns is None or (isinstance(ns, float) and math.isnan(ns)):
        return MISSING
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if abs(ns) >= scale:
            return f"{ns / scale:.4g} {unit}"
    return f"{ns:.4g} ns"


def format_bytes(value: Optional[float]) -> str:
    if value is None:
        return MISSING
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {unit}"
    return f"{value:.4g} B"


def _format_number(value: Optional[float], digits: int = 4) -> str:
    if value is None:
        return MISSING
    return f"{value:.{digits}g}"


def summary_rows(results: Sequence[BenchResult]) -> List[List[str]]:
    rows = []
    for r in sorted(results, key=lambda r: ((r.group or ""), r.name)):
        s = stats.summary(r.times_ns)
        mean = s["mean"]
        allocs = stats.summary(r.allocations)["mean"] if r.allocations else None
        rows.append([
            r.name if not r.group else f"[{r.group}] {r.name}",
            format_time(s["min"]), format_time(s["median"]), format_time(mean),
            format_time(s["stdev"]), str(s["n"]),
            _format_number(1e9 / mean if mean else None),
            format_bytes(stats.summary(r.peak_memory)["median"] if r.peak_memory else None),
            _format_number(allocs),
        ])
    return rows


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    """A plain aligned text table (first column left-aligned, the rest right)."""
    widths = [max(len(str(h)), *(len(str(row[i])) for row in rows)) if rows else len(h)
              for i, h in enumerate(header)]

    def line(cells):
        out = [str(cells[0]).ljust(widths[0])]
        out += [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join(out).rstrip()
    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def summary_lines(results: Sequence[BenchResult]) -> List[str]:
    """The summary table and, under it, why any value is missing. ``peak mem/call``
    is the median of the calls' traced peaks (the process's RSS peak during the
    rounds is in the JSON's ``profile``)."""
    lines = table(COLUMNS, summary_rows(results))
    reasons: Dict[str, str] = {}
    for r in results:
        if not r.peak_memory:
            reasons.setdefault("peak mem/call", r.missing.get("peak_memory", "not measured"))
        if not r.allocations:
            reasons.setdefault("allocs/call", r.missing.get("allocations", "not measured"))
    for column, why in reasons.items():
        lines.append(f"{column} missing: {why}")
    return lines


def format_change(value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "+inf%"
    return f"{value * 100:+.1f}%"


def comparison_lines(comparison: Dict[str, object], baseline_label: str) -> List[str]:
    """One row per benchmark and metric: change, 95% interval, p-value, verdict."""
    changes: List[Change] = comparison["changes"]   # type: ignore[assignment]
    lines = [f"compared with {baseline_label}"]
    rows = []
    for c in changes:
        interval = ("n/a" if c.low is None else
                    f"[{format_change(c.low)}, {format_change(c.high)}]")
        verdict = "significant" if c.significant else "not significant"
        if c.note:
            verdict = c.note if c.p is None else f"{verdict}, {c.note}"
        if c.threshold is not None:
            verdict += (f"; FAILED (> {c.threshold * 100:g}%)" if c.failed
                        else f"; ok (limit {c.threshold * 100:g}%)")
        rows.append([c.name, c.metric, format_change(c.change), interval,
                     "n/a" if c.p is None else f"{c.p:.3g}", verdict])
    lines += table(("name", "metric", "change", "95% interval", "p", "verdict"), rows)
    for name in comparison.get("new", []):
        lines.append(f"{name}: new (no baseline)")
    for name in comparison.get("gone", []):
        lines.append(f"{name}: in the baseline, not run now")
    return lines


def json_document(run: Optional[dict], results: Sequence[BenchResult],
                  comparison: Optional[Dict[str, object]] = None,
                  baseline: Optional[dict] = None) -> dict:
    doc = {"format": JSON_FORMAT, "run": run,
           "benchmarks": [dict(r.to_dict(), stats=stats.summary(r.times_ns))
                          for r in results]}
    if comparison is not None:
        doc["comparison"] = {
            "baseline": baseline,
            "changes": [c.to_dict() for c in comparison["changes"]],   # type: ignore
            "new": list(comparison["new"]), "gone": list(comparison["gone"]),  # type: ignore
        }
    return doc


def write_json(path: str, doc: dict) -> None:
    """Write atomically: a reader never sees half a file (temporary file + rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dprof-bench-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def failed(comparison: Optional[Dict[str, object]]) -> List[Change]:
    if comparison is None:
        return []
    return [c for c in comparison["changes"] if c.failed]   # type: ignore[union-attr]


