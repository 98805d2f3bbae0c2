"""Runs one job and stores its result: the same code in the embedded and Celery modes.

``run_job`` claims the job (unless it already finished or was cancelled), runs its
iterations inside one profiled window (``dprof.profile``: runtime, CPU, memory,
resource series), and stores the Profile with the job id as its id, tagged with the
job id and the worker, together with marking the job succeeded (``JobStore.finish``:
once, however often the job runs). An error of the algorithm or a time limit marks
the job failed with the reason; a database error propagates, so that the caller can
retry (Celery) or log it (embedded), and nothing half-written remains.
"""
from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any, Callable, Dict, Optional

from dprof.service import algorithms_port as port
from dprof.service.logs import correlation_id as cid_var, job_id as job_var
from dprof.service.store import JobStore

__all__ = ["run_job", "JobStopped", "STAGE", "TAG_JOB", "TAG_WORKER", "TAG_COMPARISON"]

STAGE = "dprof.service"
TAG_JOB = "dprof.job"
TAG_WORKER = "dprof.worker"
TAG_COMPARISON = "dprof.comparison"
log = logging.getLogger("dprof.service.runner")
_CANCEL_POLL = 0.2


class JobStopped(Exception):
    """Raised between iterations: the job was cancelled or ran past its time limit."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _metrics():
    try:
        from dprof.service import metrics
        return metrics
    except ImportError:         # prometheus_client missing: counting is optional
        return None


def run_job(store: JobStore, job_id: str, worker: str, *,
            soft_deadline: Optional[float] = None,
            check: Optional[Callable[[], None]] = None) -> str:
    """Run job ``job_id`` on ``worker``; returns "succeeded", "failed", "cancelled" or
    "skipped" (already finished or cancelled before it started).

    ``soft_deadline``: a time.monotonic() after which the job stops between
    iterations and fails (the embedded mode's time limit; Celery enforces its own).
    ``check``: called between iterations, may raise JobStopped or any exception."""
    host = socket.gethostname()
    row = store.claim(job_id, worker, host)
    if row is None:
        log.info("job not run: already finished or cancelled", extra={"job_id": job_id})
        return "skipped"
    token_c = cid_var.set(row["correlation_id"])
    token_j = job_var.set(job_id)
    try:
        return _run_claimed(store, row, worker, soft_deadline, check)
    finally:
        cid_var.reset(token_c)
        job_var.reset(token_j)


def _run_claimed(store: JobStore, row: Dict[str, Any], worker: str,
                 soft_deadline: Optional[float], check) -> str:
    from dprof.session import ProfileRun

    job_id = row["id"]
    spec = port.JobSpec.from_dict(json.loads(row["spec"]))
    metrics = _metrics()
    log.info("job started", extra={"algorithm": spec.algorithm_name,
                                   "input_size": spec.input_size, "worker": worker,
                                   "attempt": row["attempts"]})

    last_look = [time.monotonic()]

    def between(i: int) -> None:
        # a cancel is looked up at most every 0.2 s: a job of many tiny iterations
        # does not become a stream of queries
        now = time.monotonic()
        if i and now - last_look[0] >= _CANCEL_POLL:
            last_look[0] = now
            if store.status(job_id) == "cancelled":
                raise JobStopped("cancelled", "cancelled by request")
        if soft_deadline is not None and time.monotonic() > soft_deadline:
            raise JobStopped("failed", "time limit exceeded: the job ran past its soft "
                                       "time limit and was stopped")
        if check is not None:
            check()

    tags = {TAG_JOB: job_id, TAG_WORKER: worker}
    if row["comparison_id"]:
        tags[TAG_COMPARISON] = row["comparison_id"]
    parameters = {"job": job_id, **spec.as_dict(), "priority": row["priority"],
                  "comparison": row["comparison_id"], "attempt": row["attempts"]}
    run = ProfileRun(spec.algorithm_name, stage=STAGE, store=False, resources=True,
                     parameters=parameters, tags=tags)
    started = time.perf_counter()
    try:
        with run:
            records = port.run_iterations(spec, between)
    except JobStopped as stop:
        if stop.status == "cancelled":
            log.info("job cancelled while running")
            return "cancelled"
        return _failed(store, job_id, spec.algorithm_name, stop.reason, "time_limit", metrics)
    except Exception as exc:
        if type(exc).__name__ in ("SoftTimeLimitExceeded",):
            raise                   # the Celery task turns it into a failed job
        reason = f"{type(exc).__name__}: {exc}"
        return _failed(store, job_id, spec.algorithm_name, reason, "error", metrics)
    elapsed = time.perf_counter() - started
    profile = run.profile
    profile.id = job_id
    profile.parameters["iterations"] = records
    result = _result(records)
    profile.parameters["result"] = result
    if not store.finish(job_id, profile, result):
        log.info("result not stored: the job was already finished or cancelled")
        return "skipped"
    if metrics is not None:
        metrics.JOBS_COMPLETED.labels(spec.algorithm_name).inc()
        metrics.JOB_DURATION.labels(spec.algorithm_name).observe(elapsed)
    log.info("job succeeded", extra={"seconds": round(elapsed, 6), "profile_id": job_id})
    return "succeeded"


def _failed(store: JobStore, job_id: str, algorithm: str, reason: str, kind: str,
            metrics) -> str:
    if store.fail(job_id, reason) and metrics is not None:
        metrics.JOBS_FAILED.labels(algorithm, kind).inc()
    log.warning("job failed", extra={"reason": reason})
    return "failed"


def mark_failed(store: JobStore, job_id: str, algorithm: str, reason: str, kind: str) -> None:
    """Used by the Celery task's failure hooks (time limits)."""
    _failed(store, job_id, algorithm, reason, kind, _metrics())


def _result(records) -> Dict[str, Any]:
    times = sorted(r["seconds"] for r in records)
    counts: Dict[str, float] = {}
    for r in records:
        for k, v in (r["counts"] or {}).items():
            counts[k] = counts.get(k, 0) + v
    n = len(records)
    return {"runs": n, "runtime_total": sum(times), "runtime_min": times[0],
            "runtime_median": times[n // 2], "runtime_max": times[-1],
            "counts_mean": {k: v / n for k, v in counts.items()} if counts else None}
