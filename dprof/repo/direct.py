"""A local SQLite profile database read and written with the standard library alone.

Importing SQLAlchemy costs a process about a quarter of a second (more than the
whole first ``@profiler`` call may take). Where the database is a SQLite file that
already exists at the schema revision this dprof writes, and no profile waits in its
spool, one profile can be inserted with ``sqlite3`` directly, in the same rows
(``codec.py``) and the same kind of transaction (``BEGIN IMMEDIATE`` under a busy
timeout, as ``engine.py``) as ``ProfileRepo``. Everything else (a new database, an
older or newer schema, PostgreSQL, a spool to flush first, any error at all) is left
to ``ProfileRepo``: ``add_profile`` then returns False and nothing was written.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Dict, Optional, Tuple

from dprof.repo.revision import HEAD_REVISION as SCHEMA_REVISION, VERSION_TABLE
BUSY_TIMEOUT_S = 30.0

_lock = threading.Lock()
# (pid, database file) -> connection checked to be at SCHEMA_REVISION
_connections: Dict[Tuple[int, str], sqlite3.Connection] = {}


def database_file(url_or_path) -> Optional[Path]:
    """The SQLite file behind a repo argument (None, a URL or a path) when it exists
    and nothing waits in its spool; else None."""
    from dprof.repo.url import resolve_url, spool_has_profiles, sqlite_file
    url = resolve_url(url_or_path)
    path = sqlite_file(url)
    if path is None or "?" in url or not path.is_file() or spool_has_profiles(url):
        return None
    return path


def at_current_schema(conn: sqlite3.Connection) -> bool:
    try:
        row = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == SCHEMA_REVISION


def _writer(path: Path) -> Optional[sqlite3.Connection]:
    key = (os.getpid(), str(path))
    conn = _connections.get(key)
    if conn is not None:
        return conn
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    if not at_current_schema(conn):
        conn.close()
        return None
    _connections[key] = conn
    return conn


def _insert(conn: sqlite3.Connection, table: str, row: dict) -> None:
    names = list(row)
    conn.execute(f"INSERT INTO {table} ({', '.join(names)}) "
                 f"VALUES ({', '.join('?' for _ in names)})", [row[n] for n in names])


def add_profile(url_or_path, profile) -> bool:
    """Insert ``profile`` (with its series, stacks and memory) directly; True when it was
    stored, False when it was not and ``ProfileRepo`` should store it."""
    try:
        path = database_file(url_or_path)
        if path is None:
            return False
        from dprof.repo import codec
        profile.validate()
        rows = [("profiles", codec.profile_row(profile))] + codec.child_rows(profile)
        with _lock:
            conn = _writer(path)
            if conn is None:
                return False
            conn.execute("BEGIN IMMEDIATE")
            try:
                for table, row in rows:
                    _insert(conn, table, row)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return True
    except (sqlite3.Error, OSError, ValueError, TypeError):
        # ProfileRepo stores it, or spools it, or says why not, as it always has
        return False
