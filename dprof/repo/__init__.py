"""Storage of profiles: :class:`ProfileRepo` over SQLAlchemy (SQLite or PostgreSQL).

Files: ``url.py`` (where the database and spool are), ``engine.py`` (engines, locks,
retries), ``schema.py`` (tables), ``migrate.py`` + ``migrations/`` (Alembic schema
versions), ``codec.py`` (Profile <-> rows), ``columns.py`` + ``frames.py`` (DataFrames; pandas is imported only to build them), ``spool.py``
(profiles waiting for the database), ``repository.py`` (the public class).
See ``docs/storage.md``.
"""
from dprof.repo.columns import FRAME_COLUMNS
from dprof.repo.migrate import HEAD_REVISION, SchemaError
from dprof.repo.repository import ProfileRepo, StorageError, StorageWarning
from dprof.repo.url import ENV_SPOOL_DIR, ENV_URL, data_dir, default_database_url, resolve_url

__all__ = ["ENV_SPOOL_DIR", "ENV_URL", "FRAME_COLUMNS", "HEAD_REVISION", "ProfileRepo",
           "SchemaError", "StorageError", "StorageWarning", "data_dir",
           "default_database_url", "resolve_url"]
