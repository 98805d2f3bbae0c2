"""The embedded mode: jobs run in this process, in a pool of threads, on the runner.

No broker: a priority queue of job ids feeds ``Settings.embedded_threads`` threads,
each calling ``runner.run_job``. Jobs are rows in the database as in the Celery mode,
so at start the jobs a previous process left queued or running are queued again.
Cancelling a queued job marks it cancelled (a thread that takes it skips it); a
running one stops before its next iteration. The time limit is checked between
iterations too (a thread cannot be killed; the Celery mode's hard limit can).
"""
from __future__ import annotations

import itertools
import logging
import queue
import socket
import threading
import time

from dprof.service.runner import run_job
from dprof.service.store import JobStore

__all__ = ["EmbeddedPool"]
log = logging.getLogger("dprof.service.embedded")


class EmbeddedPool:
    def __init__(self, store: JobStore, threads: int, time_limit: float):
        self.store = store
        self.time_limit = time_limit
        self._queue: "queue.PriorityQueue" = queue.PriorityQueue()
        self._seq = itertools.count()
        self._stop = threading.Event()
        self.name = f"embedded@{socket.gethostname()}"
        self._threads = [threading.Thread(target=self._work, name=f"dprof-job-{i}",
                                          daemon=True) for i in range(threads)]
        self._running = 0
        self._lock = threading.Lock()
        for t in self._threads:
            t.start()

    def submit(self, job_id: str, priority: int) -> None:
        self._queue.put((-priority, next(self._seq), job_id))

    @property
    def running(self) -> int:
        return self._running

    def depth(self) -> int:
        return self._queue.qsize()

    def resume(self) -> int:
        """Queue again the jobs left queued or running by an earlier process."""
        n = 0
        for status in ("running", "queued"):
            rows, _ = self.store.list(status=status, limit=100000)
            for row in reversed(rows):
                self.submit(row["id"], row["priority"])
                n += 1
        return n

    def close(self) -> None:
        self._stop.set()
        for _ in self._threads:
            self._queue.put((float("inf"), next(self._seq), None))
        for t in self._threads:
            t.join(timeout=5)

    def _work(self) -> None:
        while not self._stop.is_set():
            _, _, job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                self._running += 1
            try:
                run_job(self.store, job_id, self.name,
                        soft_deadline=time.monotonic() + self.time_limit)
            except Exception:
                log.exception("job could not be run", extra={"job_id": job_id})
            finally:
                with self._lock:
                    self._running -= 1
