"""Bring a database to the newest schema revision with the Alembic migrations shipped in
``dprof/repo/migrations`` (run programmatically; no alembic.ini).

Opening a database that is already at :data:`HEAD_REVISION` costs one small query.
Otherwise the upgrade runs under a lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a
transaction-scoped advisory lock) so that processes opening a new database together
do not race to create it. The schema version is kept in the table
:data:`VERSION_TABLE` (Alembic's version table under a dprof-specific name, so a
database shared with an application that uses Alembic itself does not clash).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dprof.repo.revision import HEAD_REVISION, VERSION_TABLE
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Arbitrary constant key for pg_advisory_xact_lock ("dprof" in ASCII).
_PG_LOCK_KEY = 0x6470726F66


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this version of dprof."""


def alembic_config(connection: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def current_revision(conn: Connection) -> Optional[str]:
    """The revision stored in the database, or None for a database without dprof tables."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on ``conn`` (inside its transaction)."""
    from alembic import command

    command.upgrade(alembic_config(conn), revision)


def ensure_schema(engine: Engine) -> None:
    """Upgrade the database behind ``engine`` to :data:`HEAD_REVISION` if needed."""
    from dprof.repo.engine import WRITE_OPTION

    with engine.connect() as conn:
        if current_revision(conn) == HEAD_REVISION:
            return
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
            found = current_revision(conn)   # again, now under the lock
            if found == HEAD_REVISION:
                return
            if found is not None and not _is_known(found):
                raise SchemaError(
                    f"the database is at schema revision {found!r}, which this dprof does "
                    f"not know (its newest is {HEAD_REVISION!r}); upgrade dprof to use it")
            upgrade(conn, HEAD_REVISION)


def _is_known(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    try:
        return script.get_revision(revision) is not None
    except Exception:   # alembic raises several types for an unknown id
        return False
