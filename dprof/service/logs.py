"""Structured JSON logs, one object a line, with a correlation id.

The API takes the id from the request's ``X-Correlation-ID`` header (or makes one),
answers with it, stores it with the job and sends it in the Celery message's headers;
the worker sets it around the task, so every line about one request, from the API to
the worker's last line, carries the same ``correlation_id``.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
import socket
import sys
import time
import uuid
from typing import Optional

__all__ = ["correlation_id", "new_correlation_id", "JsonFormatter", "setup", "logger"]

correlation_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar(
    "dprof_correlation_id", default=None)
job_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar(
    "dprof_job_id", default=None)

logger = logging.getLogger("dprof.service")
_HOST = socket.gethostname()
# LogRecord attributes that are not "extra" fields
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message, correlation id, job
    id, host, pid, and whatever was passed as ``extra``."""

    def __init__(self, component: str = ""):
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                    + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(), "component": self.component,
            "host": _HOST, "pid": os.getpid(),
            "correlation_id": getattr(record, "correlation_id", None) or correlation_id.get(),
            "job_id": getattr(record, "job_id", None) or job_id.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup(component: str, level: str = None) -> None:
    """JSON lines on stderr for the root logger (Celery's and uvicorn's loggers too)."""
    level = (level or os.environ.get("DPROF_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "kombu"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    # one line per request comes from the API's own middleware
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
