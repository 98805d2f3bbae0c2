"""The jobs table's writes: a job's result is stored once however often it runs."""
from __future__ import annotations

import json
import sqlalchemy as sa

import pytest

from dprof.service import runner
from dprof.service.algorithms_port import JobSpec
from dprof.service.store import JobStore

pytestmark = pytest.mark.core


def _job(store, job_id="j1", iterations=2, size=64, status="queued"):
    spec = JobSpec("insertion_sort", size, {}, iterations, "random", 5)
    store.create([{"id": job_id, "status": status, "algorithm": spec.algorithm_name,
                   "input_size": size, "iterations": iterations, "priority": 5,
                   "spec": spec.as_dict(), "comparison_id": None,
                   "correlation_id": "c-1", "predicted_seconds": 0.1}])


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DPROF_SPOOL_DIR", str(tmp_path / "spool"))
    s = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield s
    s.dispose()


def _profile_ids(store):
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT id FROM profiles"))]


@pytest.mark.needs_native(reason="the jobs run the built-in sorts, which are C only")
def test_a_job_run_twice_stores_one_profile(store):
    _job(store)
    assert runner.run_job(store, "j1", "w1") == "succeeded"
    # a redelivered message: the job is finished, so it is not run again
    assert runner.run_job(store, "j1", "w2") == "skipped"
    row = store.get("j1")
    assert row["status"] == "succeeded" and row["worker"] == "w1" and row["attempts"] == 1
    assert _profile_ids(store) == ["j1"]


def test_a_second_finish_after_a_rerun_changes_nothing(store):
    _job(store)
    first = store.claim("j1", "w1", "h1")          # w1 dies after claiming
    second = store.claim("j1", "w2", "h2")         # the job is handed to w2
    assert first["attempts"] == 1 and second["attempts"] == 2
    from dprof.record import Profile
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    p = Profile(process_name="insertion_sort", task_start_time=now, task_end_time=now,
                id="j1", host="h2")
    assert store.finish("j1", p, {"runs": 1}) is True
    assert store.finish("j1", p, {"runs": 1}) is False     # w1 was not dead after all
    assert store.fail("j1", "late error") is False
    assert store.get("j1")["status"] == "succeeded" and _profile_ids(store) == ["j1"]


@pytest.mark.needs_native(reason="the jobs run the built-in sorts, which are C only")
def test_a_cancelled_job_is_neither_run_nor_stored(store):
    _job(store)
    assert store.cancel("j1") == "queued"
    assert runner.run_job(store, "j1", "w1") == "skipped"
    _job(store, "j2")
    row = store.claim("j2", "w1", "h")
    assert store.cancel("j2") == "running"
    assert runner._run_claimed(store, dict(row), "w1", None, None) in ("cancelled", "skipped")
    assert _profile_ids(store) == [] and store.get("j2")["status"] == "cancelled"


def test_an_algorithm_error_marks_the_job_failed_with_the_reason(store):
    _job(store)
    with store.engine.begin() as conn:      # a parameter the algorithm does not take
        conn.execute(sa.text("UPDATE service_jobs SET spec = :s"), {"s": json.dumps(
            JobSpec("insertion_sort", 10, {"nope": 1}, 1, "random", 0).as_dict())})
    assert runner.run_job(store, "j1", "w1") == "failed"
    assert "nope" in store.get("j1")["error"]


@pytest.mark.needs_native(reason="the jobs run the built-in sorts, which are C only")
def test_prune_removes_old_finished_jobs_and_their_profiles(store):
    _job(store, "old")
    _job(store, "new")
    _job(store, "waiting")
    runner.run_job(store, "old", "w")
    runner.run_job(store, "new", "w")
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE service_jobs SET created_us = 0 WHERE id IN "
                             "('old', 'waiting')"))
    assert store.prune(3600) == 1
    assert store.get("old") is None and store.get("waiting") is not None
    assert _profile_ids(store) == ["new"]
