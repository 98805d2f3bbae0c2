"""DataFrames of stored profiles, built from raw column data (no ORM objects, no
per-row Python objects beyond what the driver returns), so 100,000 profiles load in
well under a second.

Column dtypes:
  id, exception_type, exception_message, host, python_version: pandas' default string
    dtype (``str`` in pandas 3, ``object`` before);
  process_name, env, stage, status: ``category``;
  task_start_time, task_end_time: ``datetime64[..., UTC]``;
  runtime_seconds, cpu_*, memory_usage_peak_mb, io_wait_time_seconds: ``float64``
    (NaN where the metric is missing; the ``missing`` column says why);
  memory_allocations, file_*_bytes, network_*_bytes, exceptions_raised, pid: ``Int64``
    (``<NA>`` where missing);
  parameters, tags, missing, sources: JSON text (decode with ``json.loads``; decoding
    every row would cost more than the whole load).
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd

from dprof.repo.columns import (CATEGORY_COLUMNS, FLOAT_COLUMNS, FRAME_COLUMNS, INT_COLUMNS,
                                 TIME_COLUMNS)

# pandas' default dtype for text: "str" from pandas 3 on (missing values are NaN),
# object before. Set explicitly so an all-None column gets it too.
_TEXT_DTYPE = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


def _int_column(values: Sequence) -> pd.api.extensions.ExtensionArray:
    # Fast path through float64 (None becomes NaN in C): exact while every value is
    # below 2**53 in magnitude, which is checked; otherwise the exact slow path.
    as_float = np.array(values, dtype=np.float64)
    mask = np.isnan(as_float)
    present = as_float[~mask]
    if present.size == 0 or np.abs(present).max() < 2.0**53:
        data = np.where(mask, 0.0, as_float).astype(np.int64)
    else:
        data = np.fromiter((0 if v is None else v for v in values), dtype=np.int64,
                           count=len(values))
    return pd.arrays.IntegerArray(data, mask)


def _time_column(values: Sequence) -> pd.Series:
    return pd.to_datetime(np.asarray(values, dtype=np.int64), unit="us", utc=True)


def profiles_frame(rows: List[Tuple], columns: Sequence[str] = FRAME_COLUMNS,
                   sort_by_start: bool = False) -> pd.DataFrame:
    """A DataFrame from driver rows whose values are in ``columns`` order; with
    ``sort_by_start``, put in ``task_start_time`` order (stable: ties keep the order
    the database returned them in)."""
    n = len(rows)
    data: Dict[str, object] = {}
    cols = list(zip(*rows)) if n else [()] * len(columns)
    if sort_by_start and n > 1:
        start = np.asarray(cols[list(columns).index("task_start_time")], dtype=np.int64)
        if (np.diff(start) < 0).any():
            order = np.argsort(start, kind="stable").tolist()
            cols = list(zip(*[rows[i] for i in order]))
    for name, values in zip(columns, cols):
        if name in CATEGORY_COLUMNS:
            data[name] = pd.Categorical(values)
        elif name in TIME_COLUMNS:
            data[name] = _time_column(values)
        elif name in FLOAT_COLUMNS:
            data[name] = np.array(values, dtype=np.float64)
        elif name in INT_COLUMNS:
            data[name] = _int_column(values)
        else:
            data[name] = pd.array(np.array(values, dtype=object), dtype=_TEXT_DTYPE) \
                if _TEXT_DTYPE != object else np.array(values, dtype=object)
    return pd.DataFrame(data, columns=list(columns))
