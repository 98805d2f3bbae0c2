"""Prometheus metrics, safe with several processes.

Counters and histograms live in prometheus_client's default registry; when
``PROMETHEUS_MULTIPROC_DIR`` is set (several API processes, or a Celery worker's
prefork children, which ``dprof worker`` sets up) every process writes its values
to files there and a scrape adds them up (prometheus_client's multiprocess mode).

The runner counts a job where it runs: in the embedded mode that is the API process,
so ``/metrics`` has it; on a fleet it is the worker, whose own endpoint
(``dprof worker --metrics-port``) has it, and the API's ``/metrics`` adds the
cluster-wide ``dprof_jobs{status,algorithm}`` read from the jobs table, the queue
depth from the broker and the live workers from their heartbeats, computed per scrape.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily

__all__ = ["JOBS_CREATED", "JOBS_COMPLETED", "JOBS_FAILED", "JOB_DURATION",
           "REQUEST_DURATION", "render", "CONTENT_TYPE_LATEST"]

_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
                     600, 1800, 3600)

JOBS_CREATED = Counter("dprof_jobs_created", "Jobs accepted by the API", ["algorithm"])
JOBS_COMPLETED = Counter("dprof_jobs_completed", "Jobs that finished with a stored result",
                         ["algorithm"])
JOBS_FAILED = Counter("dprof_jobs_failed", "Jobs that failed (error, time limit)",
                      ["algorithm", "reason"])
JOB_DURATION = Histogram("dprof_job_duration_seconds", "Wall time of a job's run",
                         ["algorithm"], buckets=_DURATION_BUCKETS)
REQUEST_DURATION = Histogram("dprof_http_request_duration_seconds",
                             "API request latency", ["method", "route", "status"],
                             buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                      0.5, 1, 2.5, 5))


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def registry() -> CollectorRegistry:
    """The registry a scrape reads: every process's values in multiprocess mode,
    this process's otherwise."""
    if multiprocess():
        from prometheus_client import multiprocess as mp
        from prometheus_client import ProcessCollector
        reg = CollectorRegistry()
        mp.MultiProcessCollector(reg)
        ProcessCollector(registry=reg)   # the process answering the scrape
        return reg
    from prometheus_client import REGISTRY
    return REGISTRY


class ServiceCollector:
    """Gauges computed per scrape; a source that fails is left out (missing, not 0)."""

    def __init__(self, queue_depth: Callable[[], Optional[int]],
                 live_workers: Callable[[], Optional[int]], job_counts: Callable[[], list]):
        self.queue_depth, self.live_workers, self.job_counts = \
            queue_depth, live_workers, job_counts

    def collect(self):
        for name, doc, fn in (("dprof_queue_depth", "Jobs waiting in the queue",
                               self.queue_depth),
                              ("dprof_workers_live", "Workers with a fresh heartbeat",
                               self.live_workers)):
            try:
                value = fn()
            except Exception:
                value = None
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value)
        try:
            counts = self.job_counts()
        except Exception:
            counts = None
        if counts is not None:
            g = GaugeMetricFamily("dprof_jobs", "Jobs in the database by status",
                                  labels=["algorithm", "status"])
            for algorithm, status, n in counts:
                g.add_metric([algorithm, status], n)
            yield g


def render(extra: Optional[ServiceCollector] = None) -> bytes:
    reg = registry()
    text = generate_latest(reg)
    if extra is not None:
        one = CollectorRegistry(auto_describe=False)
        one.register(extra)
        text += generate_latest(one)
    return text
