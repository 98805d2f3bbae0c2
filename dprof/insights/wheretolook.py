"""Where to look: for each task, how its time splits between CPU in Python, CPU in
native code and the kinds of waiting, the lines it waits on most, and whether it is
CPU-bound or I/O-bound, from the stack profiles of its latest runs.

The stacks of up to ``runs`` latest runs that stored them are merged and divided by
their number (seconds per run); shares are of all sampled time, every thread and
category (the denominator ``dprof view`` uses). Lines are attributed as in
``dprof.report.hotspots``: to the deepest frame of the user's code.

Classification: the class holding at least ``dominant`` (50%) of the time names the
task: ``cpu-bound`` (Python + native), ``io-bound`` (disk wait), ``gil-bound``,
``waiting`` (sleep, locks, sockets); otherwise ``mixed``. Without stack profiles the
metrics decide, and ``basis`` says so: ``io-bound`` when io_wait_time_seconds is at
least half the runtime, ``cpu-bound`` when at least half a core is busy on average.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import pandas as pd

from dprof.insights import history
from dprof.insights.changes import average_stacks
from dprof.stacks.model import CPU_NATIVE, CPU_PYTHON, WAIT_CATEGORIES, WAIT_GIL, WAIT_IO, \
    WAIT_SLEEP

COLUMNS = ("process_name", "stage", "env", "basis", "runs_with_stacks", "seconds_per_run",
           "cpu_python_share", "cpu_native_share", "wait_io_share", "wait_gil_share",
           "wait_sleep_share", "native_of_cpu", "classification", "wait_lines")


def classify(shares: Dict[str, float], dominant: float = 0.5) -> str:
    cpu = shares.get(CPU_PYTHON, 0.0) + shares.get(CPU_NATIVE, 0.0)
    for name, value in (("cpu-bound", cpu), ("io-bound", shares.get(WAIT_IO, 0.0)),
                        ("gil-bound", shares.get(WAIT_GIL, 0.0)),
                        ("waiting", shares.get(WAIT_SLEEP, 0.0))):
        if value >= dominant:
            return name
    return "mixed"


def wait_lines(stacks, limit: int = 3) -> List[Dict]:
    """The lines with the most waiting time (seconds per run and share of the total)."""
    from dprof.report import hotspots
    from dprof.report._common import short_path
    whole = stacks.total_seconds()
    rows = []
    for spot in hotspots(stacks):
        wait = sum(spot.seconds.get(c, 0.0) for c in WAIT_CATEGORIES)
        if wait > 0:
            kind = max(WAIT_CATEGORIES, key=lambda c: spot.seconds.get(c, 0.0))
            rows.append({"line": f"{short_path(spot.filename)}:{spot.line}",
                         "function": spot.function, "wait_seconds": wait,
                         "share": wait / whole if whole > 0 else 0.0, "kind": kind,
                         "source": spot.source})
    rows.sort(key=lambda r: (-r["wait_seconds"], r["line"]))
    return rows[:limit]


def where_to_look(source, process=None, stage=None, env=None, since=None, until=None, *,
                  runs: int = 10, dominant: float = 0.5, repo=None) -> pd.DataFrame:
    """One row per task (see the module docstring)."""
    from dprof.repo import ProfileRepo
    repo = repo if repo is not None else (source if isinstance(source, ProfileRepo) else None)
    return find(history.load(source, process, stage, env, since, until), repo, runs=runs,
                dominant=dominant)


def find(df: pd.DataFrame, repo, *, runs: int = 10, dominant: float = 0.5) -> pd.DataFrame:
    rows = []
    groups = history.task_groups(df)
    with_stacks = set(history.with_attachment(repo, df["id"].astype(object).tolist(), "stacks")) \
        if repo is not None and not df.empty else set()
    ids = df["id"].astype(object).to_numpy()
    for key, pos in groups.items():
        row = {"process_name": key[0], "stage": key[1], "env": key[2]}
        chosen = [i for i in ids[pos][::-1] if i in with_stacks][:runs]
        if chosen:
            stacks = average_stacks(repo, chosen)
            total = stacks.total_seconds()
            by_cat = stacks.seconds_by_category()
            shares = {c: (s / total if total > 0 else 0.0) for c, s in by_cat.items()}
            cpu = by_cat[CPU_PYTHON] + by_cat[CPU_NATIVE]
            row.update(basis="stacks", runs_with_stacks=len(chosen), seconds_per_run=total,
                       cpu_python_share=shares[CPU_PYTHON], cpu_native_share=shares[CPU_NATIVE],
                       wait_io_share=shares[WAIT_IO], wait_gil_share=shares[WAIT_GIL],
                       wait_sleep_share=shares[WAIT_SLEEP],
                       native_of_cpu=by_cat[CPU_NATIVE] / cpu if cpu > 0 else float("nan"),
                       classification=classify(shares, dominant),
                       wait_lines=wait_lines(stacks))
        else:
            row.update(_from_metrics(df.iloc[pos]))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS)) if rows else history.empty_frame(COLUMNS)


def _from_metrics(runs: pd.DataFrame) -> Dict:
    runtime = history._float(runs, "runtime_seconds")
    io = history._float(runs, "io_wait_time_seconds")
    busy = runs["cpu_cores_used"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        io_share = float(np.nanmedian(io / runtime)) if np.isfinite(io / runtime).any() \
            else float("nan")
    cores = float(np.nanmedian(busy)) if np.isfinite(busy).any() else float("nan")
    if np.isfinite(io_share) and io_share >= 0.5:
        label = "io-bound"
    elif np.isfinite(cores) and cores >= 0.5:
        label = "cpu-bound"
    elif np.isfinite(io_share) or np.isfinite(cores):
        label = "mixed"
    else:
        label = None
    nan = float("nan")
    return {"basis": f"metrics (no stack profiles; median io wait / runtime "
                     f"{io_share:.2f}, median cores busy {cores:.2f})",
            "runs_with_stacks": 0, "seconds_per_run": nan, "cpu_python_share": nan,
            "cpu_native_share": nan, "wait_io_share": io_share if np.isfinite(io_share) else nan,
            "wait_gil_share": nan, "wait_sleep_share": nan, "native_of_cpu": nan,
            "classification": label, "wait_lines": []}
