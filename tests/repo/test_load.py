"""Loading many profiles gives one typed row per profile (speed itself is measured by
benchmarks/repo_load.py, not asserted here)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dprof.repo import ProfileRepo

pytestmark = [pytest.mark.core, pytest.mark.slow]

N = 20_000


def test_many_profiles_load_with_their_dtypes(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        from repo_load import make_profiles
    finally:
        sys.path.pop(0)
    profiles = make_profiles(N)
    repo = ProfileRepo(tmp_path / "many.db", spool_dir=tmp_path)
    assert repo.add_many(profiles) == N
    df = repo.get_all()
    assert len(df) == N and df["id"].is_unique
    assert df["process_name"].dtype == "category" and len(df["process_name"].cat.categories) == 50
    assert df["task_start_time"].is_monotonic_increasing
    assert df["memory_allocations"].dtype == "Int64"
    assert df["network_data_sent_bytes"].isna().all()
    assert df["runtime_seconds"].dtype == np.float64
    # spot-check values against what was stored
    for i in (0, 12_345, N - 1):
        p = profiles[i]
        row = df.iloc[i]
        assert row["id"] == p.id
        assert row["runtime_seconds"] == p.runtime_seconds
        assert row["file_read_bytes"] == p.file_read_bytes
        assert row["task_end_time"] == pd.Timestamp(p.task_end_time)
    failed = df["status"] == "failed"
    assert failed.sum() == sum(p.status == "failed" for p in profiles)


@pytest.mark.parametrize("values", [
    (1, 2, 3), (None, 5, 2**62), (None, None), (), (2**53 + 1, None, -2**63),
    (-(2**53) + 1, 0, 2**63 - 1)])
def test_count_columns_are_exact_with_missing_as_na(values):
    from dprof.repo.frames import _int_column

    column = _int_column(values)
    assert column.dtype == "Int64" and len(column) == len(values)
    for got, want in zip(column, values):
        if want is None:
            assert got is pd.NA
        else:
            assert int(got) == want
