"""Cost of counting exceptions (Python 3.12+): what one RAISE event costs with
dprof's native callback, against no callback and a Python callback, in one run.

Two workloads, each timed per iteration (best of several rounds, rounds of the
three cases interleaved so that they see the same machine load):
  catch_here: ``try: {}[i] except KeyError: pass``, one event per iteration;
  three_deep: an exception raised two calls down and caught, three events.

    python benchmarks/raise_counter.py [--iterations 200000] [--rounds 7]

On 3.9 to 3.11 there is no RAISE event and nothing to measure: it says so.
"""
from __future__ import annotations

import argparse
import sys
import time


def catch_here(n):
    d = {}
    for i in range(n):
        try:
            d[i]
        except KeyError:
            pass


def _raise():
    raise ValueError


def _middle():
    _raise()


def three_deep(n):
    for _ in range(n):
        try:
            _middle()
        except ValueError:
            pass


def python_callback(code, offset, exc):
    tb = exc.__traceback__
    if tb is None or tb.tb_next is None:
        python_callback.count += 1


python_callback.count = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not hasattr(sys, "monitoring"):
        print(f"sys.monitoring needs Python 3.12+; this is {sys.version.split()[0]}: "
              "dprof counts only escaped exceptions here, at no cost")
        return 0
    from dprof import _native

    monitoring = sys.monitoring
    tool = next((i for i in (3, 4) if monitoring.get_tool(i) is None), None)
    if tool is None:
        print("no free sys.monitoring tool id")
        return 1
    monitoring.use_tool_id(tool, "dprof-bench")
    cases = {"no callback": None, "dprof (C)": _native.count_raise,
             "Python callback": python_callback}
    print(f"Python {sys.version.split()[0]}, {args.iterations} iterations, "
          f"best of {args.rounds} rounds; ns per iteration (ratio to no callback)")
    try:
        for workload, events in ((catch_here, 1), (three_deep, 3)):
            best = dict.fromkeys(cases, float("inf"))
            for _ in range(args.rounds):
                for name, callback in cases.items():
                    monitoring.register_callback(tool, monitoring.events.RAISE, callback)
                    monitoring.set_events(tool, monitoring.events.RAISE if callback else 0)
                    t0 = time.perf_counter()
                    workload(args.iterations)
                    elapsed = time.perf_counter() - t0
                    monitoring.set_events(tool, 0)
                    best[name] = min(best[name], elapsed / args.iterations * 1e9)
            base = best["no callback"]
            cells = "  ".join(f"{name}: {ns:6.0f} ns ({ns / base:4.2f})"
                              for name, ns in best.items())
            per_event = (best["dprof (C)"] - base) / events
            print(f"{workload.__name__:<11} {events} event(s)  {cells}  "
                  f"dprof per event: {per_event:.0f} ns")
    finally:
        monitoring.register_callback(tool, monitoring.events.RAISE, None)
        monitoring.free_tool_id(tool)
    return 0


if __name__ == "__main__":
    sys.exit(main())
