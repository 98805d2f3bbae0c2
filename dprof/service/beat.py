"""Periodic work of ``dprof beat``: retention pruning and scheduled comparisons.

With a broker, ``dprof beat`` is Celery beat: it publishes the tasks of this schedule
and workers run them. Without one, ``dprof beat`` runs the same functions itself in a
loop, and runs the scheduled comparisons' jobs in its own embedded pool.

Scheduled comparisons come from ``DPROF_SCHEDULED_COMPARISONS``, a JSON list of
``{"algorithms": [...], "sizes": [...], "iterations": 3, "every_seconds": 86400}``
(optional ``distribution``, ``seed``, ``parameters``).
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Dict, List

__all__ = ["PRUNE_EVERY", "prune", "scheduled_comparisons", "run_scheduled", "run_loop"]

PRUNE_EVERY = 3600.0
log = logging.getLogger("dprof.service.beat")


def scheduled_comparisons() -> List[Dict[str, Any]]:
    text = os.environ.get("DPROF_SCHEDULED_COMPARISONS", "").strip()
    if not text:
        return []
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"DPROF_SCHEDULED_COMPARISONS is not JSON: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("algorithms")
                                              for i in items):
        raise ValueError("DPROF_SCHEDULED_COMPARISONS must be a JSON list of objects "
                         "with 'algorithms'")
    for item in items:
        item.setdefault("every_seconds", 86400)
    return items


def prune(store, settings) -> int:
    removed = store.prune(settings.retention_days * 86400)
    log.info("retention pruning", extra={"removed_jobs": removed,
                                         "retention_days": settings.retention_days})
    return removed


def run_scheduled(index: int, service=None) -> str:
    """Submit scheduled comparison ``index``; returns its comparison id."""
    import uuid
    from dprof.service import algorithms_port as port, config
    from dprof.service.dispatch import Service
    from dprof.service.logs import new_correlation_id
    item = scheduled_comparisons()[index]
    own = service is None
    service = service or Service(config.load())
    try:
        jobs = []
        for name in item["algorithms"]:
            for n in item.get("sizes", [1000]):
                spec = port.check_spec(port.JobSpec(
                    name, int(n), item.get("parameters", {}).get(name, {}),
                    int(item.get("iterations", 3)), item.get("distribution", "random"),
                    int(item.get("seed", 0))))
                jobs.append((spec, 5, None))
        cid = uuid.uuid4().hex[:16]
        service.submit(jobs, new_correlation_id(), comparison_id=cid)
        log.info("scheduled comparison submitted", extra={"comparison_id": cid,
                                                          "index": index})
        return cid
    finally:
        if own and service.pool is None:
            service.close()


def run_loop(settings, stop_after: float = None) -> None:
    """The embedded beat: prune now and every PRUNE_EVERY s, comparisons on schedule."""
    from dprof.service.dispatch import Service
    items = scheduled_comparisons()
    # one embedded pool for the loop's comparisons; jobs queued by a `dprof serve`
    # are that process's to run, so they are not resumed here
    service = Service(settings, resume=False)
    store = service.store
    due = {"prune": 0.0, **{i: time.monotonic() + float(it["every_seconds"])
                            for i, it in enumerate(items)}}
    started = time.monotonic()
    while stop_after is None or time.monotonic() - started < stop_after:
        now = time.monotonic()
        for key, when in list(due.items()):
            if now < when:
                continue
            try:
                if key == "prune":
                    prune(store, settings)
                    due[key] = now + PRUNE_EVERY
                else:
                    run_scheduled(key, service)
                    due[key] = now + float(items[key]["every_seconds"])
            except Exception:
                log.exception("periodic work failed; trying again in a minute",
                              extra={"work": str(key)})
                due[key] = now + 60
        time.sleep(min(1.0, max(0.05, min(due.values()) - time.monotonic())))
    service.close()
