"""A small extract-transform-load pipeline whose tasks dprof profiles.

Run it under dprof (the README's quick start):

    dprof run examples/pipeline.py && dprof history

Each task's run is recorded by ``@profiler`` (reading env, stage and process_name
from the task object), and ``dprof run`` records the script as a whole.
"""
import json
import os
import random
import tempfile

from dprof import profiler


class Task:
    env = os.environ.get("PIPELINE_ENV", "dev")


class Extract(Task):
    stage = "extract"
    process_name = "extract_orders"

    @profiler
    def run(self, path, n=200_000):
        rng = random.Random(42)
        rows = [{"id": i, "amount": round(rng.uniform(1, 500), 2),
                 "region": rng.choice("NESW")} for i in range(n)]
        with open(path, "w") as f:
            json.dump(rows, f)
        return path


class Transform(Task):
    stage = "transform"
    process_name = "aggregate_orders"

    @profiler
    def run(self, path):
        with open(path) as f:
            rows = json.load(f)
        totals = {}
        for row in rows:
            totals[row["region"]] = totals.get(row["region"], 0.0) + row["amount"]
        return dict(sorted(totals.items()))


class Load(Task):
    stage = "load"
    process_name = "write_report"

    @profiler
    def run(self, totals, path):
        with open(path, "w") as f:
            for region, total in totals.items():
                f.write(f"{region},{total:.2f}\n")
            f.flush()
            os.fsync(f.fileno())
        return path


def main():
    with tempfile.TemporaryDirectory() as tmp:
        raw = Extract().run(os.path.join(tmp, "orders.json"))
        totals = Transform().run(raw)
        Load().run(totals, os.path.join(tmp, "report.csv"))
    print("totals by region:", {k: round(v) for k, v in totals.items()})


if __name__ == "__main__":
    main()
