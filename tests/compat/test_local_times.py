"""Naive datetimes (``datetime.now()``, as the Task Profiler's README passes them)
are taken as local time and stored as UTC; aware ones are unchanged. Each test
sets a non-UTC zone with ``time.tzset`` and restores the old one."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from dprof.record import Profile
from dprof.repo import ProfileRepo

pytestmark = pytest.mark.core


@pytest.fixture
def zone():
    """Switch this process's local zone; gives a function that takes a TZ string."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    saved = os.environ.get("TZ")

    def set_zone(tz: str) -> None:
        os.environ["TZ"] = tz
        time.tzset()

    yield set_zone
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_naive_times_are_local_and_stored_as_utc(zone):
    zone("Asia/Kolkata")                     # UTC+05:30, no DST
    p = Profile(process_name="etl", task_start_time=datetime(2024, 6, 1, 12, 0, 0),
                task_end_time=datetime(2024, 6, 1, 12, 0, 3))
    assert p.task_start_time == datetime(2024, 6, 1, 6, 30, tzinfo=timezone.utc)
    assert p.task_start_time.utcoffset() == timedelta(0)
    assert p.runtime_seconds == 3.0


def test_naive_times_follow_dst_of_the_local_zone(zone):
    zone("America/New_York")
    winter = Profile(process_name="x", task_start_time=datetime(2024, 1, 15, 9, 0),
                     task_end_time=datetime(2024, 1, 15, 9, 0))
    summer = Profile(process_name="x", task_start_time=datetime(2024, 7, 15, 9, 0),
                     task_end_time=datetime(2024, 7, 15, 9, 0))
    assert winter.task_start_time.hour == 14       # EST = UTC-5
    assert summer.task_start_time.hour == 13       # EDT = UTC-4


def test_aware_times_are_unchanged_by_the_local_zone(zone):
    zone("Asia/Kolkata")
    start = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-7)))
    p = Profile(process_name="x", task_start_time=start, task_end_time=start)
    assert p.task_start_time == start and p.task_start_time.hour == 19


def test_readme_example_with_datetime_now_round_trips_through_the_repo(zone, tmp_path):
    zone("Europe/Berlin")
    start = datetime.now()
    end = start + timedelta(seconds=2)
    p = Profile(env="dev", stage="extract", process_name="load_users",
                task_start_time=start, task_end_time=end, runtime_seconds=2.0)
    repo = ProfileRepo(tmp_path / "p.db")
    repo.add(p)
    back = repo.get(p.id)
    # the same instant: the naive local wall time, read back in the local zone
    assert back.task_start_time == start.astimezone()
    assert back.task_start_time.astimezone().replace(tzinfo=None) == start
    repo.close()


def test_naive_query_bounds_are_local_time(zone, tmp_path):
    zone("Asia/Kolkata")
    repo = ProfileRepo(tmp_path / "p.db")
    t = datetime(2024, 6, 1, 6, 30, tzinfo=timezone.utc)        # 12:00 in Kolkata
    repo.add(Profile(process_name="x", task_start_time=t, task_end_time=t))
    assert len(repo.query(since=datetime(2024, 6, 1, 12, 0))) == 1      # local bound
    assert len(repo.query(since=datetime(2024, 6, 1, 12, 0, 1))) == 0
    assert len(repo.query(until=datetime(2024, 6, 1, 12, 0, 1))) == 1
    # an ISO string without a zone stays UTC, as the command line's --since has been
    assert len(repo.query(since="2024-06-01T06:30:00")) == 1
    assert len(repo.query(since="2024-06-01T06:30:01")) == 0
    repo.close()
