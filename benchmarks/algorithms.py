"""Speed of dprof's native sort engines against their baselines, in one run.

Three sections, every configuration of a section timed in rotating order in each
round (so that all see the same machine load), medians and spreads reported:

  list:   10^6 random ints in a Python list: list.sort() against the C
          quick_sort (median pivot) and merge_sort through sort_list()
          (target: C at least as fast, ratio >= 1);
  numpy:  a NumPy int64 array of 10^6: numpy.sort (in place, its default kind)
          against the C sorts through sort_buffer() (target: within 1.5x);
  twins:  every C algorithm (sort_list on a list of ints) against its pure-Python
          twin of tests/algorithms/twins.py, at a size suited to its growth
          (target: >= 20x).

Each timed call sorts a fresh copy made outside the timed region. Ratios are given
of the medians (the headline figure) and of the minimums (least disturbed by other
load on the machine).

    python benchmarks/algorithms.py [--n 1000000] [--rounds 7] [--twin-rounds 5]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "algorithms"))
from dprof import _native  # noqa: E402
import twins  # noqa: E402  (the pure-Python twins live with the tests)

# Sizes at which each twin takes a few tenths of a second, and the C call some
# milliseconds (long enough that a time slice lost to another process does not
# dominate it).
TWIN_SIZES = {
    "bubble_sort": 1500, "insertion_sort": 1500, "selection_sort": 1500,
    "quick_sort": 50000, "merge_sort": 50000, "merge_sort_bottom_up": 50000,
    "heap_sort": 50000, "counting_sort": 200000, "radix_sort": 100000,
}


def timed_rounds(configs, make_input, rounds):
    """configs: {name: fn(data)}. Returns {name: [seconds per round]}."""
    names = list(configs)
    times = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            data = make_input()
            t0 = time.perf_counter()
            configs[name](data)
            times[name].append(time.perf_counter() - t0)
    return times


def spread(ts):
    return f"[{min(ts) * 1e3:.1f} .. {max(ts) * 1e3:.1f}]"


def report(title, times, baseline, target_text, ratio_of):
    """Prints medians, spreads, and two ratios to the baseline: of the medians
    (the headline figure) and of the minimums (the least disturbed by load)."""
    print(f"\n{title}")
    base, base_min = statistics.median(times[baseline]), min(times[baseline])
    print(f"  {'configuration':<30} {'median ms':>10} {'min .. max ms':>20}"
          f"  {'ratio':>7} {'of mins':>8}")
    for name, ts in times.items():
        med = statistics.median(ts)
        ratios = ("" if name == baseline else
                  f"{ratio_of(base, med):6.2f}x {ratio_of(base_min, min(ts)):7.2f}x")
        print(f"  {name:<30} {med * 1e3:10.1f} {spread(ts):>20}  {ratios}")
    print(f"  ratio: {target_text}")


def section_list(n, rounds):
    rng = random.Random(20240601)
    data = [rng.randint(-2**31, 2**31) for _ in range(n)]
    configs = {
        "list.sort()": lambda x: x.sort(),
        "C quick_sort (median)": lambda x: _native.sort_list("quick_sort", x),
        "C merge_sort": lambda x: _native.sort_list("merge_sort", x),
        "C merge_sort_bottom_up": lambda x: _native.sort_list("merge_sort_bottom_up", x),
        "C radix_sort": lambda x: _native.sort_list("radix_sort", x),
    }
    times = timed_rounds(configs, lambda: list(data), rounds)
    report(f"10^{len(str(n)) - 1} random ints in a list ({n}), {rounds} rounds", times,
           "list.sort()", "list.sort() time / C time (target >= 1 for quick and merge)",
           lambda base, med: base / med)
    return times


def section_numpy(n, rounds):
    data = np.random.default_rng(20240601).integers(-2**62, 2**62, size=n, dtype=np.int64)
    configs = {
        "numpy.sort (ndarray.sort)": lambda x: x.sort(),
        "C quick_sort (median)": lambda x: _native.sort_buffer("quick_sort", x),
        "C merge_sort": lambda x: _native.sort_buffer("merge_sort", x),
        "C merge_sort_bottom_up": lambda x: _native.sort_buffer("merge_sort_bottom_up", x),
        "C heap_sort": lambda x: _native.sort_buffer("heap_sort", x),
        "C radix_sort": lambda x: _native.sort_buffer("radix_sort", x),
    }
    times = timed_rounds(configs, data.copy, rounds)
    report(f"NumPy int64 array of {n}, {rounds} rounds", times, "numpy.sort (ndarray.sort)",
           "C time / numpy time (target <= 1.5)", lambda base, med: med / base)
    return times


C_CALLS_PER_ROUND = 5   # the C call is ~100x shorter: timed several times per round


def section_twins(rounds):
    print(f"\nC engine (sort_list) against its pure-Python twin: {rounds} rounds, each "
          f"the twin once and C {C_CALLS_PER_ROUND} times")
    print(f"  {'algorithm':<22} {'n':>6} {'twin median ms':>15} {'C median ms':>12} "
          f"{'C min .. max ms':>18}  {'speed-up':>8} {'of mins':>8}")
    results = {}
    for algorithm, n in TWIN_SIZES.items():
        rng = random.Random(n)
        if algorithm == "counting_sort":
            data = [rng.randint(-n, n) for _ in range(n)]
        else:
            data = [rng.randint(-2**31, 2**31) for _ in range(n)]
        twin = twins.TWINS[algorithm]
        configs = {"twin": twin}
        for k in range(C_CALLS_PER_ROUND):
            configs[f"C{k}"] = lambda x, a=algorithm: _native.sort_list(a, x)
        times = timed_rounds(configs, lambda: list(data), rounds)
        c_times = [t for name, ts in times.items() if name != "twin" for t in ts]
        tw, c = statistics.median(times["twin"]), statistics.median(c_times)
        best = min(times["twin"]) / min(c_times)
        results[algorithm] = tw / c
        print(f"  {algorithm:<22} {n:>6} {tw * 1e3:15.1f} {c * 1e3:12.3f} "
              f"{spread(c_times):>18}  {tw / c:7.0f}x {best:7.0f}x")
    worst = min(results, key=results.get)
    print(f"  smallest speed-up (of medians): {worst} {results[worst]:.0f}x (target >= 20x)")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--twin-rounds", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"Python {sys.version.split()[0]}, NumPy {np.__version__}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:                                   # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    print(f"NumPy sees AVX512F: {features.get('AVX512F')}, "
          f"AVX512_SKX: {features.get('AVX512_SKX')} (its SIMD sort needs these)")
    section_list(args.n, args.rounds)
    section_numpy(args.n, args.rounds)
    section_twins(args.twin_rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
