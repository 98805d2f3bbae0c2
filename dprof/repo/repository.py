"""ProfileRepo: store profiles and query them back as Profiles and DataFrames.

Writing never fails the caller because of the database: when it cannot be opened or
written (bad URL, read-only file, lock held too long, server down, disk full) the
profiles go to the spool (see ``spool.py``) with a :class:`StorageWarning`, and
:meth:`ProfileRepo.add` returns a :class:`~dprof.repo.outcome.StoreOutcome` saying
which happened (stored, spooled, or lost when even the spool could not be written).
Spooled profiles are moved into the database once it accepts a write again (and on
the first open of a repo), never by every failing call: while the database keeps
failing, a call costs one attempt at its own profile and one spool append, and a
flush that failed is not tried again for ``FLUSH_BACKOFF_S`` seconds. Programming
errors (not a Profile, an id stored twice) still raise.

Reading raises :class:`StorageError` when the database cannot be opened.
"""
from __future__ import annotations

import os
import re
import time
import warnings
import weakref
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterable, List, Optional, Sequence, TYPE_CHECKING, Union

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dprof.record import aware_utc, Profile, datetime_to_us
from dprof.repo import codec, columns, schema
from dprof.repo.engine import make_engine, run_write
from dprof.repo.migrate import ensure_schema
from dprof.repo.outcome import LOST, SPOOLED, STORED, StoreOutcome
from dprof.repo.spool import Spool
from dprof.repo.url import UrlLike, resolve_url, spool_path
from dprof.stacks.model import StackProfile

if TYPE_CHECKING:   # pandas is imported only by the methods that return DataFrames
    import pandas as pd

StrFilter = Union[str, Iterable[str], None]

# SQLite allows at most 32766 bound parameters per statement (999 before 3.32).
_ID_CHUNK = 900

#: Seconds after a failed spool flush before the repo tries the whole spool again
#: (each try reads every spooled profile: with a full disk, hundreds of them).
FLUSH_BACKOFF_S = 30.0


class StorageWarning(UserWarning):
    """A profile could not be written to the database (it was spooled, or lost when
    even the spool could not be written; the message says which)."""


class StorageError(RuntimeError):
    """The profile database cannot be opened for reading."""


