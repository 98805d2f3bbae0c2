"""Storage of profiles: :class:`ProfileRepo` over SQLAlchemy (SQLite or PostgreSQL).

Files: ``url.py`` (where the database and spool are), ``engine.py`` (engines, locks,
retries), ``schema.py`` (tables), ``migrate.py`` + ``migrations/`` (Alembic schema
versions), ``codec.py`` (Profile <-> rows), ``columns.py`` + ``frames.py`` (DataFrames; pandas is imported only to build them), ``spool.py``
(profiles waiting for the database), ``outcome.py`` (what ``add`` did with a
profile: stored, spooled or lost), ``repository.py`` (the public class).
See ``docs/storage.md``.
"""
from importlib import import_module as _import_module

# public name -> the module that defines it, imported on first use: ``dprof.repo.url``
# (where the database is) must not cost SQLAlchemy's import
_EXPORTS = {
    "FRAME_COLUMNS": "dprof.repo.columns",
    "HEAD_REVISION": "dprof.repo.migrate", "SchemaError": "dprof.repo.migrate",
    "ProfileRepo": "dprof.repo.repository", "StorageError": "dprof.repo.repository",
    "StorageWarning": "dprof.repo.repository",
    "StoreOutcome": "dprof.repo.outcome",
    "ENV_SPOOL_DIR": "dprof.repo.url", "ENV_URL": "dprof.repo.url",
    "data_dir": "dprof.repo.url", "default_database_url": "dprof.repo.url",
    "resolve_url": "dprof.repo.url",
}


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dprof.repo' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = ["ENV_SPOOL_DIR", "ENV_URL", "FRAME_COLUMNS", "HEAD_REVISION", "ProfileRepo",
           "SchemaError", "StorageError", "StorageWarning", "StoreOutcome", "data_dir",
           "default_database_url", "resolve_url"]
