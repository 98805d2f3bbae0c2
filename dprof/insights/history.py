"""Reading the history the insights work on: profiles as one DataFrame, task keys, and
which profiles carry stacks or resource series.

Everything that touches the repository for the insights is here, so that the
analyses are functions of DataFrames and arrays. The profiles come from
``ProfileRepo.query`` (one SELECT, typed columns); the attachment look-ups are one
SELECT each over the child tables' primary keys, never one query per profile.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dprof.repo import ProfileRepo, schema

#: A task: the runs of one process in one stage and environment.
TASK_KEYS = ("process_name", "stage", "env")

# SQLite takes at most 32766 bound parameters per statement (999 before 3.32).
_ID_CHUNK = 900


def load(source, process=None, stage=None, env=None, since=None, until=None) -> pd.DataFrame:
    """Profiles (a repo's, filtered as ``ProfileRepo.query``; or a DataFrame of its
    layout) sorted by task and start, with derived columns:

    ``cpu_cores_used``: (user + system utilisation) x cpu_cores, the cores busy on
    average over the run; ``cpu_seconds``: that times runtime_seconds;
    ``io_bytes``: file bytes read + written (NaN where either is missing)."""
    if isinstance(source, ProfileRepo):
        df = source.query(process=process, stage=stage, env=env, since=since, until=until)
    elif isinstance(source, pd.DataFrame):
        df = _filter_frame(source, process, stage, env, since, until)
    else:
        raise TypeError(f"insights need a ProfileRepo or a DataFrame from "
                        f"ProfileRepo.query(), got {type(source).__name__}")
    missing = [c for c in TASK_KEYS + ("task_start_time", "runtime_seconds") if c not in df]
    if missing:
        raise ValueError(f"the profiles DataFrame lacks the columns {missing}; "
                         f"build it with ProfileRepo.query()")
    df = df.sort_values(list(TASK_KEYS) + ["task_start_time"], kind="stable") \
        .reset_index(drop=True)
    util = _float(df, "cpu_user_utilization") + _float(df, "cpu_system_utilization")
    df["cpu_cores_used"] = util * _float(df, "cpu_cores")
    df["cpu_seconds"] = df["cpu_cores_used"] * _float(df, "runtime_seconds")
    df["io_bytes"] = _float(df, "file_read_bytes") + _float(df, "file_write_bytes")
    return df


def _float(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df:
        return np.full(len(df), np.nan)
    return df[name].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _filter_frame(df, process, stage, env, since, until) -> pd.DataFrame:
    from dprof.repo.repository import _us     # the same reading of since/until as query()
    keep = np.ones(len(df), dtype=bool)
    for column, value in (("process_name", process), ("stage", stage), ("env", env)):
        if value is not None:
            values = [value] if isinstance(value, str) else list(value)
            keep &= df[column].astype(object).isin(values).to_numpy()
    start_us = None
    if since is not None or until is not None:
        start_us = df["task_start_time"].astype("datetime64[us, UTC]").astype("int64").to_numpy()
    if since is not None:
        keep &= start_us >= _us("since", since)
    if until is not None:
        keep &= start_us < _us("until", until)
    return df[keep]


def task_groups(df: pd.DataFrame):
    """(process_name, stage, env) -> positions in ``df`` (already in start order)."""
    if df.empty:
        return {}
    return df.groupby(list(TASK_KEYS), observed=True, sort=True).indices


def with_attachment(repo: ProfileRepo, ids: Iterable[str], kind: str) -> List[str]:
    """Those of ``ids`` that have stacks (``kind="stacks"``) or a resource series
    (``"resources"``), in the order given."""
    table = {"stacks": schema.profile_stacks, "resources": schema.profile_resources}.get(kind)
    if table is None:
        raise ValueError(f"kind must be 'stacks' or 'resources', got {kind!r}")
    ids = list(ids)
    found = set()
    engine = repo._reader()      # the repo's engine, opened (StorageError) as reads do
    with engine.connect() as conn:
        if len(ids) > 20 * _ID_CHUNK:     # many ids: one scan of the child's key beats chunks
            found.update(conn.execute(sa.select(table.c.profile_id)).scalars())
            return [i for i in ids if i in found]
        for i in range(0, len(ids), _ID_CHUNK):
            chunk = ids[i:i + _ID_CHUNK]
            found.update(conn.execute(sa.select(table.c.profile_id)
                                      .where(table.c.profile_id.in_(chunk))).scalars())
    return [i for i in ids if i in found]


def series_lengths(repo: ProfileRepo, ids: Sequence[str]) -> dict:
    """id -> number of resource samples, for those of ``ids`` that have a series."""
    out = {}
    engine = repo._reader()
    t = schema.profile_resources
    with engine.connect() as conn:
        for i in range(0, len(ids), _ID_CHUNK):
            chunk = list(ids[i:i + _ID_CHUNK])
            for pid, n in conn.execute(sa.select(t.c.profile_id, t.c.n_samples)
                                       .where(t.c.profile_id.in_(chunk))):
                out[pid] = int(n)
    return out


def task_label(key) -> str:
    process, stage, env = key
    return f"{process} [stage={stage}, env={env}]"


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def ids_at(df: pd.DataFrame, positions: np.ndarray) -> List[str]:
    return [str(v) for v in df["id"].to_numpy()[positions]]


def maybe(value: Optional[float]) -> Optional[float]:
    """A float for JSON: None for NaN."""
    if value is None:
        return None
    value = float(value)
    return None if np.isnan(value) else value
