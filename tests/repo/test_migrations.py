"""Schema versions: a database made by an older revision is upgraded on open and keeps
its data; the head revision the code knows matches the migrations shipped."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from dprof.repo import HEAD_REVISION, ProfileRepo, SchemaError
from dprof.repo import migrate, schema
from dprof.repo.engine import make_engine

FIXTURE = Path(__file__).parent / "fixtures" / "schema_rev1.sql"

# Rows as revision 1 wrote them (no tags column, no attachment tables).
REV1_ROWS = [
    dict(id=f"rev1-{i}", process_name="etl.load", env="prod", stage="load",
         status="failed" if i == 2 else "ok", task_start_time_us=1_700_000_000_000_000 + i,
         task_end_time_us=1_700_000_001_500_000 + i, runtime_seconds=1.5, cpu_cores=2.0,
         cpu_user_utilization=0.25, cpu_system_utilization=0.05, memory_usage_peak_mb=64.0,
         memory_allocations=None, file_read_bytes=4096 * i, file_write_bytes=0,
         io_wait_time_seconds=0.0, network_data_sent_bytes=None,
         network_data_received_bytes=None, exceptions_raised=1 if i == 2 else 0,
         exception_type="OSError" if i == 2 else None,
         exception_message="disk full" if i == 2 else None, host="h", pid=100 + i,
         python_version="3.11.7", parameters='{"n":%d}' % i,
         missing='{"memory_allocations":"off","network_data_received_bytes":"netns",'
                 '"network_data_sent_bytes":"netns"}',
         sources="{}")
    for i in range(3)
]


def _check_upgraded(repo: ProfileRepo) -> None:
    assert repo.count() == 3
    for row in REV1_ROWS:
        p = repo.get(row["id"])
        assert p is not None
        assert p.tags == {}                                    # the column revision 2 added
        assert p.file_read_bytes == row["file_read_bytes"]
        assert p.memory_allocations is None and p.missing["memory_allocations"] == "off"
        assert p.parameters == {"n": int(row["id"][-1])}
        assert p.status == row["status"] and p.exception_message == row["exception_message"]
        assert p.resources is None and p.stacks is None
    with repo._engine.connect() as conn:
        assert migrate.current_revision(conn) == HEAD_REVISION


def test_head_revision_matches_the_shipped_migrations():
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(migrate.MIGRATIONS_DIR)).get_heads()
    assert heads == [HEAD_REVISION]


def test_upgrade_from_revision_1_keeps_data(db_url, spool_dir, make_profile):
    engine = make_engine(db_url, timeout=10)
    with engine.begin() as conn:
        migrate.upgrade(conn, "0001")
    with engine.begin() as conn:
        assert migrate.current_revision(conn) == "0001"
        assert "tags" not in {c["name"] for c in sa.inspect(conn).get_columns("profiles")}
        conn.execute(sa.table("profiles", *[sa.column(k) for k in REV1_ROWS[0]]).insert(),
                     REV1_ROWS)
    engine.dispose()

    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    assert repo.last_error is None
    _check_upgraded(repo)
    # and the upgraded database takes new profiles with everything attached
    p = make_profile(1, with_attachments=True)
    repo.add(p)
    assert repo.get(p.id) == p


def test_upgrade_from_revision_2_keeps_series_with_no_reasons(db_url, spool_dir,
                                                             make_profile):
    from dprof.repo import codec

    stored = make_profile(7, with_attachments=True)
    stored.stacks = None                       # the series is what revision 3 touches
    stored.resources_missing = {}              # revision 2 kept no reasons
    engine = make_engine(db_url, timeout=10)
    with engine.begin() as conn:
        migrate.upgrade(conn, "0002")
    with engine.begin() as conn:
        assert "missing" not in {c["name"] for c in
                                 sa.inspect(conn).get_columns("profile_resources")}
        # the rows revision 2 wrote: its profiles table is today's; its series row
        # had no reasons
        conn.execute(schema.profiles.insert(), [codec.profile_row(stored)])
        series_row = codec.resources_row(stored)
        del series_row["missing"]
        conn.execute(sa.table("profile_resources",
                              *[sa.column(k) for k in series_row]).insert(), [series_row])
    engine.dispose()

    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    assert repo.last_error is None
    got = repo.get(stored.id)
    assert got == stored                       # the series intact, bit for bit
    assert got.resources_missing == {}
    assert repo.resources(stored.id).attrs["missing"] == {}
    with repo._engine.connect() as conn:
        assert migrate.current_revision(conn) == HEAD_REVISION == "0005"
    repo.close()


def test_upgraded_schema_has_the_columns_of_schema_py(db_url, spool_dir):
    ProfileRepo(db_url, spool_dir=spool_dir).close()
    engine = make_engine(db_url, timeout=10)
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table in schema.metadata.tables.values():
            assert {c["name"] for c in inspector.get_columns(table.name)} == \
                {c.name for c in table.columns}, table.name
        indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("profiles")}
        for column in ("process_name", "stage", "env", "status", "task_start_time_us"):
            assert (column,) in indexed
    engine.dispose()


@pytest.mark.core
def test_frozen_revision_1_database_file_is_upgraded(tmp_path, spool_dir):
    # schema_rev1.sql is a dump of a database written by the revision-1 code; it is
    # committed so that a later change to revision 1 cannot go unnoticed.
    path = tmp_path / "old.db"
    with sqlite3.connect(str(path)) as conn:
        conn.executescript(FIXTURE.read_text())
    repo = ProfileRepo(path, spool_dir=spool_dir)
    assert repo.last_error is None
    _check_upgraded(repo)


@pytest.mark.core
def test_database_from_a_newer_dprof_is_refused(tmp_path, spool_dir, make_profile):
    path = tmp_path / "future.db"
    ProfileRepo(path, spool_dir=spool_dir).close()
    with sqlite3.connect(str(path)) as conn:
        conn.execute(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999'")
    repo = ProfileRepo(path, spool_dir=spool_dir)
    assert isinstance(repo.last_error, SchemaError)
    assert "9999" in str(repo.last_error)
    with pytest.warns(Warning, match="spool"):
        repo.add(make_profile(1))          # writing still does not raise
    assert len(repo.spool.read()) == 1
