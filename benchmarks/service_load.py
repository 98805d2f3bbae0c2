"""Load on the dprof service (Celery mode: Redis, PostgreSQL, real `dprof worker`s).

Measures, in one run, on throwaway servers started here (Debian's redis-server and
PostgreSQL, as the tests do):
  1. submissions/s and p50/p95 latency of POST /api/v1/jobs with 4, 8, 16 concurrent
     clients, one API process and two (`dprof serve --workers 2`), no worker running
     (only the API works), against GET /health from the same clients as the baseline
     (the HTTP stack plus one database and one Redis round trip);
  2. end-to-end latency from submission to stored result of a small quick_sort job
     (n=100), one job at a time with one idle worker: the job row's finished_at minus
     created_at (server clocks, no polling bias), and as the client sees it (polling);
  3. job throughput with one worker against two (concurrency 1 each), alternated,
     on a batch of quick_sort jobs (n=20000, 3 iterations).
Targets (docs/benchmarks.md): >= 200 submissions/s with p95 < 50 ms; end-to-end p95
< 500 ms. The load generator runs on the same machine as the API and the workers.

Run: PYTHONPATH=. python3 benchmarks/service_load.py [--clients 4,8,16] [--requests 1500]
(needs the service extra, redis-server and postgresql; about 5 minutes)
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("svc_conftest",
                                               ROOT / "tests" / "service" / "service_fixtures.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

SMALL = {"algorithm_name": "quick_sort", "input_size": 100}


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]


async def _request(reader, writer, raw: bytes) -> int:
    """One HTTP/1.1 request on a kept-alive connection; the response status."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def hammer(port, method, path, body, clients, total):
    """``total`` requests from ``clients`` kept-alive connections; (req/s, p50 ms,
    p95 ms). The client is a few lines of asyncio, not an HTTP library, so that it
    takes little of the CPU the API needs (httpx cost as much CPU per request as the
    API itself in a first version)."""
    payload = b"" if body is None else json.dumps(body).encode()
    raw = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
           ).encode() + payload
    lat = []
    issued = [0]

    async def one_client():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(5):                       # warm-up, not timed
            await _request(reader, writer, raw)
        await ready.wait()
        while issued[0] < total:
            issued[0] += 1
            t = time.perf_counter()
            status = await _request(reader, writer, raw)
            lat.append(time.perf_counter() - t)
            assert status in (200, 202), status
        writer.close()

    ready = asyncio.Event()
    tasks = [asyncio.create_task(one_client()) for _ in range(clients)]
    await asyncio.sleep(0.5)
    start = time.perf_counter()
    ready.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    return len(lat) / wall, pct(lat, 50) * 1000, pct(lat, 95) * 1000


def stack(tmp, redis, pg):
    db = next(fx._redis_db) % 64
    env = fx.service_env(tmp, DPROF_BROKER_URL=f"redis://127.0.0.1:{redis.port}/{db}",
                         DPROF_DATABASE_URL=pg.create_database(),
                         DPROF_HEARTBEAT_INTERVAL=0.5)
    return fx.Stack(tmp, env)


