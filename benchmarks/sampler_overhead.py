"""How much a resource sampler slows a CPU-bound pure-Python workload.

    python benchmarks/sampler_overhead.py [--reps 11] [--target 0.5]

Configurations, run interleaved (each repetition runs every configuration once, in
a rotating order, so drift in machine load hits all of them alike):

- baseline: no sampler;
- native 10 ms and native 1 ms: ``dprof._native.Sampler`` (a C thread, no GIL);
- psutil 10 ms: ``dprof.resources.fallback.PsutilSampler``, a Python thread calling
  psutil, the approach of the Keystone seed.

The workload is single-threaded (an n-body simulation in the style of
pyperformance's nbody), so its wall time is the honest measure: it includes the
time the workload waits for the GIL held by a Python sampler. Process CPU time is
shown too (it includes the sampler's own CPU). Ratios are medians of the per-
repetition ratios against the baseline of the same repetition; the bracket is
their inter-quartile range, a confidence hint: a bracket that contains 1.000 means
the slowdown is not distinguishable from noise on this machine.

It also times one sample (``sample_once()``, including the Python call and the dict
it returns, so an upper bound on what the sampler thread spends per sample).
Targets: < 0.5 % at 10 ms, < 2 % at 1 ms, one native sample < 20 us.
"""
import argparse
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dprof.resources.fallback import PsutilSampler  # noqa: E402
from dprof.resources.profiler import native_unavailable_reason  # noqa: E402

# -- workload: n-body, pure Python ------------------------------------------------

PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24


def make_bodies():
    def body(x, y, z, vx, vy, vz, mass):
        return [[x, y, z], [vx * DAYS_PER_YEAR, vy * DAYS_PER_YEAR, vz * DAYS_PER_YEAR],
                mass * SOLAR_MASS]
    return [
        body(0, 0, 0, 0, 0, 0, 1.0),
        body(4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
             1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
             9.54791938424326609e-04),
        body(8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
             -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
             2.85885980666130812e-04),
        body(1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
             2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
             4.36624404335156298e-05),
        body(1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
             2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
             5.15138902046611451e-05),
    ]


def nbody(steps, dt=0.01):
    bodies = make_bodies()
    pairs = [(bodies[i], bodies[j]) for i in range(len(bodies)) for j in range(i + 1, len(bodies))]
    for _ in range(steps):
        for (p1, v1, m1), (p2, v2, m2) in pairs:
            dx, dy, dz = p1[0] - p2[0], p1[1] - p2[1], p1[2] - p2[2]
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** -1.5)
            b1, b2 = m1 * mag, m2 * mag
            v1[0] -= dx * b2
            v1[1] -= dy * b2
            v1[2] -= dz * b2
            v2[0] += dx * b1
            v2[1] += dy * b1
            v2[2] += dz * b1
        for p, v, _ in bodies:
            p[0] += dt * v[0]
            p[1] += dt * v[1]
            p[2] += dt * v[2]
    return bodies[0][0][0]


# -- configurations ---------------------------------------------------------------

def native_sampler(interval):
    from dprof import _native
    return _native.Sampler(pid=0, interval=interval, capacity=1 << 20)


def configurations():
    configs = [("baseline", None)]
    reason = native_unavailable_reason()
    if reason is None:
        configs += [("native 10 ms", lambda: native_sampler(0.01)),
                    ("native 1 ms", lambda: native_sampler(0.001))]
    configs.append(("psutil thread 10 ms", lambda: PsutilSampler(interval=0.01,
                                                                 capacity=1 << 20)))
    return configs, reason


def run_once(make_sampler, steps):
    sampler = make_sampler() if make_sampler else None
    if sampler is not None:
        sampler.start()
    w0, c0 = time.perf_counter(), time.process_time()
    nbody(steps)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    info = {}
    if sampler is not None:
        sampler.stop()
        info = sampler.info()
    return wall, cpu, info


def sample_cost_us(sampler, n=2000):
    sampler.sample_once()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            sampler.sample_once()
        times.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(times)


def quartiles(xs):
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    return q[0], statistics.median(xs), q[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=11, help="repetitions of every configuration")
    ap.add_argument("--target", type=float, default=0.5, help="seconds per workload run")
    args = ap.parse_args()

    t0 = time.perf_counter()
    nbody(2000)
    steps = max(1000, int(2000 * args.target / (time.perf_counter() - t0)))
    configs, reason = configurations()
    walls = {name: [] for name, _ in configs}
    cpus = {name: [] for name, _ in configs}
    infos = {name: [] for name, _ in configs}
    for rep in range(args.reps):
        k = rep % len(configs)
        for name, make in configs[k:] + configs[:k]:
            wall, cpu, info = run_once(make, steps)
            walls[name].append(wall)
            cpus[name].append(cpu)
            infos[name].append(info)

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}")
    print(f"workload: nbody, {steps} steps per run (~{args.target} s), "
          f"{args.reps} interleaved repetitions\n")
    print("| configuration | median wall s | wall ratio [IQR] | process CPU ratio [IQR] |")
    print("|---|---|---|---|")
    for name, _ in configs:
        wr = [w / b for w, b in zip(walls[name], walls["baseline"])]
        cr = [c / b for c, b in zip(cpus[name], cpus["baseline"])]
        wq, cq = quartiles(wr), quartiles(cr)
        noise = " (noise)" if wq[0] <= 1.0 <= wq[2] and name != "baseline" else ""
        print(f"| {name} | {statistics.median(walls[name]):.3f} | "
              f"{wq[1]:.4f} [{wq[0]:.4f}, {wq[2]:.4f}]{noise} | "
              f"{cq[1]:.4f} [{cq[0]:.4f}, {cq[2]:.4f}] |")
    if reason is not None:
        print(f"| native 10 ms / 1 ms | n/a | {reason} | |")

    print("\n| one sample (sample_once) | us |")
    print("|---|---|")
    if reason is None:
        print(f"| native | {sample_cost_us(native_sampler(0.01)):.1f} |")
    else:
        print(f"| native | n/a: {reason} |")
    print(f"| psutil | {sample_cost_us(PsutilSampler(interval=0.01), n=300):.1f} |")

    # The native engine times its own samples and its thread's CPU (info()).
    native = [name for name, _ in configs if name.startswith("native")]
    if native:
        print("\n| during the runs (native engine's own timing) | us per sample, wall "
              "| us per sample, sampler thread CPU |")
        print("|---|---|---|")
        for name in native:
            wall_us = statistics.median(i["sample_cost_ns_mean"] / 1e3 for i in infos[name])
            cpu_us = statistics.median(i["sampler_thread_cpu_s"] / max(1, i["taken"]) * 1e6
                                       for i in infos[name])
            print(f"| {name} | {wall_us:.1f} | {cpu_us:.1f} |")


if __name__ == "__main__":
    main()
