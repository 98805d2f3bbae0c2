"""The embedded mode: `dprof serve` with no broker runs jobs itself on SQLite."""
from __future__ import annotations

import subprocess
import sys

import pytest

from service_fixtures import wait_for

pytestmark = pytest.mark.slow


def test_one_command_gives_a_working_service(embedded_stack):
    s = embedded_stack
    client = s.start_api()
    h = client.get("/health")
    assert h.status_code == 200
    assert h.json()["mode"] == "embedded" and h.json()["checks"]["broker"]["status"] == "not used"
    r = client.post("/api/v1/jobs", json={"algorithm_name": "merge_sort", "input_size": 300,
                                          "iterations": 3, "distribution": "reversed"})
    assert r.status_code == 202, r.text
    job = s.wait_job(r.json()["id"])
    assert job["status"] == "succeeded" and job["worker"].startswith("embedded@")
    results = client.get(f"/api/v1/jobs/{job['id']}/results").json()
    assert results["profile"]["tags"]["dprof.job"] == job["id"]
    assert [i["iteration"] for i in results["profile"]["parameters"]["iterations"]] == [0, 1, 2]
    # stored in the SQLite file like any profile: `dprof history` lists it
    out = subprocess.run([sys.executable, "-m", "dprof", "history"], capture_output=True,
                         text=True, env=s.env, timeout=120, cwd=s.tmp)
    assert out.returncode == 0 and "merge_sort" in out.stdout, out.stderr
    listed = client.get("/api/v1/jobs", params={"status": "succeeded"}).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]
    workers = client.get("/api/v1/workers").json()
    assert workers["mode"] == "embedded" and len(workers["workers"]) == 1
    names = {a["name"] for a in client.get("/api/v1/algorithms").json()["algorithms"]}
    assert {"quick_sort", "merge_sort", "bubble_sort", "radix_sort"} <= names
    text = client.get("/metrics").text
    assert 'dprof_jobs_completed_total{algorithm="merge_sort"} 1.0' in text
    assert 'dprof_job_duration_seconds_count{algorithm="merge_sort"} 1.0' in text


def test_embedded_compare_and_cancel(embedded_stack):
    s = embedded_stack
    client = s.start_api(DPROF_EMBEDDED_THREADS="1")
    # seconds of work even on a fast machine, so it is still running when cancelled
    long = client.post("/api/v1/jobs", json={"algorithm_name": "bubble_sort",
                                             "input_size": 5000, "iterations": 200}).json()
    r = client.post("/api/v1/compare?input_size=300&iterations=2",
                    json={"algorithms": ["quick_sort", "heap_sort"]})
    assert r.status_code == 202
    cid = r.json()["comparison_id"]
    s.wait_job(long["id"], ("running",))
    assert client.delete(f"/api/v1/jobs/{long['id']}").json()["status"] == "cancelled"
    out = wait_for(lambda: (lambda c: c if c["status"] != "running" else None)(
        client.get(f"/api/v1/compare/{cid}").json()), 120, 0.2, "the comparison")
    assert out["status"] == "succeeded" and [x["size"] for x in out["summary"]] == [300, 300]
    assert set(out["ranking"]["300"]) == {"quick_sort", "heap_sort"}
    assert out["complexity"] == {}               # one size: nothing to fit
    assert client.get(f"/api/v1/jobs/{long['id']}").json()["status"] == "cancelled"
    assert client.get(f"/api/v1/jobs/{long['id']}/results").status_code == 409


def test_jobs_left_queued_are_run_by_the_next_process(embedded_stack):
    s = embedded_stack
    client = s.start_api(DPROF_EMBEDDED_THREADS="1")
    # still running when the API is killed, even on a fast machine
    long = client.post("/api/v1/jobs", json={"algorithm_name": "bubble_sort",
                                             "input_size": 5000, "iterations": 100}).json()
    waiting = client.post("/api/v1/jobs", json={"algorithm_name": "quick_sort",
                                                "input_size": 100}).json()
    s.wait_job(long["id"], ("running",))
    s.api.kill()                                  # SIGKILL: both jobs unfinished
    client = s.start_api()
    assert s.wait_job(waiting["id"])["status"] == "succeeded"
    assert s.wait_job(long["id"])["status"] == "succeeded"