class ProfileRepo:
    """Profiles stored in a SQL database (SQLite by default, or PostgreSQL).

    ``url``: a SQLAlchemy URL, a file path (a SQLite file there), or None for
    ``$DPROF_DATABASE_URL`` or else ``$XDG_DATA_HOME/dprof/profiles.db``.
    ``spool_dir``: where profiles wait when the database cannot take them (default
    ``$DPROF_SPOOL_DIR`` or dprof's data directory). ``timeout``: seconds a write
    waits for a locked database (and a connect for a server) before spooling.

    The schema is created or upgraded on open. The constructor never raises because
    of the database; :attr:`last_error` holds the last failure to open.
    """

    def __init__(self, url: UrlLike = None, *, spool_dir: UrlLike = None,
                 timeout: float = 30.0) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"ProfileRepo timeout must be a positive number of seconds, "
                             f"got {timeout!r}")
        self.url = resolve_url(url)
        self.timeout = float(timeout)
        self.spool = Spool(spool_path(self.url, spool_dir))
        self.last_error: Optional[BaseException] = None
        self._engine: Optional[Engine] = None
        self._engine_pid = os.getpid()
        self._finalizer: Optional[weakref.finalize] = None
        self._ready = False
        # the spool is flushed only while the database is taking writes (see the
        # module docstring): False after a failed write until one succeeds again
        self._db_writable = True
        self._next_flush_at = 0.0            # time.monotonic() of the next flush try
        #: what happened to the last profiles given to add/add_many
        self.last_outcome: Optional[StoreOutcome] = None
        try:
            self._open()
        except Exception as exc:   # reported by reads (StorageError) and adds (spool)
            self.last_error = exc

    def __repr__(self) -> str:
        return f"ProfileRepo({_safe_url(self.url)!r})"

    def __enter__(self) -> "ProfileRepo":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connections (the repo opens them again when used)."""
        if self._finalizer is not None:
            self._finalizer()          # disposes the engine, once
        self._engine = self._finalizer = None
        self._ready = False

    # -- opening ------------------------------------------------------------------
    def _open(self, flush: bool = True) -> Engine:
        if self._engine is not None and self._engine_pid != os.getpid():
            # A forked child must not use (or close) the parent's connections.
            self._finalizer.detach()
            self._engine.dispose(close=False)
            self._engine = self._finalizer = None
            self._ready = False
        if self._engine is None:
            self._engine = make_engine(self.url, self.timeout)
            self._engine_pid = os.getpid()
            # Close pooled connections when the repo is dropped without close().
            self._finalizer = weakref.finalize(self, self._engine.dispose)
        if not self._ready:
            ensure_schema(self._engine)
            self._ready = True
            self.last_error = None
            if flush:
                self._flush_spool()
        return self._engine

    def _reader(self, flush: bool = True) -> Engine:
        try:
            return self._open(flush)
        except Exception as exc:
            self.last_error = exc
            raise StorageError(f"cannot open the profile database {_safe_url(self.url)}: "
                               f"{exc}") from exc

    def _flush_spool(self, force: bool = False) -> int:
        """Move the spool into the database, unless the database is failing or a
        flush failed less than FLUSH_BACKOFF_S ago (``force``: try anyway)."""
        if not self.spool.pending():
            return 0
        if not force and (not self._db_writable or time.monotonic() < self._next_flush_at):
            return 0
        try:
            return self.spool.flush(self._store_new)
        except (SQLAlchemyError, OSError) as exc:
            self._next_flush_at = time.monotonic() + FLUSH_BACKOFF_S
            warnings.warn(StorageWarning(
                f"could not move spooled profiles from {self.spool.path} into "
                f"{_safe_url(self.url)} ({exc}); they stay spooled"), stacklevel=3)
            return 0

    def flush_spool(self) -> int:
        """Move spooled profiles into the database now; returns how many were moved.
        Raises StorageError when the database cannot be opened."""
        self._reader(flush=False)
        return self._flush_spool(force=True)

    # -- writing ------------------------------------------------------------------
    def add(self, profile: Profile) -> StoreOutcome:
        """Store one profile with its resource series and stacks; returns what
        happened to it (stored, spooled or lost, with the reason: a StoreOutcome,
        true only when stored). Never raises because of the database (see the module
        docstring); raises TypeError for a non-Profile, ValueError for an invalid one
        or an id already stored."""
        self.add_many([profile])
        return self.last_outcome

    def add_many(self, profiles: Iterable[Profile]) -> int:
        """Store many profiles in one transaction (the bulk path: one multi-row
        insert per table). Returns how many were given; on a database failure they
        are all spooled, as with :meth:`add`; :attr:`last_outcome` says which."""
        batch = list(profiles)
        for p in batch:
            if not isinstance(p, Profile):
                raise TypeError(f"ProfileRepo.add needs Profile objects, got {type(p).__name__}")
            p.validate()
        if not batch:
            return 0
        ids = [p.id for p in batch]
        if len(set(ids)) != len(ids):
            raise ValueError("the same profile id occurs more than once in one add_many call")
        try:
            # the spool waits until this write shows the database takes writes
            engine = self._open(flush=False)
        except Exception as exc:   # bad URL, missing driver, server down, schema: spool
            self._give_up(batch, exc)
            return len(batch)
        try:
            run_write(engine, lambda conn: _insert(conn, batch), self.timeout)
        except IntegrityError:
            raise ValueError(f"a profile with one of these ids is already stored: "
                             f"{ids[:5]}{'...' if len(ids) > 5 else ''}") from None
        except (SQLAlchemyError, OSError, ValueError) as exc:
            # locked too long, read-only, full, gone; ValueError: a driver refusing
            # a value (codec.py escapes what it knows of): spooled, never lost
            self._give_up(batch, exc)
            return len(batch)
        self._db_writable = True
        self.last_outcome = StoreOutcome(STORED, _safe_url(self.url))
        if self.spool.pending():
            self._flush_spool()
        return len(batch)

    def _store_new(self, batch: List[Profile]) -> None:
        """Insert the profiles whose ids are not stored yet (used by the spool)."""
        engine = self._open() if self._engine is None else self._engine

        def work(conn: Connection) -> None:
            stored = set()
            ids = [p.id for p in batch]
            for i in range(0, len(ids), _ID_CHUNK):
                chunk = ids[i:i + _ID_CHUNK]
                stored.update(conn.execute(sa.select(schema.profiles.c.id)
                                           .where(schema.profiles.c.id.in_(chunk))).scalars())
            new = [p for p in batch if p.id not in stored]
            if new:
                _insert(conn, new)

        run_write(engine, work, self.timeout)

    def _give_up(self, batch: List[Profile], exc: BaseException) -> None:
        self._ready = False        # open again on the next call
        self._db_writable = False  # and leave the spool alone until a write succeeds
        self.last_error = exc
        self.last_outcome = self._spool_or_warn(batch, exc)

    def _spool_or_warn(self, batch: List[Profile], exc: BaseException) -> StoreOutcome:
        what = f"profile {batch[0].id}" if len(batch) == 1 else f"{len(batch)} profiles"
        reason = f"could not store {what} in {_safe_url(self.url)}: {_short(exc)}"
        try:
            self.spool.append(batch)
        except Exception as spool_exc:   # full, read-only, unencodable: say it is lost
            lost = f"{reason}; nor write it to the spool {self.spool.path}: {spool_exc}"
            warnings.warn(StorageWarning(f"{lost}; it is lost"), stacklevel=5)
            return StoreOutcome(LOST, str(self.spool.path), lost)
        warnings.warn(StorageWarning(
            f"could not store {what} in {_safe_url(self.url)} ({_short(exc)}); kept in "
            f"the spool {self.spool.path} until the database can be written"), stacklevel=5)
        return StoreOutcome(SPOOLED, str(self.spool.path),
                            f"the database {_safe_url(self.url)} could not be written: "
                            f"{_short(exc)}")

    # -- removing -----------------------------------------------------------------
    # Each method that takes one id or one process name also takes it under the
    # keyword the Task Profiler documents (profile_id=, process_name=), so that
    # code written for it runs unchanged; see _one_arg.
    def remove(self, *args, **kwargs) -> bool:
        """``remove(id)`` or ``remove(profile_id=...)``: delete one profile and its
        attachments; True if it existed."""
        id = _one_arg("remove", args, kwargs, ("id", "profile_id"))
        return self._delete(schema.profiles.c.id == id) > 0

    def remove_by_process(self, *args, **kwargs) -> int:
        """``remove_by_process(name)`` or ``remove_by_process(process_name=...)``:
        delete every profile of one process; returns how many."""
        name = _one_arg("remove_by_process", args, kwargs, ("name", "process_name"))
        return self._delete(schema.profiles.c.process_name == name)

    def prune(self, older_than: timedelta) -> int:
        """Delete profiles that started more than ``older_than`` ago; returns how many."""
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise ValueError(f"prune(older_than=...) needs a non-negative timedelta, "
                             f"got {older_than!r}")
        cutoff = datetime_to_us(datetime.now(timezone.utc) - older_than)
        return self._delete(schema.profiles.c.task_start_time_us < cutoff)

    def _delete(self, where) -> int:
        engine = self._reader()
        ids = sa.select(schema.profiles.c.id).where(where)

        def work(conn: Connection) -> int:
            for child in schema.CHILD_TABLES:
                conn.execute(child.delete().where(child.c.profile_id.in_(ids)))
            return conn.execute(schema.profiles.delete().where(where)).rowcount

        return run_write(engine, work, self.timeout)

    # -- reading one --------------------------------------------------------------
    def exists(self, *args, **kwargs) -> bool:
        """``exists(id)`` or ``exists(profile_id=...)``: whether it is stored."""
        id = _one_arg("exists", args, kwargs, ("id", "profile_id"))
        with self._reader().connect() as conn:
            return conn.execute(sa.select(sa.literal(1)).where(
                schema.profiles.c.id == id)).first() is not None

    def get(self, *args, **kwargs) -> Optional[Profile]:
        """``get(id)`` or ``get(profile_id=...)``: the profile with this id (with its
        series and stacks), or None."""
        id = _one_arg("get", args, kwargs, ("id", "profile_id"))
        with self._reader().connect() as conn:
            row = conn.execute(sa.select(schema.profiles).where(
                schema.profiles.c.id == id)).mappings().first()
            if row is None:
                return None
            res = _child_row(conn, schema.profile_resources, id)
            stk = _child_row(conn, schema.profile_stacks, id)
            mem = _child_row(conn, schema.profile_memory, id)
        return codec.profile_from_row(row, res, stk, mem)

    def resources(self, id: str) -> pd.DataFrame:
        """The resource time series of one profile, one float64 column per measured
        quantity (empty when it has none). KeyError when no such profile.

        ``df.attrs["missing"]`` maps each column the sampler could not give (all NaN)
        to why (as ``Profile.resources_missing``); ``{}`` when none is missing."""
        import pandas as pd

        with self._reader().connect() as conn:
            self._require(conn, id)
            row = _child_row(conn, schema.profile_resources, id)
        if row is None:
            df = pd.DataFrame()
            df.attrs["missing"] = {}
            return df
        df = pd.DataFrame(codec.decode_resources(row))
        df.attrs["missing"] = codec.decode_resources_missing(row)
        return df

    def stacks(self, id: str) -> Optional[StackProfile]:
        """The stack profile of one profile, or None when it has none. KeyError when
        no such profile."""
        with self._reader().connect() as conn:
            self._require(conn, id)
            row = _child_row(conn, schema.profile_stacks, id)
        return None if row is None else codec.decode_stacks(row)

    @staticmethod
    def _require(conn: Connection, id: str) -> None:
        if conn.execute(sa.select(sa.literal(1)).where(schema.profiles.c.id == id)).first() is None:
            raise KeyError(f"no profile with id {id!r}")

    # -- reading many -------------------------------------------------------------
    def count(self) -> int:
        with self._reader().connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(schema.profiles)).scalar_one()

    def get_all(self) -> pd.DataFrame:
        """Every profile, one row each, oldest first (by ``task_start_time``; equal start
        times in storage order). Dtypes: see ``dprof.repo.frames``."""
        return self.query()

    def get_by_process(self, *args, **kwargs) -> pd.DataFrame:
        """``get_by_process(name)`` or ``get_by_process(process_name=...)``: that
        process's profiles, as ``query(process=name)``."""
        return self.query(process=_one_arg("get_by_process", args, kwargs,
                                           ("name", "process_name")))

    def query(self, process: StrFilter = None, stage: StrFilter = None, env: StrFilter = None,
              status: StrFilter = None, since: Union[datetime, str, None] = None,
              until: Union[datetime, str, None] = None, limit: Optional[int] = None) -> pd.DataFrame:
        """Profiles matching every given filter, oldest first.

        ``process``/``stage``/``env``/``status``: a value or a list of values.
        ``since`` (inclusive) / ``until`` (exclusive): bounds on ``task_start_time``
        (datetimes; a naive one is local time, as in Profile; an ISO string without
        a zone is UTC). ``limit``: keep only the most recent ``limit``."""
        from dprof.repo import frames

        t = schema.profiles
        cols = [t.c[columns.db_column(name)] for name in columns.FRAME_COLUMNS]
        stmt = _filtered(sa.select(*cols), process, stage, env, status, since, until)
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise ValueError(f"query(limit=...) must be a non-negative int, got {limit!r}")
            stmt = stmt.order_by(t.c.task_start_time_us.desc(), t.c.id.desc()).limit(limit)
        # Without a limit the rows are put in time order by profiles_frame, which is
        # cheaper than ORDER BY (that walks the index and fetches rows out of order).
        with self._reader().connect() as conn:
            rows = _fetch_all(conn, stmt)
        if limit is not None:
            rows.reverse()
        return frames.profiles_frame(rows, sort_by_start=limit is None)

    def find_ids(self, prefix: str, limit: Optional[int] = None) -> List[str]:
        """Stored ids that start with ``prefix`` (at most ``limit``, when given),
        sorted, by a prefix query rather than reading every id."""
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"find_ids needs a non-empty str prefix, got {prefix!r}")
        t = schema.profiles
        pattern = (prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                   + "%")
        stmt = sa.select(t.c.id).where(t.c.id.like(pattern, escape="\\")).order_by(t.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._reader().connect() as conn:
            return [row[0] for row in conn.execute(stmt)]

    def stats(self, process: StrFilter = None, stage: StrFilter = None,
              env: StrFilter = None, status: StrFilter = None,
              since: Union[datetime, str, None] = None,
              until: Union[datetime, str, None] = None) -> pd.DataFrame:
        """Per process: runs, failures, runtime mean and 95th percentile (seconds),
        largest peak memory (MiB), total bytes read and written, first and last start.
        One row per process_name, sorted by name. Filters as in ``query``."""
        import numpy as np
        import pandas as pd

        from dprof.repo import frames

        t = schema.profiles
        stmt = _filtered(
            sa.select(t.c.process_name, t.c.status, t.c.runtime_seconds,
                      t.c.memory_usage_peak_mb, t.c.file_read_bytes, t.c.file_write_bytes,
                      t.c.task_start_time_us),
            process, stage, env, status, since, until)
        with self._reader().connect() as conn:
            rows = _fetch_all(conn, stmt)
        df = frames.profiles_frame(rows, ("process_name", "status", "runtime_seconds",
                                          "memory_usage_peak_mb", "file_read_bytes",
                                          "file_write_bytes", "task_start_time"))
        df["failed"] = (df["status"] == "failed").astype("int64")
        grouped = df.groupby("process_name", observed=True, sort=True)
        out = pd.DataFrame({
            "runs": grouped.size().astype("Int64"),
            "failures": grouped["failed"].sum().astype("Int64"),
            "runtime_mean_seconds": grouped["runtime_seconds"].mean(),
            "runtime_p95_seconds": grouped["runtime_seconds"].quantile(0.95),
            "memory_peak_max_mb": grouped["memory_usage_peak_mb"].max(),
            "file_read_bytes_total": grouped["file_read_bytes"].sum(min_count=1),
            "file_write_bytes_total": grouped["file_write_bytes"].sum(min_count=1),
            "first_start": grouped["task_start_time"].min(),
            "last_start": grouped["task_start_time"].max(),
        })
        out.index = out.index.astype(object)
        out = out.rename_axis("process_name").reset_index()
        for name in ("runtime_mean_seconds", "runtime_p95_seconds", "memory_peak_max_mb"):
            out[name] = out[name].astype(np.float64)
        return out


# -- helpers -----------------------------------------------------------------------
def _one_arg(method: str, args: tuple, kwargs: dict, names: Sequence[str]) -> str:
    """The single str argument of ``method``, given positionally or under one of
    ``names`` (dprof's own name first, then the Task Profiler's). TypeError naming
    the accepted keywords for anything else, as a plain signature would raise."""
    accepted = " or ".join(f"{n}=" for n in names)
    unknown = [k for k in kwargs if k not in names]
    if unknown:
        raise TypeError(f"ProfileRepo.{method}() got an unexpected keyword argument "
                        f"{unknown[0]!r}; it takes one argument, positionally or as "
                        f"{accepted}")
    given = list(args) + list(kwargs.values())
    if len(given) != 1:
        raise TypeError(f"ProfileRepo.{method}() takes exactly one argument "
                        f"(positionally or as {accepted}), got {len(given)}")
    value = given[0]
    # the Task Profiler's ids were integers (its README: exists(profile_id=123));
    # dprof's are text, so an int is looked up as its decimal text
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"ProfileRepo.{method}() needs a str (or an int id), got "
                        f"{type(value).__name__} {value!r}")
    return value


