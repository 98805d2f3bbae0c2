"""Quick answers for ``history``, ``show`` and ``stats`` on a local SQLite database.

Importing SQLAlchemy and pandas costs the CLI about a second before it reads a row;
these three verbs read a few columns. When the database is a SQLite file at the
schema revision this dprof writes, and no profile waits in its spool, they read it
here with the standard library's ``sqlite3``, read-only. In every other case
(PostgreSQL, an older or newer schema, a spool to flush first, any error) ``open``
returns None and the verb uses ``ProfileRepo`` as before, so the answers are the
same either way (tests compare them).

The table layout read here is ``dprof/repo/schema.py``'s and ``codec.py``'s.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence

from dprof.repo.direct import at_current_schema, database_file

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_METRICS = ("runtime_seconds", "cpu_cores", "cpu_user_utilization", "cpu_system_utilization",
            "memory_usage_peak_mb", "memory_allocations", "file_read_bytes", "file_write_bytes",
            "io_wait_time_seconds", "network_data_sent_bytes", "network_data_received_bytes",
            "exceptions_raised")


def _time(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


def _us(value: datetime) -> int:
    delta = value.astimezone(timezone.utc) - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


class FastReader:
    """Read-only queries on one SQLite file (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    @classmethod
    def open(cls, db: Optional[str]) -> Optional["FastReader"]:
        if os.environ.get("DPROF_NO_FAST_READ"):
            return None
        try:
            # None also when profiles wait in the spool: ProfileRepo moves them in first
            path = database_file(db)
            if path is None:
                return None
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
            conn.row_factory = sqlite3.Row
            if not at_current_schema(conn):
                conn.close()
                return None
            return cls(conn)
        except (sqlite3.Error, OSError, ValueError, TypeError):
            return None

    def close(self) -> None:
        self.conn.close()

    # -- filters, as ProfileRepo._filtered --------------------------------------------
    @staticmethod
    def _where(args) -> tuple:
        clauses: List[str] = []
        values: List[Any] = []
        for column in ("process", "stage", "env", "status"):
            value = getattr(args, column, None)
            if value is not None:
                clauses.append(f"{'process_name' if column == 'process' else column} = ?")
                values.append(value)
        since = getattr(args, "since", None)
        if since is not None:
            clauses.append("task_start_time_us >= ?")
            values.append(_us(since))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", values

    # -- history ----------------------------------------------------------------------
    def history(self, args, limit: int) -> List[Dict[str, Any]]:
        """The newest ``limit`` rows, newest first, with the columns history shows."""
        where, values = self._where(args)
        rows = self.conn.execute(
            "SELECT id, task_start_time_us, process_name, stage, env, status, "
            "runtime_seconds, memory_usage_peak_mb, cpu_user_utilization, "
            f"cpu_system_utilization FROM profiles{where} "
            "ORDER BY task_start_time_us DESC, id DESC LIMIT ?", values + [limit]).fetchall()
        out = []
        for row in rows:
            rec = dict(row)
            rec["task_start_time"] = _time(rec.pop("task_start_time_us"))
            out.append(rec)
        return out

    # -- show -------------------------------------------------------------------------
    def resolve_id(self, prefix: str) -> List[str]:
        """[prefix] when it is an id; else the ids starting with it (at most 6)."""
        if prefix == "last":
            row = self.conn.execute("SELECT id FROM profiles ORDER BY task_start_time_us "
                                    "DESC, id DESC LIMIT 1").fetchone()
            return [row[0]] if row else []
        if self.conn.execute("SELECT 1 FROM profiles WHERE id = ?", (prefix,)).fetchone():
            return [prefix]
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM profiles WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6",
            (pattern,))]

    def summary(self, profile_id: str) -> Optional[SimpleNamespace]:
        """The fields ``profile_summary_lines`` prints (no series, no stacks)."""
        row = self.conn.execute("SELECT * FROM profiles WHERE id = ?", (profile_id,)).fetchone()
        if row is None:
            return None
        rec = dict(row)
        fields = {k: rec[k] for k in ("id", "process_name", "env", "stage", "status",
                                      "exception_type", "exception_message", "host", "pid",
                                      "python_version") + _METRICS}
        fields["task_start_time"] = _time(rec["task_start_time_us"])
        fields["task_end_time"] = _time(rec["task_end_time_us"])
        for name in ("parameters", "missing", "sources", "tags"):
            fields[name] = json.loads(rec[name]) if rec.get(name) else {}
        res = self.conn.execute("SELECT missing FROM profile_resources WHERE profile_id = ?",
                                (profile_id,)).fetchone()
        fields["resources_missing"] = json.loads(res[0]) if res and res[0] else {}
        return SimpleNamespace(**fields)

    # -- stats ------------------------------------------------------------------------
    def stats(self, args) -> List[Dict[str, Any]]:
        """ProfileRepo.stats's rows, one per process name, sorted by name."""
        where, values = self._where(args)
        groups: Dict[str, Dict[str, list]] = {}
        for (name, status, runtime, peak, read, write, start) in self.conn.execute(
                "SELECT process_name, status, runtime_seconds, memory_usage_peak_mb, "
                f"file_read_bytes, file_write_bytes, task_start_time_us FROM profiles{where}",
                values):
            g = groups.setdefault(name, {"status": [], "runtime": [], "peak": [],
                                         "read": [], "write": [], "start": []})
            g["status"].append(status)
            g["runtime"].append(runtime)
            g["peak"].append(peak)
            g["read"].append(read)
            g["write"].append(write)
            g["start"].append(start)
        out = []
        for name in sorted(groups):
            g = groups[name]
            runtimes = [v for v in g["runtime"] if v is not None]
            peaks = [v for v in g["peak"] if v is not None]
            out.append({
                "process_name": name,
                "runs": len(g["status"]),
                "failures": sum(1 for s in g["status"] if s == "failed"),
                "runtime_mean_seconds": math.fsum(runtimes) / len(runtimes) if runtimes else None,
                "runtime_p95_seconds": _quantile(runtimes, 0.95),
                "memory_peak_max_mb": max(peaks) if peaks else None,
                "file_read_bytes_total": _total(g["read"]),
                "file_write_bytes_total": _total(g["write"]),
                "first_start": _time(min(g["start"])),
                "last_start": _time(max(g["start"])),
            })
        return out


def _total(values: Sequence[Optional[int]]) -> Optional[int]:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _quantile(values: Sequence[float], q: float) -> Optional[float]:
    """The linear-interpolation quantile (pandas' and numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
