"""Live workers: each worker refreshes a key in Redis; the API reads them.

A key ``dprof:worker:<node name>`` holds the worker's JSON description and expires
after three heartbeat intervals, so a worker that dies (even by SIGKILL) drops out
within that time. Reading them is one SCAN and an MGET: fast enough for /health and
/metrics on every scrape, unlike Celery's broadcast ``ping`` (which waits for its
timeout).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import Any, Dict, List, Optional

__all__ = ["start", "stop", "live_workers", "KEY_PREFIX", "redis_client"]

KEY_PREFIX = "dprof:worker:"
log = logging.getLogger("dprof.service.heartbeat")
_thread: Dict[str, Any] = {}


def redis_client(url: str, timeout: float = 1.0):
    import redis
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def start(settings, name: str, concurrency: Optional[int] = None) -> None:
    if _thread:
        return
    stop_event = threading.Event()
    info = {"name": name, "host": socket.gethostname(), "pid": os.getpid(),
            "concurrency": concurrency, "queue": settings.queue,
            "started": time.time()}
    client = redis_client(settings.broker_url, timeout=2.0)
    ttl = max(1, int(round(settings.heartbeat_interval * 3)))

    def beat():
        warned = False
        while not stop_event.is_set():
            try:
                client.set(KEY_PREFIX + name, json.dumps(dict(info, seen=time.time())),
                           ex=ttl)
                warned = False
            except Exception as exc:       # broker away: keep trying, say it once
                if not warned:
                    log.warning("heartbeat failed", extra={"error": str(exc)})
                    warned = True
            stop_event.wait(settings.heartbeat_interval)
        try:
            client.delete(KEY_PREFIX + name)
        except Exception:
            pass

    thread = threading.Thread(target=beat, name="dprof-heartbeat", daemon=True)
    _thread.update(thread=thread, stop=stop_event)
    thread.start()


def stop() -> None:
    if _thread:
        _thread["stop"].set()
        _thread["thread"].join(timeout=3)
        _thread.clear()


def live_workers(client) -> List[Dict[str, Any]]:
    keys = sorted(client.scan_iter(match=KEY_PREFIX + "*", count=500))
    if not keys:
        return []
    out = []
    for raw in client.mget(keys):
        if raw:
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
    return out
