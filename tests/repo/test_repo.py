"""ProfileRepo behaviour, run on a SQLite file and on a real PostgreSQL server."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from dprof.record import Profile
from dprof.repo import FRAME_COLUMNS, ProfileRepo
from dprof.stacks import StackProfile


def test_add_get_round_trips_every_field_and_attachment(db_url, spool_dir, make_profile):
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    plain = make_profile(1)
    full = make_profile(2, with_attachments=True, status="failed", exception_type="ValueError",
                        exception_message="bad input: ünïcode", exceptions_raised=3)
    repo.add(plain)
    repo.add(full)
    assert repo.last_error is None
    assert repo.get(plain.id) == plain
    got = repo.get(full.id)
    assert got == full
    # exact float64 bytes survive, NaN and -0.0 included
    assert got.resources["rss_mb"].tobytes() == full.resources["rss_mb"].tobytes()
    assert got.resources["cpu"].tobytes() == np.full(5, -0.0).tobytes()
    assert got.stacks.to_dict() == full.stacks.to_dict()
    assert got.task_start_time.tzinfo is not None
    assert repo.get("no-such-id") is None
    repo.close()


def test_exists_remove_and_attachments_go_with_the_profile(db_url, spool_dir, make_profile):
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    p = make_profile(1, with_attachments=True)
    repo.add(p)
    assert repo.exists(p.id)
    assert len(repo.resources(p.id)) == 5
    assert repo.remove(p.id) is True
    assert not repo.exists(p.id)
    assert repo.remove(p.id) is False
    with pytest.raises(KeyError, match=p.id):
        repo.resources(p.id)
    with pytest.raises(KeyError, match=p.id):
        repo.stacks(p.id)
    # the attachment rows went too: re-adding the same id with attachments works
    repo.add(p)
    assert repo.get(p.id) == p


def test_resources_and_stacks_accessors(db_url, spool_dir, make_profile):
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    with_att, without = make_profile(1, with_attachments=True), make_profile(2)
    repo.add_many([with_att, without])
    series = repo.resources(with_att.id)
    assert list(series.columns) == ["t", "rss_mb", "cpu", "gpu_util_percent"]
    assert series.attrs["missing"] == {"gpu_util_percent": "no NVIDIA GPU: ünïcode reason"}
    assert (series.dtypes == np.float64).all()
    np.testing.assert_array_equal(series["t"].to_numpy(), with_att.resources["t"])
    assert repo.resources(without.id).empty and repo.resources(without.id).attrs["missing"] == {}
    assert isinstance(repo.stacks(with_att.id), StackProfile)
    assert repo.stacks(with_att.id).seconds_by_category()["wait_io"] == 0.2
    assert repo.stacks(without.id) is None


def test_adding_an_id_twice_is_a_clear_error(db_url, spool_dir, make_profile):
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    p = make_profile(1)
    repo.add(p)
    with pytest.raises(ValueError, match="already stored"):
        repo.add(p)
    with pytest.raises(ValueError, match="more than once"):
        repo.add_many([make_profile(2, id="same"), make_profile(3, id="same")])
    with pytest.raises(TypeError, match="Profile"):
        repo.add({"process_name": "x"})
    assert repo.count() == 1
    assert not any(spool_dir.iterdir()), "a programming error must not be spooled"


def test_get_all_dtypes_and_values(db_url, spool_dir, make_profile):
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    ps = [make_profile(i, process=f"p{i % 2}") for i in range(6)]
    ps[5].status = "failed"
    ps[5].exception_type = "KeyError"
    repo.add_many(reversed(ps))
    df = repo.get_all()
    assert list(df.columns) == list(FRAME_COLUMNS)
    assert list(df["id"]) == [p.id for p in ps]           # oldest first
    for name in ("process_name", "env", "stage", "status"):
        assert isinstance(df[name].dtype, pd.CategoricalDtype), name
    for name in ("task_start_time", "task_end_time"):
        assert isinstance(df[name].dtype, pd.DatetimeTZDtype) and str(df[name].dt.tz) == "UTC"
    assert df["task_start_time"].iloc[3] == pd.Timestamp(ps[3].task_start_time)
    assert df["task_end_time"].iloc[3].microsecond == 500_003
    for name in ("runtime_seconds", "cpu_user_utilization", "memory_usage_peak_mb"):
        assert df[name].dtype == np.float64
    for name in ("file_read_bytes", "network_data_sent_bytes", "pid", "exceptions_raised"):
        assert df[name].dtype == "Int64", name
    assert df["file_read_bytes"].iloc[2] == 2**40 + 2       # beyond float32, exact
    assert df["network_data_sent_bytes"].isna().all()       # missing is NA, not 0
    assert json.loads(df["missing"].iloc[0])["network_data_sent_bytes"] == "no per-process counters"
    assert json.loads(df["tags"].iloc[0]) == {"team": "data"}
    assert json.loads(df["parameters"].iloc[4]) == ps[4].parameters
    assert df["status"].iloc[5] == "failed" and df["exception_type"].iloc[5] == "KeyError"


def test_empty_repo_gives_typed_empty_frames(db_url, spool_dir):
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    df = repo.get_all()
    assert df.empty and list(df.columns) == list(FRAME_COLUMNS)
    assert isinstance(df["process_name"].dtype, pd.CategoricalDtype)
    assert isinstance(df["task_start_time"].dtype, pd.DatetimeTZDtype)
    assert df["file_read_bytes"].dtype == "Int64"
    assert repo.stats().empty


def test_query_filters(db_url, spool_dir, make_profile):
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    ps = [make_profile(i, process=("a", "b", "c")[i % 3], start=t0 + timedelta(hours=i))
          for i in range(12)]
    ps[4].status, ps[4].exception_type = "failed", "E"
    repo.add_many(ps)

    def ids(df):
        return list(df["id"])

    assert ids(repo.get_by_process("a")) == [p.id for p in ps if p.process_name == "a"]
    assert ids(repo.query(process=["a", "c"], env="prod")) == \
        [p.id for p in ps if p.process_name in "ac" and p.env == "prod"]
    assert ids(repo.query(stage="stage1")) == [p.id for p in ps if p.stage == "stage1"]
    assert ids(repo.query(status="failed")) == [ps[4].id]
    since, until = t0 + timedelta(hours=3), t0 + timedelta(hours=7)
    assert ids(repo.query(since=since, until=until)) == [p.id for p in ps[3:7]]
    # other timezones mean the same instant
    tz = timezone(timedelta(hours=5))
    assert ids(repo.query(since=since.astimezone(tz))) == [p.id for p in ps[3:]]
    assert ids(repo.query(limit=3)) == [p.id for p in ps[-3:]]       # the most recent, in order
    assert ids(repo.query(process="b", limit=2)) == [p.id for p in ps if p.process_name == "b"][-2:]
    assert repo.query(process="nobody").empty
    # a naive bound is local time (tests/compat/test_local_times.py pins that down)
    assert ids(repo.query(since=since.astimezone().replace(tzinfo=None))) == \
        [p.id for p in ps[3:]]
    with pytest.raises(TypeError, match="must be a datetime"):
        repo.query(since=12)
    with pytest.raises(ValueError, match="limit"):
        repo.query(limit=-1)


def test_remove_by_process_and_prune(db_url, spool_dir, make_profile):
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    now = datetime.now(timezone.utc)
    old = [make_profile(i, process="old", start=now - timedelta(days=40), with_attachments=True)
           for i in range(3)]
    new = [make_profile(i + 3, process="new", start=now - timedelta(days=1)) for i in range(2)]
    keep = make_profile(9, process="keep", start=now - timedelta(days=40))
    repo.add_many(old + new + [keep])
    assert repo.prune(timedelta(days=30)) == 4
    assert sorted(repo.get_all()["process_name"].astype(str)) == ["new", "new"]
    assert repo.remove_by_process("new") == 2
    assert repo.remove_by_process("new") == 0
    assert repo.count() == 0
    with pytest.raises(ValueError, match="timedelta"):
        repo.prune(30)


def test_stats_per_process(db_url, spool_dir, make_profile):
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    runtimes = [float(x) for x in range(1, 21)]
    ps = [make_profile(i, process="a", runtime_seconds=r, memory_usage_peak_mb=10.0 * i,
                       file_read_bytes=100, file_write_bytes=None,
                       missing={"file_write_bytes": "no /proc/self/io"})
          for i, r in enumerate(runtimes)]
    ps[0].status, ps[0].exception_type = "failed", "E"
    ps[1].status, ps[1].exception_type = "failed", "E"
    ps.append(make_profile(50, process="b", runtime_seconds=2.0))
    repo.add_many(ps)
    stats = repo.stats().set_index("process_name")
    a = stats.loc["a"]
    assert a["runs"] == 20 and a["failures"] == 2
    assert a["runtime_mean_seconds"] == pytest.approx(np.mean(runtimes))
    assert a["runtime_p95_seconds"] == pytest.approx(np.percentile(runtimes, 95))
    assert a["memory_peak_max_mb"] == 190.0
    assert a["file_read_bytes_total"] == 2000
    assert pd.isna(a["file_write_bytes_total"])        # all missing -> NA, not 0
    assert stats.loc["b", "runs"] == 1 and stats.loc["b", "failures"] == 0
    assert list(stats.index) == ["a", "b"]


def test_profile_from_spool_dict_equals_stored(db_url, spool_dir, make_profile):
    # a profile survives JSON (the spool's format) and then the database unchanged
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    p = make_profile(7, with_attachments=True)
    q = Profile.from_dict(json.loads(json.dumps(p.to_dict(), allow_nan=False)))
    repo.add(q)
    assert repo.get(p.id) == p


def test_query_accepts_iso_strings_for_since_and_until(tmp_path):
    from datetime import datetime, timedelta, timezone
    from dprof.repo import ProfileRepo
    from dprof.record import Profile
    repo = ProfileRepo(f"sqlite:///{tmp_path / 'p.db'}")
    t0 = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    for day in range(3):
        start = t0 + timedelta(days=day)
        repo.add(Profile(process_name="p", task_start_time=start,
                         task_end_time=start + timedelta(seconds=1)))
    assert len(repo.query(since="2026-11-02")) == 2
    assert len(repo.query(since="2026-11-02", until="2026-11-02T23:00")) == 1
    with pytest.raises(ValueError, match="not an ISO 8601"):
        repo.query(since="last tuesday")


def test_find_ids_by_prefix_and_stats_filters(tmp_path):
    from datetime import datetime, timedelta, timezone
    from dprof.repo import ProfileRepo
    from dprof.record import Profile
    repo = ProfileRepo(f"sqlite:///{tmp_path / 'p.db'}")
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for i, (pid, name) in enumerate((("ab12", "load"), ("ab34", "load"), ("cd56", "train"),
                                     ("a_b%", "train"))):
        repo.add(Profile(id=pid, process_name=name, task_start_time=t0 + timedelta(days=i),
                         task_end_time=t0 + timedelta(days=i, seconds=1)))
    assert repo.find_ids("ab") == ["ab12", "ab34"]
    assert repo.find_ids("ab", limit=1) == ["ab12"]
    assert repo.find_ids("a_") == ["a_b%"]          # LIKE wildcards are matched literally
    assert repo.find_ids("zz") == []
    with pytest.raises(ValueError, match="prefix"):
        repo.find_ids("")
    assert list(repo.stats(process="train")["process_name"]) == ["train"]
    assert list(repo.stats(since="2026-11-02")["runs"]) == [1, 2]
