"""Regressions and improvements in each task's history (``changepoints.detect`` applied
to every process/stage/env and metric), and the source lines that account for a change
in time when both sides have stack profiles (the rows ``dprof diff`` prints).

Only runs with status ``ok`` are used: a failed run stops early and its numbers belong
to another distribution. Every metric is one where more is worse, so a rise is a
regression and a fall an improvement.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from dprof.insights import changepoints, history

#: Metrics searched for changes (derived ones are built by ``history.load``).
METRICS = ("runtime_seconds", "cpu_seconds", "memory_usage_peak_mb", "memory_allocations",
           "file_read_bytes", "file_write_bytes", "io_wait_time_seconds")
#: Metrics measured in time, whose change the stack profiles can explain line by line.
TIME_METRICS = ("runtime_seconds", "cpu_seconds", "io_wait_time_seconds")

COLUMNS = ("process_name", "stage", "env", "metric", "kind", "run_index", "run_id",
           "run_time", "before_median", "after_median", "change", "change_low",
           "change_high", "p_value", "n_before", "n_after", "before_ids", "after_ids",
           "current", "lines", "lines_note")

#: Profiles each side of a change whose stacks are merged to explain it.
STACK_RUNS = 5


def regressions(source, process=None, stage=None, env=None, since=None, until=None, *,
                metrics: Sequence[str] = METRICS, alpha: float = 0.01,
                min_change: float = 0.05, min_segment: int = 5, max_changes: int = 5,
                confidence: float = 0.95, lines: bool = True, repo=None) -> pd.DataFrame:
    """One row per significant change of a metric in a task's history, oldest first
    within a task.

    ``source``: a ProfileRepo (filters as in ``query``) or a DataFrame from ``query``.
    ``alpha``: permutation-test level per tested segment; ``min_change``: smallest
    relative change of the median reported; ``min_segment``: fewest runs each side;
    ``confidence``: of the bootstrap interval ``change_low``..``change_high``.
    ``lines``: for time metrics, diff the stack profiles of up to five runs each side
    (needs the repo: ``source`` or ``repo``).

    ``kind`` is ``"regression"`` (the metric rose) or ``"improvement"``; ``current``
    is True for the latest change of its task and metric (its level is today's).
    """
    df = history.load(source, process, stage, env, since, until)
    return find(df, repo=repo if repo is not None else _repo_of(source), metrics=metrics,
                alpha=alpha, min_change=min_change, min_segment=min_segment,
                max_changes=max_changes, confidence=confidence, lines=lines)


def _repo_of(source):
    from dprof.repo import ProfileRepo
    return source if isinstance(source, ProfileRepo) else None


def find(df: pd.DataFrame, *, repo=None, metrics: Sequence[str] = METRICS,
         alpha: float = 0.01, min_change: float = 0.05, min_segment: int = 5,
         max_changes: int = 5, confidence: float = 0.95, lines: bool = True) -> pd.DataFrame:
    """``regressions`` on a frame already loaded by ``history.load``."""
    unknown = [m for m in metrics if m not in df.columns]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {list(METRICS)}")
    ok = df[df["status"].astype(object) == "ok"].reset_index(drop=True) \
        if "status" in df else df
    rows: List[Dict] = []
    starts = ok["task_start_time"]
    columns = {m: history._float(ok, m) for m in metrics}
    for key, pos in history.task_groups(ok).items():
        for metric in metrics:
            values = columns[metric][pos]
            present = np.isfinite(values)
            if present.sum() < 2 * min_segment:
                continue
            where = pos[present]
            found = changepoints.detect(values[present], alpha=alpha, min_change=min_change,
                                        min_segment=min_segment, max_changes=max_changes,
                                        confidence=confidence)
            for i, cp in enumerate(found):
                first = where[cp.index]
                rows.append({
                    "process_name": key[0], "stage": key[1], "env": key[2],
                    "metric": metric,
                    "kind": "regression" if cp.change > 0 else "improvement",
                    "run_index": cp.index, "run_id": str(ok["id"].iat[first]),
                    "run_time": starts.iat[first],
                    "before_median": cp.before_median, "after_median": cp.after_median,
                    "change": cp.change, "change_low": cp.change_low,
                    "change_high": cp.change_high, "p_value": cp.p_value,
                    "n_before": cp.n_before, "n_after": cp.n_after,
                    "before_ids": history.ids_at(ok, where[cp.index - cp.n_before:cp.index]),
                    "after_ids": history.ids_at(ok, where[cp.index:cp.index + cp.n_after]),
                    "current": i == len(found) - 1,
                })
    out = pd.DataFrame(rows, columns=list(COLUMNS)) if rows else history.empty_frame(COLUMNS)
    if rows:
        out["lines"], out["lines_note"] = zip(*[
            explain(repo, r["before_ids"], r["after_ids"]) if lines and r["metric"] in TIME_METRICS
            else (None, "lines are given for time metrics only" if lines else "not asked")
            for r in rows])
    return out


def explain(repo, before_ids: List[str], after_ids: List[str], *, runs: int = STACK_RUNS,
            limit: int = 5):
    """(lines, note): the lines whose time changed most between the stacks of up to
    ``runs`` profiles each side nearest the change (seconds per run), or None and why."""
    if repo is None:
        return None, "no repository given to read stack profiles from"
    near_before = list(reversed(before_ids))[:runs * 4]
    near_after = after_ids[:runs * 4]
    with_b = history.with_attachment(repo, near_before, "stacks")[:runs]
    with_a = history.with_attachment(repo, near_after, "stacks")[:runs]
    if not with_b or not with_a:
        side = "before" if not with_b else "after"
        return None, f"no stack profiles stored for the runs {side} the change"
    before, after = average_stacks(repo, with_b), average_stacks(repo, with_a)
    from dprof.report.diff import diff_rows    # the rows `dprof diff` prints
    rows, _ = diff_rows(before, after, threshold=1.0, limit=limit)
    lines = [{"line": where, "before_seconds": b, "after_seconds": a, "delta_seconds": a - b}
             for where, b, a in rows]
    return lines, (f"mean seconds per run over {len(with_b)} run(s) before and "
                   f"{len(with_a)} after")


def average_stacks(repo, ids: List[str]):
    """The stack profiles of ``ids`` merged, seconds divided by how many."""
    from dprof.stacks.model import StackProfile, StackRow
    merged: Optional[StackProfile] = None
    for pid in ids:
        s = repo.stacks(pid)
        merged = s if merged is None else merged.merged(s)
    scale = 1.0 / len(ids)
    return StackProfile(frames=list(merged.frames), stacks=list(merged.stacks),
                        rows=[StackRow(r.thread_id, r.stack_id, r.category, r.samples,
                                       r.seconds * scale) for r in merged.rows],
                        thread_names=dict(merged.thread_names),
                        duration_seconds=merged.duration_seconds * scale)
