"""The Celery application: one task that runs a job, and the periodic ones of beat.

Configuration (and why):
  * JSON only (``task_serializer``, ``accept_content``): a message never carries
    pickled code; a task names a job, and the job names a registered algorithm.
  * ``task_acks_late`` + ``task_reject_on_worker_lost``: a job whose worker dies is
    handed out again; with Redis an unacknowledged message returns after the
    ``visibility_timeout`` (above the longest job by default), so a job can run twice
    and ``JobStore.finish`` stores its result once.
  * ``worker_prefetch_multiplier=1``: a worker holds no job it is not running.
  * soft and hard time limits: the soft one raises in the job, the hard one kills
    the process running it; both mark the job failed with the reason.
  * no result backend: results are Profiles in the database, status is the jobs table.
"""
from __future__ import annotations

import logging
import os
import socket
from typing import Optional

from celery import Celery, Task, signals
from celery.exceptions import SoftTimeLimitExceeded

from dprof.service import config as config_mod
from dprof.service.logs import correlation_id as cid_var, job_id as job_var

__all__ = ["make_app", "get_app", "TASK_RUN", "TASK_PRUNE", "TASK_SCHEDULED", "broker_options"]

TASK_RUN = "dprof.service.run_job"
TASK_PRUNE = "dprof.service.prune"
TASK_SCHEDULED = "dprof.service.scheduled_comparison"
#: Redis priority lists 0..9 (kombu names them QUEUE, QUEUE:1, ... QUEUE:9)
PRIORITY_STEPS = list(range(10))
PRIORITY_SEP = ":"
log = logging.getLogger("dprof.service.worker")

_state = {"store": None, "pid": None, "settings": None}


def broker_options(settings: config_mod.Settings) -> dict:
    vt = settings.visibility_timeout
    # kombu scans for unacknowledged messages every interval * throttle seconds; a
    # small visibility timeout (tests) wants a scan that is as frequent
    interval = max(1.0, min(10.0, vt / 3))
    return {"visibility_timeout": vt, "priority_steps": PRIORITY_STEPS,
            "sep": PRIORITY_SEP, "queue_order_strategy": "priority",
            "socket_timeout": 5, "socket_connect_timeout": 2,
            "unacked_restore_interval": interval, "unacked_restore_throttle": 1}


def settings() -> config_mod.Settings:
    if _state["settings"] is None:
        _state["settings"] = config_mod.load()
    return _state["settings"]


def store():
    """This process's JobStore (a forked pool child opens its own connections)."""
    from dprof.service.store import JobStore
    if _state["store"] is None or _state["pid"] != os.getpid():
        _state["store"] = JobStore(settings().database_url)
        _state["pid"] = os.getpid()
    return _state["store"]


def make_app(s: Optional[config_mod.Settings] = None) -> Celery:
    s = s or settings()
    celery = Celery("dprof", broker=s.broker_url or "redis://localhost:6379/0",
                    set_as_current=False)
    celery.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_ignore_result=True, result_backend=None,
        task_acks_late=True, task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=s.soft_time_limit, task_time_limit=s.time_limit,
        broker_transport_options=broker_options(s),
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        broker_connection_timeout=2,
        task_default_queue=s.queue, task_default_priority=0,
        worker_hijack_root_logger=False, worker_redirect_stdouts=False,
        worker_send_task_events=False, task_send_sent_event=False,
        enable_utc=True, timezone="UTC",
        beat_schedule=_beat_schedule(s),
    )
    celery.task(name=TASK_RUN, base=JobTask, bind=True)(run_job_task)
    celery.task(name=TASK_PRUNE, ignore_result=True)(prune_task)
    celery.task(name=TASK_SCHEDULED, ignore_result=True)(scheduled_comparison_task)
    return celery


def _beat_schedule(s: config_mod.Settings) -> dict:
    from dprof.service import beat
    schedule = {"dprof-prune": {"task": TASK_PRUNE, "schedule": beat.PRUNE_EVERY}}
    for i, item in enumerate(beat.scheduled_comparisons()):
        schedule[f"dprof-compare-{i}"] = {"task": TASK_SCHEDULED,
                                          "schedule": float(item["every_seconds"]),
                                          "kwargs": {"index": i}}
    return schedule


class JobTask(Task):
    """Marks the job failed when the task fails outside the runner (the hard time
    limit kills the pool process; Celery then calls on_failure in the worker)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from celery.exceptions import TimeLimitExceeded
        from dprof.service.runner import mark_failed
        job = kwargs.get("job_id") or (args[0] if args else task_id)
        if isinstance(exc, TimeLimitExceeded):
            reason = (f"time limit exceeded: hard time limit of {settings().time_limit:g} s; "
                      f"the worker process running the job was killed")
            kind = "time_limit"
        else:
            reason, kind = f"{type(exc).__name__}: {exc}", "error"
        try:
            mark_failed(store(), job, kwargs.get("algorithm", "?"), reason, kind)
        except Exception:
            log.exception("could not mark the job failed", extra={"job_id": job})


def run_job_task(self, job_id: str, correlation_id: str = None, algorithm: str = "?"):
    from sqlalchemy.exc import SQLAlchemyError
    from dprof.service.runner import mark_failed, run_job
    t1 = cid_var.set(correlation_id)
    t2 = job_var.set(job_id)
    try:
        log.info("task received", extra={"attempt_delivery": self.request.retries,
                                         "redelivered": bool((self.request.delivery_info
                                                              or {}).get("redelivered"))})
        try:
            return run_job(store(), job_id, self.request.hostname or socket.gethostname())
        except SoftTimeLimitExceeded:
            reason = (f"time limit exceeded: soft time limit of "
                      f"{settings().soft_time_limit:g} s; the job was stopped")
            mark_failed(store(), job_id, algorithm, reason, "time_limit")
            return "failed"
        except (SQLAlchemyError, OSError) as exc:
            # the database is away: try again later, the job is still queued/running
            log.warning("database unavailable, retrying the job", extra={"error": str(exc)})
            raise self.retry(exc=exc, countdown=2, max_retries=150)
    finally:
        cid_var.reset(t1)
        job_var.reset(t2)


def prune_task():
    from dprof.service import beat
    return beat.prune(store(), settings())


def scheduled_comparison_task(index: int):
    from dprof.service import beat
    return beat.run_scheduled(index)


# -- worker process hooks -----------------------------------------------------------
@signals.worker_ready.connect
def _on_ready(sender=None, **_):
    from dprof.service import heartbeat
    heartbeat.start(settings(), sender.hostname if sender is not None else socket.gethostname(),
                    concurrency=getattr(getattr(sender, "controller", None), "concurrency",
                                        None))


@signals.worker_shutdown.connect
def _on_shutdown(sender=None, **_):
    from dprof.service import heartbeat
    heartbeat.stop()


@signals.worker_process_shutdown.connect
def _on_child_exit(pid=None, **_):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid or os.getpid())


_app: Optional[Celery] = None


def get_app() -> Celery:
    global _app
    if _app is None:
        _app = make_app()
    return _app


def __getattr__(name):     # ``celery -A dprof.service.celery_app worker`` finds ``app``
    if name == "app":
        return get_app()
    raise AttributeError(name)
