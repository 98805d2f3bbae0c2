"""The insights as plain text for the terminal and logs: a short list of findings
first, then the tables behind them."""
from __future__ import annotations

import math
from typing import List

from dprof.insights.history import task_label

_METRIC_LABELS = {"runtime_seconds": "runtime", "cpu_seconds": "CPU time",
                  "memory_usage_peak_mb": "peak memory", "memory_allocations": "allocations",
                  "file_read_bytes": "bytes read", "file_write_bytes": "bytes written",
                  "io_wait_time_seconds": "I/O wait"}


def num(value, fmt: str = "{:.3g}", missing: str = "-") -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return missing
    return missing if math.isnan(v) else fmt.format(v)


def pct(value) -> str:
    return num(value, "{:+.1%}") if value is not None else "-"


def share(value) -> str:
    return num(value, "{:.0%}")


def _key(row) -> str:
    return task_label((row["process_name"], row["stage"], row["env"]))


def regression_lines(report) -> List[str]:
    out = []
    for r in report.regressions.to_dict("records"):
        when = r["run_time"].strftime("%Y-%m-%d %H:%M") if hasattr(r["run_time"], "strftime") \
            else str(r["run_time"])
        mark = "REGRESSION" if r["kind"] == "regression" else "improvement"
        now = " (current)" if r["current"] else ""
        out.append(f"{mark}{now}: {_key(r)} {_METRIC_LABELS.get(r['metric'], r['metric'])} "
                   f"{pct(r['change'])} [{pct(r['change_low'])} .. {pct(r['change_high'])}] "
                   f"from run {r['run_id'][:12]} at {when} (median {num(r['before_median'])} "
                   f"-> {num(r['after_median'])}, {r['n_before']} runs before / "
                   f"{r['n_after']} after, p={r['p_value']:.4f})")
        if r["lines"]:
            for line in r["lines"]:
                out.append(f"    {line['delta_seconds']:+.3f} s/run  {line['line']}")
        elif r["lines_note"] and r["metric"] in ("runtime_seconds", "cpu_seconds"):
            out.append(f"    lines: {r['lines_note']}")
    return out


def drift_lines(report) -> List[str]:
    return [f"DRIFT: {_key(r)} run {r['profile_id'][:12]}: {r['series']} grows "
            f"{num(r['slope_per_hour'])} {r['unit']}/hour [{num(r['slope_low_per_hour'])} .. "
            f"{num(r['slope_high_per_hour'])}], +{num(r['growth_over_run'])} {r['unit']} over "
            f"{num(r['duration_hours'])} h (median level {num(r['median_level'])} {r['unit']})"
            for r in report.drift.to_dict("records")]


def sizing_lines(report) -> List[str]:
    out = []
    for r in report.rightsizing.to_dict("records"):
        out.append(f"SIZE: {_key(r)} ({r['runs']} runs, confidence {r['confidence'] if isinstance(r['confidence'], str) else '-'}): "
                   f"cpu request {num(r['cpu_request'], '{:.2f}')} limit "
                   f"{num(r['cpu_limit'], '{:.2f}')} cores (p95 used {num(r['cpu_p95'])}, "
                   f"allocated {num(r['cpu_allocated'])}); memory request "
                   f"{num(r['memory_request_mb'], '{:.0f}')} limit "
                   f"{num(r['memory_limit_mb'], '{:.0f}')} MiB (p99 peak "
                   f"{num(r['memory_p99_mb'], '{:.0f}')}, max {num(r['memory_max_mb'], '{:.0f}')})")
        for note in r["notes"]:
            out.append(f"    {note}")
    return out


def cost_lines(report) -> List[str]:
    out = []
    for r in report.cost.to_dict("records"):
        money = (f"cost {num(r['cost'], '{:,.2f}')} {r['currency']}".rstrip()
                 if not math.isnan(r["cost"]) else "cost missing (no prices)")
        saving = (f", right-sizing saves {num(r['saving'], '{:,.2f}')} {r['currency']}".rstrip()
                  if not math.isnan(r["saving"]) else
                  (f", right-sizing frees {num(r['saving_cpu_hours'], '{:,.1f}')} CPU-h"
                   if not math.isnan(r["saving_cpu_hours"]) else ""))
        out.append(f"COST #{r['rank_by_cost']}: {_key(r)} per {r['period']}"
                   f"{' (extrapolated)' if r['extrapolated'] else ''}: "
                   f"{num(r['cpu_hours_allocated'], '{:,.1f}')} CPU-h allocated "
                   f"({num(r['cpu_hours_used'], '{:,.1f}')} used), "
                   f"{num(r['gb_hours'], '{:,.1f}')} GiB-h, {num(r['io_gb'], '{:,.1f}')} GiB I/O; "
                   f"{money}{saving}")
    return out


def where_lines(report) -> List[str]:
    out = []
    for r in report.where_to_look.to_dict("records"):
        if r["basis"] == "stacks":
            out.append(f"LOOK: {_key(r)} is {r['classification']} ({r['runs_with_stacks']} "
                       f"runs with stacks, {num(r['seconds_per_run'])} s/run): CPU Python "
                       f"{share(r['cpu_python_share'])}, CPU native "
                       f"{share(r['cpu_native_share'])}, I/O wait {share(r['wait_io_share'])}, "
                       f"GIL wait {share(r['wait_gil_share'])}, sleep/lock "
                       f"{share(r['wait_sleep_share'])}")
            for line in r["wait_lines"]:
                out.append(f"    waits {share(line['share'])} ({line['kind']}) at "
                           f"{line['line']} {line['function']}")
        else:
            out.append(f"LOOK: {_key(r)} is {r['classification'] or 'unknown'} by {r['basis']}")
    return out


def render(report, width: int = 100) -> str:
    head = [f"dprof insights over {report.profiles} profiles of {report.tasks} task(s)"]
    sections = [("Regressions and improvements", regression_lines(report)),
                ("Leaks and drift", drift_lines(report)),
                ("Right-sizing", sizing_lines(report)),
                ("Cost", cost_lines(report)),
                ("Where to look", where_lines(report))]
    out = head
    for title, lines in sections:
        out += ["", f"{title}:"] + (lines or ["  (none)"])
    if report.notes:
        out += ["", "Notes:"] + [f"  {n}" for n in report.notes]
    return "\n".join(out) + "\n"
