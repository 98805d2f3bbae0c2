"""How long ProfileRepo.get_all() takes for 100,000 stored profiles (SQLite file).

Prints the time of get_all() and, as a baseline measured in the same run on the same
file, the time of the bare driver fetching the same rows (sqlite3 ``fetchall``): the
ratio is what building typed columns and the DataFrame costs on top of reading.

    python3 benchmarks/repo_load.py [N]
"""
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dprof.record import Profile
from dprof.repo import ProfileRepo


def make_profiles(n, seed=1):
    rng = random.Random(seed)
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        start = t0 + timedelta(seconds=i)
        runtime = rng.uniform(0.01, 5.0)
        failed = rng.random() < 0.05
        out.append(Profile(
            process_name=f"task_{i % 50}", stage=f"stage_{i % 5}", env=("dev", "prod")[i % 2],
            task_start_time=start, task_end_time=start + timedelta(seconds=runtime),
            runtime_seconds=runtime, cpu_cores=4.0, cpu_user_utilization=rng.random() / 2,
            cpu_system_utilization=rng.random() / 10, memory_usage_peak_mb=rng.uniform(20, 900),
            memory_allocations=rng.randrange(10**6), file_read_bytes=rng.randrange(10**9),
            file_write_bytes=rng.randrange(10**9), io_wait_time_seconds=rng.random(),
            network_data_sent_bytes=None, network_data_received_bytes=None,
            missing={"network_data_sent_bytes": "no per-process counters",
                     "network_data_received_bytes": "no per-process counters"},
            exceptions_raised=int(failed), status="failed" if failed else "ok",
            exception_type="ValueError" if failed else None,
            parameters={"n": i}, tags={"run": str(i % 7)}))
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profiles.db"
        repo = ProfileRepo(path, spool_dir=tmp)
        profiles = make_profiles(n)
        t = time.perf_counter()
        for i in range(0, n, 10_000):
            repo.add_many(profiles[i:i + 10_000])
        insert_s = time.perf_counter() - t
        del profiles

        # Best of 5, wall and CPU time: on a shared machine the CPU time of this
        # process is the better estimate of what an idle machine would take.
        best_raw = best_load = best_raw_cpu = best_load_cpu = float("inf")
        for _ in range(5):
            conn = sqlite3.connect(str(path))
            t, c = time.perf_counter(), time.process_time()
            rows = conn.execute("SELECT * FROM profiles").fetchall()
            best_raw = min(best_raw, time.perf_counter() - t)
            best_raw_cpu = min(best_raw_cpu, time.process_time() - c)
            conn.close()
            del rows
            t, c = time.perf_counter(), time.process_time()
            df = repo.get_all()
            best_load = min(best_load, time.perf_counter() - t)
            best_load_cpu = min(best_load_cpu, time.process_time() - c)
        assert len(df) == n, (len(df), n)
        repo.close()
    print(f"profiles:                 {n}")
    print(f"add_many (10k batches):   {insert_s:.2f} s  ({n / insert_s:,.0f} profiles/s)")
    print(f"baseline sqlite3 fetchall {best_raw:.3f} s wall, {best_raw_cpu:.3f} s CPU")
    print(f"get_all() -> DataFrame    {best_load:.3f} s wall, {best_load_cpu:.3f} s CPU  "
          f"(x{best_load_cpu / best_raw_cpu:.2f} the baseline's CPU time)")


if __name__ == "__main__":
    main()
