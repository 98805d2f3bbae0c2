"""The jobs table (``service_jobs``, schema revision 4) and every write to it.

A job moves queued -> running -> succeeded | failed, or to cancelled from queued or
running. The writes are keyed by job id and conditional, so that running a job twice
(a worker killed mid-job, the broker handing it out again) stores its result once:

* ``claim`` marks it running unless it already finished or was cancelled;
* ``finish`` inserts the Profile (its id is the job id) and marks the job succeeded in
  one transaction, only while the job is still running; a second finish, or one after
  a cancel, changes nothing and returns False;
* ``fail`` marks a job failed unless it already finished.

Rows are locked for these (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite write
transactions are ``BEGIN IMMEDIATE``, so they are serial anyway).
"""
from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from dprof.repo import schema
from dprof.repo.engine import make_engine, run_write
from dprof.repo.migrate import ensure_schema

__all__ = ["JobStore", "STATUSES", "TERMINAL", "now_us"]

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL = ("succeeded", "failed", "cancelled")
jobs = schema.service_jobs


def _engine(url: str, timeout: float):
    """SQLite: the repo's engine (WAL, busy timeout, BEGIN IMMEDIATE). PostgreSQL: a
    pool without a ping per checkout (see JobStore._again) and a connect timeout, so
    that a database that is down is reported in seconds."""
    if not url.startswith("postgresql"):
        return make_engine(url, timeout)
    return sa.create_engine(url, pool_pre_ping=False, pool_size=10, max_overflow=20,
                            pool_timeout=timeout,
                            connect_args={"connect_timeout": max(1, int(timeout))})


def now_us() -> int:
    return time.time_ns() // 1000


def _iso(us: Optional[int]) -> Optional[str]:
    if us is None:
        return None
    from datetime import datetime, timezone
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).isoformat()


def job_view(row: Mapping[str, Any]) -> Dict[str, Any]:
    """A row as the API shows it."""
    spec = json.loads(row["spec"])
    started, finished = row["started_us"], row["finished_us"]
    return {
        "id": row["id"], "status": row["status"], "algorithm_name": row["algorithm"],
        "input_size": row["input_size"], "iterations": row["iterations"],
        "parameters": spec.get("parameters", {}), "distribution": spec.get("distribution"),
        "seed": spec.get("seed"), "kind": spec.get("kind", "int"),
        "priority": row["priority"], "comparison_id": row["comparison_id"],
        "correlation_id": row["correlation_id"],
        "predicted_seconds": row["predicted_seconds"],
        "created_at": _iso(row["created_us"]), "started_at": _iso(started),
        "finished_at": _iso(finished),
        "duration_seconds": (finished - started) / 1e6 if started and finished else None,
        "attempts": row["attempts"], "worker": row["worker"],
        "worker_host": row["worker_host"], "error": row["error"],
        "profile_id": row["profile_id"],
    }


