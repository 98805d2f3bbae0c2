"""The schema revision this dprof writes, in one place.

Kept apart from ``migrate.py`` (which imports SQLAlchemy) so that the standard-library
fast paths (``direct.py``, ``dprof/cli/fastread.py``) can check a database's revision
without that import. ``tests/repo/test_migrations.py`` checks it is Alembic's head.
"""
#: The newest revision in migrations/versions.
HEAD_REVISION = "0005"
#: The table that holds a database's revision.
VERSION_TABLE = "dprof_schema_version"
