"""``dprof bench``: stored benchmark runs outside pytest.

    dprof bench list                     the stored runs, oldest first
    dprof bench compare A B              B against A (run names or id prefixes)
    dprof bench compare A B --fail mean:5%   exit 1 when the gate fails, as in pytest

The runs are those the pytest plugin stored (``--dprof-save`` / ``--dprof-autosave``);
comparing uses the plugin's gate and report, so the verdicts are the same.
"""
from __future__ import annotations

import argparse
import json
import sys

from dprof.cli.errors import CliError
from dprof.cli.output import print_table


def add_parsers(verbs) -> None:
    p = verbs.add_parser("bench", help="stored benchmark runs (from the pytest plugin)",
                         description=__doc__.split("\n\n", 1)[1].split("\n\nThe runs")[0],
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="bench_verb", metavar="ACTION")
    sub.required = True
    q = sub.add_parser("list", help="list stored benchmark runs",
                       description="List the stored benchmark runs, oldest first.")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.set_defaults(handler=cmd_list)
    q = sub.add_parser("compare", help="compare two stored benchmark runs",
                       description="Compare run B with run A (the baseline): per benchmark "
                                   "the change of the mean (and of each --fail metric), "
                                   "its 95% bootstrap interval and whether it is "
                                   "significant (Mann-Whitney U on the rounds).")
    q.add_argument("a", metavar="A", help="baseline run: name or run id prefix")
    q.add_argument("b", metavar="B", help="run to compare with it")
    q.add_argument("--fail", metavar="METRIC:PCT%", action="append", default=[],
                   help="exit 1 when METRIC (mean, median, min, peak_memory, "
                        "allocations) grew by more than PCT%% significantly; repeatable")
    q.add_argument("--alpha", type=float, default=0.01,
                   help="significance level (default 0.01)")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.set_defaults(handler=cmd_compare)


def _repo(args):
    from dprof.cli.records import open_repo
    return open_repo(args)


def cmd_list(args) -> int:
    from dprof.pytest_plugin import storage
    with _repo(args) as repo:
        runs = storage.list_runs(repo)
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=1))
        return 0
    if not runs:
        print("no stored benchmark runs", file=sys.stderr)
        return 0
    print_table(["run id", "name", "started", "benchmarks", "commit", "python", "machine"],
                [[r.run_id, r.name, r.started[:19].replace("T", " "), r.benchmarks, (r.commit or "")[:14],
                  r.python, r.machine] for r in runs])
    return 0


def cmd_compare(args) -> int:
    from dprof.pytest_plugin import gate, report, storage
    if not 0 < args.alpha < 1:
        raise CliError(f"--alpha must be between 0 and 1, got {args.alpha}")
    try:
        thresholds = [gate.parse_threshold(t) for t in args.fail]
    except ValueError as err:
        raise CliError(str(err).replace("--dprof-fail", "--fail")) from None
    with _repo(args) as repo:
        try:
            run_a = storage.find_run(repo, args.a)
            run_b = storage.find_run(repo, args.b)
        except LookupError as err:
            raise CliError(str(err)) from None
        base = storage.load_results(repo, run_a)
        cur = storage.load_results(repo, run_b)
    comparison = gate.compare_results(base, cur, thresholds, args.alpha)
    failed = report.failed(comparison)
    if args.json:
        doc = report.json_document(run_b.to_dict(), cur, comparison, run_a.to_dict())
        print(json.dumps(doc, indent=1, allow_nan=False))
    else:
        label = f"run {run_a.name or '(unnamed)'} ({run_a.run_id})"
        print(f"run {run_b.name or '(unnamed)'} ({run_b.run_id})")
        for line in report.comparison_lines(comparison, label):
            print(line)
        if thresholds:
            print("gate: FAILED" if failed else "gate: passed")
    return 1 if failed else 0
