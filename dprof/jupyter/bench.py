"""HTML and text displays of a pytest benchmark result (``dprof.pytest_plugin``'s
``BenchResult``), registered with IPython by name so that this module needs neither
the plugin nor IPython to import.

A result shows its name, rounds, the per-call time (median, min, spread), allocations
per call and peak memory per call; a metric the plugin could not measure says why.
"""
from __future__ import annotations

import statistics
from html import escape
from typing import List, Optional, Sequence, Tuple

RESULT_MODULE = "dprof.pytest_plugin.result"
RESULT_CLASS = "BenchResult"


def _time(ns: float) -> str:
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            return f"{ns / size:.3g} {unit}"
    return f"{ns:.3g} ns"


def _stats(values: Optional[Sequence[float]], fmt) -> Optional[str]:
    if not values:
        return None
    med = statistics.median(values)
    return f"median {fmt(med)}, min {fmt(min(values))}, max {fmt(max(values))}"


def bench_rows(result) -> List[Tuple[str, str]]:
    """(label, value) per line of the display; a missing metric's value names why."""
    missing = getattr(result, "missing", {}) or {}

    def row(label, key, values, fmt):
        shown = _stats(values, fmt)
        return (label, shown if shown is not None else
                f"missing: {missing.get(key, 'not measured')}")

    return [("rounds", f"{result.rounds} x {result.iterations} call(s)"
             + (f", {result.warmup_rounds} warm-up" if result.warmup_rounds else "")),
            row("time per call", "time", result.times_ns, _time),
            row("allocations per call", "allocations", result.allocations,
                lambda v: f"{v:,.1f}"),
            row("peak memory per call", "peak_memory", result.peak_memory,
                lambda v: f"{v / 1024:,.1f} KiB")]


def bench_html(result) -> str:
    title = result.name + (f" [{result.group}]" if getattr(result, "group", None) else "")
    cells = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th>"
                    f"<td style='text-align:left'>{escape(v)}</td></tr>"
                    for k, v in bench_rows(result))
    return (f"<div class='dprof-bench'><b>benchmark {escape(title)}</b>"
            f"<table>{cells}</table></div>")


def bench_text(result) -> str:
    lines = [f"benchmark {result.name}"]
    lines += [f"  {k:<21} {v}" for k, v in bench_rows(result)]
    return "\n".join(lines)


def register(ipython) -> None:
    """Tell IPython how to show a BenchResult, without importing the plugin."""
    formatters = ipython.display_formatter.formatters
    formatters["text/html"].for_type_by_name(RESULT_MODULE, RESULT_CLASS, bench_html)
    formatters["text/plain"].for_type_by_name(
        RESULT_MODULE, RESULT_CLASS, lambda obj, p, cycle: p.text(bench_text(obj)))