def iso_us(text):
    from datetime import datetime
    return datetime.fromisoformat(text).timestamp() * 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", default="4,8,16",
                    help="comma-separated numbers of concurrent clients (default 4,8,16)")
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--e2e-jobs", type=int, default=60)
    ap.add_argument("--batch", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    redis = fx.RedisServer()
    redis.start()
    pg = fx.PgServer(fx.repo_conftest._pg_bin_dir())
    pg.start()
    tmp_root = Path(tempfile.mkdtemp(prefix="dprof-svc-bench-"))
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
              f"(shared with other work)")
        # 1. the API alone, baseline and submissions alternated, 1 and 2 API processes
        counts = [int(c) for c in args.clients.split(",")]
        names = ("GET /health (baseline)", "POST /api/v1/jobs")
        rows = {(p, name, c): [] for p in (1, 2) for c in counts for name in names}
        for rnd in range(args.rounds):
            for procs in (1, 2):
                tmp = tmp_root / f"api-{rnd}-{procs}"
                tmp.mkdir()
                s = stack(tmp, redis, pg)
                s.start_api(processes=procs)
                time.sleep(1.0)        # every process up before the first timing
                for c in counts:
                    rows[(procs, names[0], c)].append(asyncio.run(
                        hammer(s.port, "GET", "/health", None, c, args.requests)))
                    rows[(procs, names[1], c)].append(asyncio.run(
                        hammer(s.port, "POST", "/api/v1/jobs", SMALL, c, args.requests)))
                s.close()
        print(f"\n1. API alone (no worker), {args.requests} requests per measurement, "
              f"{args.rounds} rounds alternated; median of rounds (spread min..max)")
        for procs in (1, 2):
            for c in counts:
                med = {}
                for name in names:
                    rs = rows[(procs, name, c)]
                    rate = statistics.median(r[0] for r in rs)
                    med[name] = rate
                    print(f"   {procs} API process{'es' if procs > 1 else '  '} {c:2d} clients  "
                          f"{name:24s} {rate:5.0f} req/s "
                          f"({min(r[0] for r in rs):.0f}..{max(r[0] for r in rs):.0f})  "
                          f"p50 {statistics.median(r[1] for r in rs):6.1f} ms  "
                          f"p95 {statistics.median(r[2] for r in rs):6.1f} ms "
                          f"({min(r[2] for r in rs):.1f}..{max(r[2] for r in rs):.1f})")
                print(f"   {procs} API process{'es' if procs > 1 else '  '} {c:2d} clients  "
                      f"submissions / baseline rate: {med[names[1]] / med[names[0]]:.2f}")

        # 2. end to end, one job at a time, one idle worker
        tmp = tmp_root / "e2e"
        tmp.mkdir()
        s = stack(tmp, redis, pg)
        client = s.start_api()
        s.start_worker("b1")
        s.wait_workers(1)
        for _ in range(5):       # warm the worker process
            s.wait_job(client.post("/api/v1/jobs", json=SMALL).json()["id"])
        server, seen = [], []
        for _ in range(args.e2e_jobs):
            t = time.perf_counter()
            job = client.post("/api/v1/jobs", json=SMALL).json()
            while True:
                j = client.get(f"/api/v1/jobs/{job['id']}").json()
                if j["status"] in ("succeeded", "failed"):
                    break
                time.sleep(0.002)
            seen.append(time.perf_counter() - t)
            assert j["status"] == "succeeded", j
            server.append((iso_us(j["finished_at"]) - iso_us(j["created_at"])) / 1e6)
        s.close()
        print(f"\n2. end to end, quick_sort n=100, {args.e2e_jobs} jobs one at a time")
        for name, v in (("submission -> stored (server)", server),
                        ("as the client polls", seen)):
            print(f"   {name:30s} p50 {pct(v, 50) * 1000:6.1f} ms  "
                  f"p95 {pct(v, 95) * 1000:6.1f} ms  max {max(v) * 1000:6.1f} ms")

        # 3. throughput, one worker against two, alternated
        job = {"algorithm_name": "quick_sort", "input_size": 20000, "iterations": 3}
        results = {1: [], 2: []}
        for rnd in range(args.rounds):
            for n in (1, 2):
                tmp = tmp_root / f"tp-{rnd}-{n}"
                tmp.mkdir()
                s = stack(tmp, redis, pg)
                client = s.start_api()
                for i in range(n):
                    s.start_worker(f"t{i}")
                s.wait_workers(n)
                ids = [client.post("/api/v1/jobs", json=job).json()["id"]
                       for _ in range(args.batch)]
                done = [s.wait_job(i, timeout=600) for i in ids]
                start = min(iso_us(d["created_at"]) for d in done)
                end = max(iso_us(d["finished_at"]) for d in done)
                results[n].append(args.batch / ((end - start) / 1e6))
                s.close()
        print(f"\n3. throughput, batch of {args.batch} quick_sort n=20000 x3 jobs, "
              f"{args.rounds} rounds alternated")
        for n in (1, 2):
            print(f"   {n} worker{'s' if n > 1 else ' '}  {statistics.median(results[n]):6.1f} "
                  f"jobs/s ({min(results[n]):.1f}..{max(results[n]):.1f})")
        print(f"   two / one: {statistics.median(results[2]) / statistics.median(results[1]):.2f}")
    finally:
        redis.close()
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