def _filtered(stmt, process, stage, env, status, since, until):
    """``stmt`` restricted by the filters that query() and stats() share."""
    t = schema.profiles
    for column, value, label in ((t.c.process_name, process, "process"),
                                 (t.c.stage, stage, "stage"), (t.c.env, env, "env"),
                                 (t.c.status, status, "status")):
        values = _as_values(label, value)
        if values is not None:
            stmt = stmt.where(column.in_(values))
    if since is not None:
        stmt = stmt.where(t.c.task_start_time_us >= _us("since", since))
    if until is not None:
        stmt = stmt.where(t.c.task_start_time_us < _us("until", until))
    return stmt


def _insert(conn: Connection, batch: Sequence[Profile]) -> None:
    conn.execute(schema.profiles.insert(), [codec.profile_row(p) for p in batch])
    by_table: Dict[str, list] = {}
    for p in batch:
        for table, row in codec.child_rows(p):
            by_table.setdefault(table, []).append(row)
    for table, rows in by_table.items():
        conn.execute(schema.metadata.tables[table].insert(), rows)


def _fetch_all(conn: Connection, stmt) -> list:
    """All rows of ``stmt`` as the driver's tuples. The columns read this way have no
    SQLAlchemy result processing on either backend (ints, floats and text come back as
    Python values), so rows are taken from the DBAPI cursor directly: building a Row
    object per row costs more than a tenth of a 100k-profile load."""
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _child_row(conn: Connection, table: sa.Table, id: str):
    return conn.execute(sa.select(table).where(table.c.profile_id == id)).mappings().first()


def _as_values(label: str, value: StrFilter) -> Optional[List[str]]:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    for v in values:
        if not isinstance(v, str):
            raise TypeError(f"query({label}=...) takes a str or a list of str, got {v!r}")
    return values


def _us(label: str, value) -> int:
    """since/until as microseconds: a datetime (a naive one is local time, as in
    Profile), or an ISO 8601 string (a string without a zone is read as UTC, as the
    command line's --since always has)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"query({label}=...) got {value!r}, which is not an ISO 8601 "
                             f"date or time (e.g. '2026-11-01' or '2026-11-01T08:00+01:00')") \
                from None
        value = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return datetime_to_us(aware_utc(value, f"query({label}=...)"))


def _safe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    text = text.split("\n[SQL:")[0].split("\n(Background")[0]
    return text if len(text) <= 300 else text[:297] + "..."
