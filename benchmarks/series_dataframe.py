"""Cost of turning a run's samples into a DataFrame and of series statistics.

    python benchmarks/series_dataframe.py [--samples 1000000]

Builds a `ResourceSeries` with every sampler column (float64), then times
``to_dataframe()`` and ``stats()`` (p50/p90/p95/p99 through
``_native.series_stats``' introselect) against ``numpy.percentile`` on the same
array, measured in the same run. Prints a markdown table.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dprof import _native  # noqa: E402
from dprof.resources import ResourceSeries  # noqa: E402
from dprof.resources.columns import COLUMN_NAMES  # noqa: E402


def best_of(fn, reps=5):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1_000_000)
    n = ap.parse_args().samples
    rng = np.random.default_rng(0)
    cols = {name: rng.random(n) for name in COLUMN_NAMES}
    cols["timestamp"] = np.arange(n) * 0.01
    t_series = best_of(lambda: ResourceSeries(cols), reps=3)
    series = ResourceSeries(cols)
    t_df = best_of(series.to_dataframe, reps=3)
    x = series["rss_bytes"]
    qs = (50, 90, 95, 99)
    t_native = best_of(lambda: _native.series_stats(x, percentiles=qs))
    t_numpy = best_of(lambda: (np.percentile(x, qs), x.mean(), x.std(ddof=1), x.min(), x.max()))
    print(f"{n} samples x {len(COLUMN_NAMES)} columns\n")
    print("| operation | seconds | note |")
    print("|---|---|---|")
    print(f"| ResourceSeries(columns) (copies) | {t_series:.3f} | |")
    print(f"| to_dataframe() | {t_df:.3f} | |")
    print(f"| series_stats (4 percentiles + summary) | {t_native:.4f} | "
          f"{t_numpy / t_native:.2f}x numpy (percentile + mean/std/min/max) |")


if __name__ == "__main__":
    main()
