"""Submitting, cancelling and checking, for whichever mode is configured.

``Service`` is what the API holds: the settings, the JobStore and either the Celery
app (jobs published to the broker) or the EmbeddedPool (jobs run here). Submission
writes the job rows first and then publishes them; when publishing fails the rows are
deleted again and the caller gets :class:`Unavailable` naming the broker, so that a
client that got 503 has no job, and one that got 202 has a job that will run.
"""
from __future__ import annotations

import logging
import socket
import time
import uuid
from typing import Any, Dict, List, Optional, Sequence, Tuple

from dprof.service import config as config_mod
from dprof.service.algorithms_port import JobSpec
from dprof.service.store import JobStore, now_us

__all__ = ["Service", "Unavailable", "new_job_id"]
log = logging.getLogger("dprof.service.dispatch")


class Unavailable(RuntimeError):
    """A dependency the configured mode needs is down: ``part`` is "database" or
    "broker"."""

    def __init__(self, part: str, detail: str):
        super().__init__(f"{part} unavailable: {detail}")
        self.part = part
        self.detail = detail


def new_job_id() -> str:
    return uuid.uuid4().hex


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


class Service:
    def __init__(self, settings: config_mod.Settings, resume: bool = True):
        self.settings = settings
        self.store = JobStore(settings.database_url, timeout=3.0)
        self.pool = None
        self.celery = None
        self._redis = None
        if settings.embedded:
            from dprof.service.embedded import EmbeddedPool
            self.pool = EmbeddedPool(self.store, settings.embedded_threads,
                                     settings.soft_time_limit)
            try:
                resumed = self.pool.resume() if resume else 0
                if resumed:
                    log.info("resumed jobs of an earlier process", extra={"jobs": resumed})
            except Exception as exc:
                log.warning("could not resume earlier jobs", extra={"error": _short(exc)})
        else:
            from dprof.service.celery_app import make_app
            self.celery = make_app(settings)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        self.store.dispose()

    @property
    def redis(self):
        if self._redis is None:
            from dprof.service.heartbeat import redis_client
            self._redis = redis_client(self.settings.broker_url, timeout=1.0)
        return self._redis

    # -- submitting ---------------------------------------------------------------
    def submit(self, jobs: Sequence[Tuple[JobSpec, int, Optional[float]]],
               correlation_id: str, comparison_id: Optional[str] = None
               ) -> List[Dict[str, Any]]:
        """Create and queue jobs ((spec, priority, predicted seconds) each); their rows."""
        from sqlalchemy.exc import SQLAlchemyError
        created = now_us()
        rows = [{"id": new_job_id(), "status": "queued", "algorithm": spec.algorithm_name,
                 "input_size": spec.input_size, "iterations": spec.iterations,
                 "priority": priority, "spec": spec.as_dict(),
                 "comparison_id": comparison_id, "correlation_id": correlation_id,
                 "predicted_seconds": predicted, "created_us": created}
                for spec, priority, predicted in jobs]
        try:
            self.store.create(rows)
        except (SQLAlchemyError, OSError) as exc:
            raise Unavailable("database", _short(exc)) from None
        try:
            self._publish(rows)
        except Unavailable:
            try:
                self.store.delete([r["id"] for r in rows])
            except Exception:   # the rows stay queued; a later publish is not made
                log.exception("could not remove unpublished jobs")
            raise
        return [dict(r, attempts=0, started_us=None, finished_us=None, worker=None,
                     worker_host=None, error=None, profile_id=None, result=None,
                     spec=_json(r["spec"])) for r in rows]

    def _publish(self, rows) -> None:
        if self.pool is not None:
            for r in rows:
                self.pool.submit(r["id"], r["priority"])
            return
        from dprof.service.celery_app import TASK_RUN
        try:
            with self.celery.producer_or_acquire() as producer:
                for r in rows:
                    self.celery.send_task(
                        TASK_RUN, kwargs={"job_id": r["id"],
                                          "correlation_id": r["correlation_id"],
                                          "algorithm": r["algorithm"]},
                        task_id=r["id"], queue=self.settings.queue,
                        # Redis lists: 0 is served first; the API's 9 is the most urgent
                        priority=9 - r["priority"], retry=False, producer=producer,
                        headers={"correlation_id": r["correlation_id"]})
        except _broker_errors() as exc:
            raise Unavailable("broker", _short(exc)) from None

    # -- cancelling ---------------------------------------------------------------
    def cancel(self, job_id: str) -> Optional[str]:
        """Cancel a job; the status it had, or None for an unknown id."""
        from sqlalchemy.exc import SQLAlchemyError
        try:
            before = self.store.cancel(job_id)
        except (SQLAlchemyError, OSError) as exc:
            raise Unavailable("database", _short(exc)) from None
        if before in ("queued", "running") and self.celery is not None:
            try:
                # queued: workers drop it on receipt; running: its process is killed
                self.celery.control.revoke(job_id, terminate=before == "running",
                                           signal="SIGTERM")
            except Exception as exc:
                # the row says cancelled: a worker that takes the job skips it, and a
                # running one's result is not stored
                log.warning("revoke not sent", extra={"error": _short(exc), "job_id": job_id})
        return before

    # -- health -------------------------------------------------------------------
    def check_database(self) -> Dict[str, Any]:
        try:
            latency = self.store.ping()
            return {"status": "up", "latency_ms": round(latency * 1000, 3)}
        except Exception as exc:
            return {"status": "down", "error": _short(exc)}

    def check_broker(self) -> Dict[str, Any]:
        if self.settings.embedded:
            return {"status": "not used", "mode": "embedded"}
        start = time.perf_counter()
        try:
            self.redis.ping()
            return {"status": "up", "latency_ms": round((time.perf_counter() - start) * 1000, 3)}
        except Exception as exc:
            return {"status": "down", "error": _short(exc)}

    def workers(self) -> List[Dict[str, Any]]:
        if self.pool is not None:
            return [{"name": self.pool.name, "host": socket.gethostname(),
                     "concurrency": self.settings.embedded_threads, "embedded": True,
                     "running": self.pool.running}]
        from dprof.service.heartbeat import live_workers
        return live_workers(self.redis)

    def check_workers(self) -> Dict[str, Any]:
        start = time.perf_counter()
        try:
            found = self.workers()
        except Exception as exc:
            return {"status": "down", "error": _short(exc), "count": None}
        return {"status": "up" if found else "down", "count": len(found),
                "latency_ms": round((time.perf_counter() - start) * 1000, 3)}

    def queue_depth(self) -> Optional[int]:
        if self.pool is not None:
            return self.pool.depth()
        from dprof.service.celery_app import PRIORITY_SEP, PRIORITY_STEPS
        q = self.settings.queue
        names = [q] + [f"{q}{PRIORITY_SEP}{p}" for p in PRIORITY_STEPS if p]
        pipe = self.redis.pipeline()
        for name in names:
            pipe.llen(name)
        return int(sum(pipe.execute()))


def _broker_errors() -> tuple:
    """What publishing raises while Redis is unreachable (kombu wraps most of them)."""
    from kombu.exceptions import KombuError
    from redis.exceptions import RedisError
    return (KombuError, RedisError, OSError)


def _json(value) -> str:
    import json
    return json.dumps(value)
