"""Service settings, read once from the environment.

Mode: with a broker URL (``DPROF_BROKER_URL``, else the seed's ``REDIS_URL``) jobs go
to Celery workers; without one the API runs them in-process (the embedded mode). The
database is ``DPROF_DATABASE_URL``, else the seed's ``DATABASE_URL``, else dprof's
default SQLite file. Every other knob has a default that suits a laptop; the ones that
matter on a fleet are documented in docs/service.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional

ENV_BROKER = ("DPROF_BROKER_URL", "REDIS_URL")
ENV_DATABASE = ("DPROF_DATABASE_URL", "DATABASE_URL")
ENV_TOKEN = "DPROF_API_TOKEN"


class ConfigError(ValueError):
    """An environment variable of the service has a value it cannot use."""


def _first(env: Mapping[str, str], names) -> Optional[str]:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _number(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0,
            integer: bool = False):
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a{'n integer' if integer else ' number'}") \
            from None
    if value < minimum:
        raise ConfigError(f"{name}={text!r} is below {minimum:g}")
    return value


@dataclass(frozen=True)
class Settings:
    broker_url: Optional[str]
    database_url: str
    api_token: Optional[str]
    #: seconds a job may run: soft limit (the job is stopped and marked failed) and
    #: hard limit (its process is killed and the job marked failed)
    soft_time_limit: float = 540.0
    time_limit: float = 600.0
    #: seconds the broker waits for an acknowledgement before giving the job to
    #: another worker; above the longest job (the hard limit) unless set otherwise
    visibility_timeout: float = 660.0
    #: a job predicted to run longer than this is refused at submission
    max_predicted_seconds: float = 600.0
    #: threads of the embedded mode
    embedded_threads: int = 2
    #: retention of `dprof beat`: finished jobs and their profiles older than this
    retention_days: float = 30.0
    #: seconds between two heartbeats of a worker (its key lives 3x as long)
    heartbeat_interval: float = 2.0
    queue: str = "dprof"
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.broker_url is None

    @property
    def mode(self) -> str:
        return "embedded" if self.embedded else "celery"


def load(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Settings from ``env`` (default ``os.environ``); ConfigError naming a bad value."""
    from dprof.repo.url import resolve_url

    env = os.environ if env is None else env
    broker = _first(env, ENV_BROKER)
    database = resolve_url(_first(env, ENV_DATABASE))
    token = env.get(ENV_TOKEN) or None
    hard = _number(env, "DPROF_JOB_TIME_LIMIT", 600.0, minimum=0.1)
    soft = _number(env, "DPROF_JOB_SOFT_TIME_LIMIT", hard * 0.9, minimum=0.1)
    if soft > hard:
        raise ConfigError(f"DPROF_JOB_SOFT_TIME_LIMIT={soft:g} is above "
                          f"DPROF_JOB_TIME_LIMIT={hard:g}")
    visibility = _number(env, "DPROF_VISIBILITY_TIMEOUT", hard + 60.0, minimum=1.0)
    return Settings(
        broker_url=broker, database_url=database, api_token=token,
        soft_time_limit=soft, time_limit=hard, visibility_timeout=visibility,
        max_predicted_seconds=_number(env, "DPROF_MAX_PREDICTED_SECONDS", hard, minimum=0.001),
        embedded_threads=_number(env, "DPROF_EMBEDDED_THREADS", 2, minimum=1, integer=True),
        retention_days=_number(env, "DPROF_RETENTION_DAYS", 30.0, minimum=0.0),
        heartbeat_interval=_number(env, "DPROF_HEARTBEAT_INTERVAL", 2.0, minimum=0.1),
        queue=env.get("DPROF_QUEUE", "").strip() or "dprof",
    )
