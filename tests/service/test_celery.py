"""The Celery mode against real servers: Redis, PostgreSQL, `dprof serve`, `dprof worker`."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from service_fixtures import free_port, log_lines, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _profiles_of(url: str):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(
                "SELECT id, host, tags, stage, parameters FROM profiles")).mappings()]
    finally:
        engine.dispose()


def test_http_submission_to_a_profile_in_postgresql(celery_stack):
    s = celery_stack
    client = s.start_api()
    metrics_port = free_port()
    s.start_worker("w1", metrics_port=metrics_port)
    s.wait_workers(1)
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["mode"] == "celery"
    assert all(health["checks"][k]["latency_ms"] >= 0 for k in ("database", "broker", "workers"))

    r = client.post("/api/v1/jobs", json={"algorithm_name": "quick_sort", "input_size": 500,
                                          "iterations": 2, "seed": 7,
                                          "parameters": {"pivot_strategy": "first"}},
                    headers={"X-Correlation-ID": "corr-e2e-1"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["X-Correlation-ID"] == "corr-e2e-1" and job["status"] == "queued"
    done = s.wait_job(job["id"])
    assert done["status"] == "succeeded", done
    assert done["worker"] == "w1@test" and done["attempts"] == 1

    # the result is a stored Profile in PostgreSQL, tagged with job id and worker
    from dprof.repo import ProfileRepo
    repo = ProfileRepo(s.env["DPROF_DATABASE_URL"])
    profile = repo.get(job["id"])
    assert profile is not None and profile.stage == "dprof.service"
    assert profile.tags == {"dprof.job": job["id"], "dprof.worker": "w1@test"}
    assert profile.host == done["worker_host"]
    iters = profile.parameters["iterations"]
    assert [i["iteration"] for i in iters] == [0, 1]
    assert all(i["counts"]["comparisons"] > 0 for i in iters)
    repo.close()

    # `dprof history` sees it like any profile
    out = subprocess.run([sys.executable, "-m", "dprof", "--db", s.env["DPROF_DATABASE_URL"],
                          "history", "--stage", "dprof.service"], capture_output=True,
                         text=True, env=s.env, timeout=120, cwd=s.tmp)
    assert out.returncode == 0 and "quick_sort" in out.stdout, out.stderr

    results = client.get(f"/api/v1/jobs/{job['id']}/results").json()
    assert results["profile"]["id"] == job["id"]
    assert results["profile"]["runtime_seconds"] > 0
    res = results["resources"]      # a short job may end before the first sample
    assert isinstance(res["samples"], int) and set(res) == {"samples", "columns", "missing"}
    assert results["profile"]["memory_usage_peak_mb"] > 0
    assert results["result"]["runs"] == 2

    # the correlation id follows the request into the worker's log lines
    worker_lines = [l for l in log_lines(s.workers["w1@test"].log())
                    if l.get("job_id") == job["id"]]
    assert worker_lines and all(l["correlation_id"] == "corr-e2e-1" for l in worker_lines)
    assert any(l["message"] == "job succeeded" for l in worker_lines)
    api_lines = [l for l in log_lines(s.api.log()) if l.get("correlation_id") == "corr-e2e-1"]
    assert any(l["message"] == "job created" for l in api_lines)

    # metrics: the API counts creations and the cluster's jobs; the worker its runs
    text = client.get("/metrics").text
    assert 'dprof_jobs_created_total{algorithm="quick_sort"} 1.0' in text
    assert 'dprof_jobs{algorithm="quick_sort",status="succeeded"} 1.0' in text
    assert "dprof_queue_depth 0.0" in text and "dprof_workers_live 1.0" in text
    assert "dprof_http_request_duration_seconds_bucket" in text
    import httpx
    wtext = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    assert 'dprof_jobs_completed_total{algorithm="quick_sort"} 1.0' in wtext
    assert 'dprof_job_duration_seconds_count{algorithm="quick_sort"} 1.0' in wtext


def test_compare_fans_out_over_two_workers_on_identical_inputs(celery_stack):
    s = celery_stack
    client = s.start_api()
    s.start_worker("w1")
    s.start_worker("w2")
    s.wait_workers(2)
    algos = ["quick_sort", "merge_sort", "heap_sort", "insertion_sort"]
    r = client.post("/api/v1/compare?iterations=2",
                    json={"algorithms": algos, "sizes": [200, 400, 800], "seed": 3})
    assert r.status_code == 202, r.text
    cid = r.json()["comparison_id"]
    assert len(r.json()["jobs"]) == 12
    out = wait_for(lambda: (lambda c: c if c["status"] != "running" else None)(
        client.get(f"/api/v1/compare/{cid}").json()), 180, 0.25, "the comparison")
    assert out["status"] == "succeeded", out
    assert out["workers"] == ["w1@test", "w2@test"]      # both took part
    assert {e["algorithm"] for e in out["summary"]} == set(algos)
    assert set(out["complexity"]) == set(algos)
    # fitted to the exact comparison counts (runtimes on a loaded machine are noisy)
    assert out["complexity"]["insertion_sort"]["comparisons"]["best"] == "O(n^2)"
    assert all(out["complexity"][a]["runtime"]["best"] for a in algos)
    # identical inputs: the same input seeds for every algorithm at a size
    seeds = {}
    for p in _profiles_of(s.env["DPROF_DATABASE_URL"]):
        params = json.loads(p["parameters"])
        assert json.loads(p["tags"])["dprof.comparison"] == cid
        seeds.setdefault(params["input_size"], {})[params["algorithm_name"]] = \
            [i["input_seed"] for i in params["iterations"]]
    for size, by_algo in seeds.items():
        assert len({tuple(v) for v in by_algo.values()}) == 1, (size, by_algo)


def test_sigkilled_worker_loses_no_job_and_the_result_is_stored_once(celery_stack):
    s = celery_stack
    client = s.start_api()
    s.start_worker("w1")
    s.start_worker("w2")
    s.wait_workers(2)
    # seconds of work even on a fast, idle machine: long enough to be killed in the
    # middle (2,000 x 40 was ~3 s on a loaded machine but a fraction of one on an idle one)
    job = client.post("/api/v1/jobs", json={"algorithm_name": "bubble_sort",
                                            "input_size": 5000, "iterations": 100}).json()
    running = s.wait_job(job["id"], ("running",), timeout=60)
    victim = running["worker"]
    s.workers[victim].kill()                          # SIGKILL, worker and its children
    done = s.wait_job(job["id"], timeout=120)
    assert done["status"] == "succeeded", done
    assert done["worker"] != victim and done["attempts"] >= 2
    stored = _profiles_of(s.env["DPROF_DATABASE_URL"])
    assert [p["id"] for p in stored] == [job["id"]]     # once
    assert json.loads(stored[0]["tags"])["dprof.worker"] == done["worker"]


def test_broker_outage_is_reported_and_the_service_recovers(celery_stack):
    s = celery_stack
    client = s.start_api()
    s.start_worker("w1")
    s.wait_workers(1)
    s.redis.stop()
    try:
        h = client.get("/health")
        assert h.status_code == 503 and h.json()["down"] == ["broker"]
        assert h.json()["checks"]["database"]["status"] == "up"
        r = client.post("/api/v1/jobs", json={"algorithm_name": "quick_sort",
                                              "input_size": 100})
        assert r.status_code == 503 and "broker unavailable" in r.json()["detail"]
        assert r.json()["errors"][0]["field"] == "broker"
        assert client.get("/api/v1/jobs").json()["total"] == 0   # no half-made job
    finally:
        s.redis.start()
    wait_for(lambda: client.get("/health").json()["status"] == "ok", 90,
             what="health to recover")
    r = client.post("/api/v1/jobs", json={"algorithm_name": "quick_sort", "input_size": 100})
    assert r.status_code == 202
    assert s.wait_job(r.json()["id"])["status"] == "succeeded"


def test_database_outage_is_reported_and_the_service_recovers(celery_stack):
    s = celery_stack
    client = s.start_api()
    s.start_worker("w1")
    s.wait_workers(1)
    s.pg.pause()
    try:
        h = client.get("/health")
        assert h.status_code == 503 and h.json()["down"] == ["database"]
        assert h.json()["checks"]["broker"]["status"] == "up"
        r = client.post("/api/v1/jobs", json={"algorithm_name": "quick_sort",
                                              "input_size": 100})
        assert r.status_code == 503 and "database unavailable" in r.json()["detail"]
        assert client.get("/api/v1/jobs").status_code == 503
    finally:
        s.pg.resume()
    wait_for(lambda: client.get("/health").status_code == 200, 90, what="health to recover")
    r = client.post("/api/v1/jobs", json={"algorithm_name": "quick_sort", "input_size": 100})
    assert r.status_code == 202
    assert s.wait_job(r.json()["id"])["status"] == "succeeded"


def test_time_limits_stop_runaway_jobs_and_mark_them_failed(celery_stack):
    s = celery_stack
    env = {"DPROF_JOB_SOFT_TIME_LIMIT": "1", "DPROF_JOB_TIME_LIMIT": "2",
           "DPROF_MAX_PREDICTED_SECONDS": "100000"}
    client = s.start_api(**env)
    s.start_worker("w1", **env)
    s.wait_workers(1)
    # many short iterations: the soft limit raises between two of them (200 bubble
    # sorts of 5,000 take several seconds on a fast, idle machine; 2,000 took under 1 s)
    soft = client.post("/api/v1/jobs", json={"algorithm_name": "bubble_sort",
                                             "input_size": 5000, "iterations": 200}).json()
    # one long call into C: only the hard limit (killing the process) stops it
    hard = client.post("/api/v1/jobs", json={"algorithm_name": "bubble_sort",
                                             "input_size": 150000}).json()
    a = s.wait_job(soft["id"], timeout=120)
    b = s.wait_job(hard["id"], timeout=120)
    assert a["status"] == "failed" and "soft time limit of 1 s" in a["error"], a
    assert b["status"] == "failed" and "hard time limit of 2 s" in b["error"], b
    assert _profiles_of(s.env["DPROF_DATABASE_URL"]) == []
    # the worker replaced its killed process and still runs jobs
    ok = client.post("/api/v1/jobs", json={"algorithm_name": "quick_sort", "input_size": 50})
    assert s.wait_job(ok.json()["id"])["status"] == "succeeded"


def test_cancel_a_queued_and_a_running_job(celery_stack):
    s = celery_stack
    client = s.start_api()
    s.start_worker("w1")
    s.wait_workers(1)
    # seconds of work even on a fast machine, so it is still running when cancelled
    long = client.post("/api/v1/jobs", json={"algorithm_name": "bubble_sort",
                                             "input_size": 5000, "iterations": 100}).json()
    queued = client.post("/api/v1/jobs", json={"algorithm_name": "quick_sort",
                                               "input_size": 100}).json()
    s.wait_job(long["id"], ("running",), timeout=60)
    r = client.delete(f"/api/v1/jobs/{queued['id']}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = client.delete(f"/api/v1/jobs/{long['id']}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.delete(f"/api/v1/jobs/{long['id']}").status_code == 409
    after = client.post("/api/v1/jobs", json={"algorithm_name": "quick_sort",
                                              "input_size": 100}).json()
    assert s.wait_job(after["id"], timeout=90)["status"] == "succeeded"
    assert client.get(f"/api/v1/jobs/{long['id']}").json()["status"] == "cancelled"
    assert client.get(f"/api/v1/jobs/{queued['id']}").json()["status"] == "cancelled"
    assert [p["id"] for p in _profiles_of(s.env["DPROF_DATABASE_URL"])] == [after["id"]]


def test_metrics_add_up_over_several_api_processes(celery_stack):
    s = celery_stack
    client = s.start_api(processes=2)
    for _ in range(12):
        r = client.post("/api/v1/jobs", json={"algorithm_name": "heap_sort",
                                              "input_size": 10})
        assert r.status_code == 202
    # whichever process answers the scrape, it reports what all of them counted
    for _ in range(4):
        text = httpx_get(client, "/metrics")
        assert 'dprof_jobs_created_total{algorithm="heap_sort"} 12.0' in text
        assert 'dprof_jobs{algorithm="heap_sort",status="queued"} 12.0' in text
        assert "dprof_queue_depth 12.0" in text


def httpx_get(client, path):
    import httpx
    # a new connection each time, so that both processes get to answer
    return httpx.get(str(client.base_url) + path, timeout=30,
                     headers={"Connection": "close"}).text


def test_beat_submits_scheduled_comparisons_that_workers_run(celery_stack):
    s = celery_stack
    schedule = json.dumps([{"algorithms": ["quick_sort", "heap_sort"], "sizes": [100],
                            "iterations": 1, "every_seconds": 1}])
    client = s.start_api()
    s.start_worker("w1", DPROF_SCHEDULED_COMPARISONS=schedule)
    beat = s.start_beat(DPROF_SCHEDULED_COMPARISONS=schedule)
    s.wait_workers(1)
    done = wait_for(lambda: client.get("/api/v1/jobs", params={"status": "succeeded"})
                    .json()["total"] >= 2, 120, 0.5, "scheduled comparison jobs")
    assert done
    rows = client.get("/api/v1/jobs").json()["items"]
    assert {r["algorithm_name"] for r in rows} == {"quick_sort", "heap_sort"}
    assert all(r["comparison_id"] for r in rows)
    assert beat.proc.poll() is None, beat.log()
