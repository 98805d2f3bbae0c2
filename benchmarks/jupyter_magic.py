"""What ``%%dprof`` adds to a notebook cell, measured in a real IPython kernel.

One kernel (jupyter_client) runs the same CPU-bound cell (a Python loop of about
0.2 s) in three forms, rotating their order every round: plain; under
``%%dprof --no-store -q`` (recording only: resources, stacks at 100 Hz); and under
``%%dprof --no-store`` (recording plus building the displayed HTML: summary, hotspots,
the flamegraph page). Each is timed by the kernel itself (perf_counter around
``run_cell``), so message round trips are not counted. Prints medians, spreads, the
added milliseconds and the ratios against the plain cell of the same run.

    python benchmarks/jupyter_magic.py [--rounds 15]
"""
from __future__ import annotations

import argparse
import ast
import os
import statistics
import sys
import tempfile

from jupyter_client import KernelManager

WORK = ("total = 0\n"
        "for i in range(1_500_000):\n"
        "    total += i % 7\n")
FORMS = {"plain": WORK,
         "%%dprof -q (record)": "%%dprof --no-store -q\n" + WORK,
         "%%dprof (record + display)": "%%dprof --no-store\n" + WORK}


def timed(client, cell: str) -> float:
    code = ("import time as _t\n_s = _t.perf_counter()\n"
            f"get_ipython().run_cell({cell!r}, silent=False)\n"
            "print(repr(_t.perf_counter() - _s))")
    msg_id = client.execute(code)
    out = ""
    while True:
        msg = client.get_iopub_msg(timeout=300)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out += msg["content"]["text"]
        if msg["msg_type"] == "error":
            raise RuntimeError(msg["content"]["evalue"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return ast.literal_eval(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    env = dict(os.environ, DPROF_DATABASE_URL="sqlite:///" + os.path.join(
        tempfile.mkdtemp(), "bench.db"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env)
    client = km.client()
    client.start_channels()
    client.wait_for_ready(timeout=120)
    try:
        timed(client, "%load_ext dprof")
        for cell in FORMS.values():          # warm-up: imports, first HTML build
            timed(client, cell)
        times = {name: [] for name in FORMS}
        names = list(FORMS)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                times[name].append(timed(client, FORMS[name]))
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
    base = statistics.median(times["plain"])
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds, order rotated")
    print(f"{'form':<28}{'median s':>10}{'min s':>9}{'max s':>9}{'added ms':>10}{'ratio':>8}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<28}{med:>10.4f}{min(values):>9.4f}{max(values):>9.4f}"
              f"{(med - base) * 1000:>10.1f}{med / base:>8.3f}")


if __name__ == "__main__":
    main()
