"""Where the profiles live: turning ``url`` / ``DPROF_DATABASE_URL`` / the default into a
SQLAlchemy URL, and where the spool goes.

Rules (in order): the ``url`` argument, else ``$DPROF_DATABASE_URL``, else a SQLite file
``$XDG_DATA_HOME/dprof/profiles.db`` (``~/.local/share/dprof/profiles.db`` when
``XDG_DATA_HOME`` is unset or not absolute). A value without ``://`` is a file path and
means a SQLite file there. ``postgresql://`` without a driver means psycopg 3.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional, Union

ENV_URL = "DPROF_DATABASE_URL"
ENV_SPOOL_DIR = "DPROF_SPOOL_DIR"

UrlLike = Union[str, "os.PathLike[str]", None]


def data_dir() -> Path:
    """dprof's directory in the user's data directory (XDG base directory rules)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "dprof"


def default_database_url() -> str:
    return sqlite_url(data_dir() / "profiles.db")


def sqlite_url(path: Union[str, "os.PathLike[str]"]) -> str:
    return "sqlite:///" + str(Path(os.path.expanduser(os.fspath(path))).absolute())


def resolve_url(url: UrlLike = None) -> str:
    """The SQLAlchemy URL string for ``url`` following the rules in the module docstring."""
    if url is None:
        url = os.environ.get(ENV_URL) or None
    if url is None:
        return default_database_url()
    if isinstance(url, os.PathLike):
        return sqlite_url(url)
    if not isinstance(url, str):
        raise TypeError(f"ProfileRepo url must be a str, a path or None, got {type(url).__name__}")
    if not url.strip():
        raise ValueError("ProfileRepo url is empty")
    if "://" not in url:
        return sqlite_url(url)
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_file(url: str) -> Optional[Path]:
    """The database file of a SQLite URL, or None (not SQLite, or in memory)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("://", 1)[1]
    if path.startswith("/"):
        path = path[1:]
    path = path.split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)


def spool_has_profiles(url: str) -> bool:
    """Whether profiles wait in the spool of the database at ``url`` (ProfileRepo moves
    them in when it opens it, creating a SQLite file that is not there yet)."""
    try:
        return spool_path(url).stat().st_size > 0
    except OSError:
        return False


def spool_path(url: str, spool_dir: UrlLike = None) -> Path:
    """The spool file for one database: ``<spool dir>/spool-<hash of url>.jsonl``.

    One file per database so that profiles spooled for one database are never
    flushed into another. The default spool dir is :func:`data_dir`, overridden by
    ``$DPROF_SPOOL_DIR`` or the ``spool_dir`` argument."""
    if spool_dir is None:
        spool_dir = os.environ.get(ENV_SPOOL_DIR) or data_dir()
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return Path(os.fspath(spool_dir)) / f"spool-{digest}.jsonl"
