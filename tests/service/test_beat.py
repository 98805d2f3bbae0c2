"""`dprof beat`'s periodic work, embedded: retention pruning and scheduled comparisons."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from dprof.service import beat, config, runner
from dprof.service.algorithms_port import JobSpec
from dprof.service.store import JobStore

pytestmark = pytest.mark.core


def test_beat_prunes_old_jobs_and_runs_scheduled_comparisons(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setenv("DPROF_SPOOL_DIR", str(tmp_path / "spool"))
    store = JobStore(url)
    spec = JobSpec("heap_sort", 50, {}, 1, "random", 0)
    store.create([{"id": "ancient", "status": "queued", "algorithm": "heap_sort",
                   "input_size": 50, "iterations": 1, "priority": 5, "spec": spec.as_dict(),
                   "comparison_id": None, "correlation_id": "c", "predicted_seconds": None}])
    runner.run_job(store, "ancient", "w")
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE service_jobs SET created_us = 0"))
    monkeypatch.setenv("DPROF_SCHEDULED_COMPARISONS", json.dumps(
        [{"algorithms": ["quick_sort", "merge_sort"], "sizes": [100, 200], "iterations": 1,
          "every_seconds": 0.5}]))
    settings = config.load({"DPROF_DATABASE_URL": url, "DPROF_RETENTION_DAYS": "1"})
    beat.run_loop(settings, stop_after=2.5)
    assert store.get("ancient") is None                    # pruned with its profile
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM profiles WHERE id = 'ancient'")
                            ).scalar() == 0
    rows, total = store.list(limit=1000)
    comparisons = {r["comparison_id"] for r in rows}
    assert total >= 4 and len(comparisons) == total // 4   # 2 algorithms x 2 sizes each
    assert {r["algorithm"] for r in rows} == {"quick_sort", "merge_sort"}
    store.dispose()


def test_bad_schedules_are_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DPROF_SCHEDULED_COMPARISONS", "{not json")
    with pytest.raises(ValueError, match="DPROF_SCHEDULED_COMPARISONS"):
        beat.scheduled_comparisons()
    monkeypatch.setenv("DPROF_SCHEDULED_COMPARISONS", '[{"sizes": [1]}]')
    with pytest.raises(ValueError, match="algorithms"):
        beat.scheduled_comparisons()