class JobStore:
    """The jobs of one database (any URL ProfileRepo takes)."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url = url
        self.timeout = timeout
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            engine = _engine(self.url, self.timeout)
            ensure_schema(engine)           # raises while the database is down
            self._engine = engine
        return self._engine

    def _again(self, work):
        """``work()``, once more if it failed on a connection the server dropped
        (a database restart): the pool is invalidated then, and the second try
        connects afresh. This replaces a ping before every checkout, a round trip
        that each submission would pay."""
        try:
            return work()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return work()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def ping(self) -> float:
        """Seconds one round trip takes; raises when the database is unreachable."""
        def once():
            start = time.perf_counter()
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1").scalar()
            return time.perf_counter() - start
        return self._again(once)

    def _write(self, work):
        return self._again(lambda: run_write(self.engine, work, self.timeout))

    def _read(self, work):
        def once():
            with self.engine.connect() as conn:
                return work(conn)
        return self._again(once)

    def _locked(self, conn: Connection, job_id: str):
        stmt = sa.select(jobs).where(jobs.c.id == job_id)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return conn.execute(stmt).mappings().first()

    # -- creating -----------------------------------------------------------------
    def create(self, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = [dict(r, spec=json.dumps(r["spec"]), created_us=r.get("created_us", now_us()),
                     attempts=0) for r in rows]
        if self.engine.dialect.name != "postgresql":
            self._write(lambda conn: conn.execute(jobs.insert(), rows))
            return

        def once():
            # one INSERT statement is atomic by itself: in autocommit it is one
            # round trip instead of BEGIN, INSERT, COMMIT
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(jobs.insert(), rows)
        self._again(once)

    def delete(self, job_ids: List[str]) -> None:
        self._write(lambda conn: conn.execute(jobs.delete().where(jobs.c.id.in_(job_ids))))

    # -- the runner's writes ------------------------------------------------------
    def claim(self, job_id: str, worker: str, host: str) -> Optional[Dict[str, Any]]:
        """Mark the job running on ``worker``; its row, or None when it must not run
        (unknown, finished or cancelled)."""
        def work(conn):
            row = self._locked(conn, job_id)
            if row is None or row["status"] in TERMINAL:
                return None
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(
                status="running", started_us=now_us(), attempts=row["attempts"] + 1,
                worker=worker, worker_host=host, error=None))
            return dict(row, status="running", worker=worker, worker_host=host,
                        attempts=row["attempts"] + 1)
        return self._write(work)

    def finish(self, job_id: str, profile, result: Mapping[str, Any]) -> bool:
        """Store the job's Profile and mark it succeeded, once; False when it was
        already finished or cancelled (nothing is written then)."""
        from dprof.repo.repository import _insert

        def work(conn):
            row = self._locked(conn, job_id)
            if row is None or row["status"] != "running":
                return False
            exists = conn.execute(sa.select(schema.profiles.c.id).where(
                schema.profiles.c.id == profile.id)).first()
            if exists is None:
                _insert(conn, [profile])
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(
                status="succeeded", finished_us=now_us(), profile_id=profile.id,
                result=json.dumps(result), worker_host=profile.host))
            return True
        profile.validate()
        return self._write(work)

    def fail(self, job_id: str, error: str) -> bool:
        def work(conn):
            row = self._locked(conn, job_id)
            if row is None or row["status"] in TERMINAL:
                return False
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(
                status="failed", finished_us=now_us(), error=error[:4000]))
            return True
        return self._write(work)

    def cancel(self, job_id: str) -> Optional[str]:
        """Cancel a queued or running job; the status it had (None: unknown id)."""
        def work(conn):
            row = self._locked(conn, job_id)
            if row is None:
                return None
            if row["status"] not in TERMINAL:
                conn.execute(jobs.update().where(jobs.c.id == job_id).values(
                    status="cancelled", finished_us=now_us(), error="cancelled by request"))
            return row["status"]
        return self._write(work)

    # -- reading ------------------------------------------------------------------
    def get(self, job_id: str) -> Optional[Dict[str, Any]]:
        row = self._read(lambda conn: conn.execute(
            sa.select(jobs).where(jobs.c.id == job_id)).mappings().first())
        return dict(row) if row is not None else None

    def status(self, job_id: str) -> Optional[str]:
        return self._read(lambda conn: conn.execute(
            sa.select(jobs.c.status).where(jobs.c.id == job_id)).scalar())

    def list(self, status: Optional[str] = None, algorithm: Optional[str] = None,
             comparison_id: Optional[str] = None, limit: int = 50, offset: int = 0
             ) -> Tuple[List[Dict[str, Any]], int]:
        where = []
        if status:
            where.append(jobs.c.status == status)
        if algorithm:
            where.append(jobs.c.algorithm == algorithm)
        if comparison_id:
            where.append(jobs.c.comparison_id == comparison_id)
        stmt = sa.select(jobs).where(*where).order_by(jobs.c.created_us.desc(), jobs.c.id)
        count = sa.select(sa.func.count()).select_from(jobs).where(*where)
        def work(conn):
            return (conn.execute(count).scalar(),
                    conn.execute(stmt.limit(limit).offset(offset)).mappings().all())
        total, rows = self._read(work)
        return [dict(r) for r in rows], int(total)

    def counts(self) -> List[Tuple[str, str, int]]:
        """(algorithm, status, jobs) for every pair present."""
        stmt = sa.select(jobs.c.algorithm, jobs.c.status, sa.func.count()).group_by(
            jobs.c.algorithm, jobs.c.status)
        return self._read(lambda conn: [(a, s, int(n)) for a, s, n in conn.execute(stmt)])

    def prune(self, older_than_seconds: float) -> int:
        """Delete finished jobs older than that, and their profiles; returns how many."""
        cutoff = now_us() - int(older_than_seconds * 1e6)
        old = sa.select(jobs.c.id).where(jobs.c.status.in_(TERMINAL),
                                         jobs.c.created_us < cutoff)

        def work(conn):
            ids = [r[0] for r in conn.execute(old)]
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                for child in schema.CHILD_TABLES:
                    conn.execute(child.delete().where(child.c.profile_id.in_(chunk)))
                conn.execute(schema.profiles.delete().where(schema.profiles.c.id.in_(chunk)))
                conn.execute(jobs.delete().where(jobs.c.id.in_(chunk)))
            return len(ids)
        return self._write(work)
