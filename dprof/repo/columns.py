"""Names of the columns of profile DataFrames and the table columns they come from.

Kept apart from ``frames.py`` so that writing profiles never imports pandas.
"""
from __future__ import annotations

from dprof.record import COUNT_METRICS, FLOAT_METRICS

CATEGORY_COLUMNS = ("process_name", "env", "stage", "status")
TIME_COLUMNS = ("task_start_time", "task_end_time")
FLOAT_COLUMNS = FLOAT_METRICS
INT_COLUMNS = COUNT_METRICS + ("pid",)
TEXT_COLUMNS = ("id", "exception_type", "exception_message", "host", "python_version")
JSON_COLUMNS = ("parameters", "tags", "missing", "sources")

#: Columns of every profiles DataFrame, in order.
FRAME_COLUMNS = (("id",) + CATEGORY_COLUMNS + TIME_COLUMNS + FLOAT_COLUMNS + COUNT_METRICS
                 + ("exception_type", "exception_message", "host", "pid", "python_version")
                 + JSON_COLUMNS)


def db_column(frame_column: str) -> str:
    """The ``profiles`` table column a frame column is read from."""
    return frame_column + "_us" if frame_column in TIME_COLUMNS else frame_column
