"""Cost of one resource sample: the native sampler against psutil, same run.

Prints microseconds per sample for
  - the native thread at 1 ms, as timed by the thread itself, split into "fast"
    samples (/proc/PID/{stat,statm,io}) and full ones (every file, every 10 ms);
  - Sampler.sample_once() (a full sample plus building a dict), CPU time;
  - psutil reading the same process values (baseline),
and the ratios to the baseline. Run: PYTHONPATH=. python3 benchmarks/bench_sampler_cost.py
"""
import time

import psutil

from dprof import _native


def thread_cost(interval, seconds=1.0):
    s = _native.Sampler(interval=interval)
    s.start()
    time.sleep(seconds)
    s.stop()
    info = s.info()
    return (info["fast_sample_cost_ns_mean"] or float("nan")) / 1e3, info["full_sample_cost_ns_mean"] / 1e3


def per_call_cpu_us(fn, n=3000):
    fn()
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def psutil_sample(proc=psutil.Process()):
    with proc.oneshot():
        proc.cpu_times()
        proc.memory_info()
        proc.io_counters()
        proc.num_ctx_switches()
        proc.num_threads()
    psutil.virtual_memory()
    psutil.cpu_times()
    psutil.net_io_counters()


def main():
    baseline = per_call_cpu_us(psutil_sample)
    once = per_call_cpu_us(_native.Sampler().sample_once)
    fast, full = thread_cost(0.001)
    print(f"psutil equivalent sample (baseline): {baseline:8.1f} us CPU")
    print(f"Sampler.sample_once() full + dict:   {once:8.1f} us CPU  ratio {once / baseline:.2f}")
    print(f"thread, fast sample (self-timed):    {fast:8.1f} us wall ratio {fast / baseline:.2f}")
    print(f"thread, full sample (self-timed):    {full:8.1f} us wall ratio {full / baseline:.2f}")


if __name__ == "__main__":
    main()
