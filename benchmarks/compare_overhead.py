"""What profiling each run of ``dprof.compare`` adds to its measured runtime.

Every run of a comparison is recorded by the task recorder (``dprof.profile``), whose
start and stop readings fall inside the measured window. This measures that fixed
cost in one run of the script: for each repeat, a sort of 1,000 random ints timed
alone with perf_counter, then the same sort inside a profiled run (resources on, as
compare() does), alternating; it prints the medians, the overhead (profiled runtime
minus bare time) and the ratio.

    python benchmarks/compare_overhead.py [--repeats 400]
"""
from __future__ import annotations

import argparse
import statistics
import time

from dprof.algorithms import builtin, inputs
from dprof.session import ProfileRun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=400)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    data = inputs.generate("random", args.size, "int", seed=1)
    bare, profiled = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        builtin.sort("quick_sort", data)
        bare.append(time.perf_counter() - start)
        with ProfileRun("quick_sort", stage="dprof.compare", store=False) as run:
            builtin.sort("quick_sort", data)
        profiled.append(run.profile.runtime_seconds)
    b, p = statistics.median(bare), statistics.median(profiled)
    print(f"quick_sort of {args.size:,} ints, {args.repeats} alternating repeats")
    print(f"bare median      {b * 1e6:8.1f} us")
    print(f"profiled median  {p * 1e6:8.1f} us  (the runtime compare() records)")
    print(f"overhead         {(p - b) * 1e6:8.1f} us  ratio {p / b:.2f}")


if __name__ == "__main__":
    main()
