"""Engines and write transactions that survive many writers.

SQLite: WAL journal (readers never block the writer), ``busy_timeout`` (a writer waits
for the lock instead of failing at once), ``synchronous=NORMAL`` (safe in WAL mode),
foreign keys on, and write transactions opened with ``BEGIN IMMEDIATE`` so that the
write lock is taken up front (a deferred transaction that reads and then writes can
fail with SQLITE_BUSY without waiting). On top, :func:`run_write` retries a write that
still failed on a lock until its deadline.

PostgreSQL (psycopg 3): ordinary engine with ``pool_pre_ping``; writes retry on
serialization failures and deadlocks.
"""
from __future__ import annotations

import random
import sqlite3
import time
from typing import Callable, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from dprof.repo.url import sqlite_file

T = TypeVar("T")

# Execution option that marks a connection's transactions as writes.
WRITE_OPTION = "dprof_write"

_TRANSIENT_SQLITE = ("database is locked", "database table is locked", "database is busy")
_TRANSIENT_PG_CODES = ("40001", "40P01")   # serialization_failure, deadlock_detected


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, timeout: float) -> Engine:
    """An engine for ``url``; for a SQLite file its folder is created if needed
    (raises OSError when that is impossible)."""
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": timeout})
        busy_ms = max(1, int(timeout * 1000))

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Let us issue BEGIN ourselves (see _on_begin); pysqlite's implicit
            # transaction handling would begin DEFERRED and only before DML.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
                cur.execute("PRAGMA foreign_keys = ON")
                try:
                    cur.execute("PRAGMA journal_mode = WAL")
                    cur.execute("PRAGMA synchronous = NORMAL")
                except sqlite3.OperationalError:
                    # Read-only file or folder, or another connection switching the
                    # mode right now: the connection still works, only less
                    # concurrently; a later connection switches the file to WAL.
                    pass
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection):
            immediate = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    connect_args = {}
    if url.startswith("postgresql+psycopg"):
        connect_args["connect_timeout"] = max(1, int(timeout))
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def is_transient(exc: BaseException) -> bool:
    """A lock or serialization conflict that a retry can get past."""
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
        if any(s in text for s in _TRANSIENT_SQLITE):
            return True
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return code in _TRANSIENT_PG_CODES
    return False


def run_write(engine: Engine, work: Callable[[Connection], T], timeout: float) -> T:
    """Run ``work(conn)`` in one write transaction, retrying lock conflicts with
    jittered backoff until ``timeout`` seconds have passed; then the last error is
    raised."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            with engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    return work(conn)
        except DBAPIError as exc:
            if not is_transient(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.5)
