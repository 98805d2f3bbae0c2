"""``dprof compare`` and ``dprof algorithms``: compare sort algorithms, list them.

    dprof compare bubble_sort quick_sort merge_sort --sizes 1e3,1e4 --iterations 3
    dprof compare 'quick_sort[pivot_strategy=first]' quick_sort --distribution sorted
    dprof compare --list                 stored comparisons, newest first
    dprof compare --show ID [--plot F]   reopen one (a unique id prefix is enough)
    dprof algorithms                     the registry: complexities, stable, in place

The work is dprof.algorithms'; this module parses, prints and maps errors to one line
and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import warnings
from typing import Any, List

from dprof.cli.errors import CliError
from dprof.cli.output import format_value, print_table


def _sizes(text: str):
    from dprof.algorithms.plan import parse_sizes
    try:
        return parse_sizes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer seed: {text!r}") from None
    if not 0 <= value < 2 ** 64:
        raise argparse.ArgumentTypeError(f"seed must be in 0..2**64-1, got {value}")
    return value


def add_parsers(verbs) -> None:
    from dprof.algorithms.inputs import CONTAINERS, DISTRIBUTIONS, KINDS
    from dprof.algorithms.builtin import PIVOT_STRATEGIES

    p = verbs.add_parser(
        "compare", help="compare sort algorithms on identical inputs",
        description=__doc__.split("\n\n", 1)[1].split("\n\nThe work")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("algorithms", nargs="*", metavar="ALGORITHM",
                   help="registered names (see `dprof algorithms`), or "
                        "name[param=value,...]")
    p.add_argument("--sizes", type=_sizes, default=(1000, 10000),
                   help="comma-separated positive integers, 1e3 notation allowed "
                        "(default 1e3,1e4)")
    p.add_argument("--iterations", type=_positive_int, default=3,
                   help="runs per algorithm and size, each on a new shared input (default 3)")
    p.add_argument("--distribution", choices=DISTRIBUTIONS, default="random")
    p.add_argument("--kind", choices=KINDS, default="int", help="element type (default int)")
    p.add_argument("--container", choices=CONTAINERS, default="list",
                   help="a Python list (default) or a NumPy array")
    p.add_argument("--seed", type=_seed, default=0, help="input seed (default 0)")
    p.add_argument("--pivot", choices=PIVOT_STRATEGIES,
                   help="quick_sort's pivot strategy (default median)")
    p.add_argument("--time-limit", type=_seconds, default=60.0, metavar="SECONDS",
                   help="refuse a run predicted to take longer (default 60)")
    p.add_argument("--force", action="store_true", help="run even when predicted too long")
    p.add_argument("--plot", metavar="FILE", help="write cost against size to FILE "
                                                  "(.png, .svg, .pdf; needs matplotlib)")
    p.add_argument("--metric", default="runtime",
                   help="what --plot shows: runtime (default) or a count such as comparisons")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-store", action="store_true", help="do not store the runs")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (its dprof.algorithms.register calls add "
                        "algorithms); repeatable")
    p.add_argument("--list", action="store_true", help="list stored comparisons")
    p.add_argument("--show", metavar="ID", help="reopen a stored comparison")
    p.set_defaults(handler=cmd_compare)

    p = verbs.add_parser("algorithms", help="list the registered sort algorithms",
                         description="The registry: built-ins, register()-ed and "
                                     "entry-point algorithms with their metadata.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import MODULE first; repeatable")
    p.set_defaults(handler=cmd_algorithms)


def _import_modules(modules: List[str]) -> None:
    if modules and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())      # the user's own modules, as python -m finds them
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise CliError(f"--import {name}: {type(exc).__name__}: {exc}") from None


def cmd_algorithms(args) -> int:
    from dprof.algorithms import registry
    from dprof.algorithms.errors import AlgorithmError

    _import_modules(args.imports)
    try:
        algos = registry.all_algorithms()
    except AlgorithmError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps([a.describe() for a in algos], indent=2))
        return 0

    def yes_no(v):
        return "-" if v is None else ("yes" if v else "no")
    rows = [[a.name, a.best, a.average, a.worst, yes_no(a.stable), yes_no(a.in_place),
             a.extra_memory, "/".join(a.kinds),
             ", ".join(f"{k}: {'|'.join(map(str, v))}" for k, v in a.parameters.items())
             or "-", a.origin] for a in algos]
    print_table(["name", "best", "average", "worst", "stable", "in place", "extra memory",
                 "kinds", "parameters", "origin"], rows, title="sort algorithms")
    return 0


def cmd_compare(args) -> int:
    from dprof.algorithms.errors import AlgorithmError

    _import_modules(args.imports)
    modes = sum([bool(args.list), args.show is not None, bool(args.algorithms)])
    if modes == 0:
        raise CliError("name the algorithms to compare (see `dprof algorithms`), or use "
                       "--list or --show ID")
    if modes > 1:
        raise CliError("give algorithms, --list or --show ID, not several")
    try:
        if args.list:
            return _list(args)
        if args.show is not None:
            from dprof.algorithms.storage import load_comparison
            result = load_comparison(args.show, repo=args.db)
        else:
            result = _run(args)
    except (AlgorithmError, ValueError) as exc:
        raise CliError(str(exc)) from None
    _output(args, result)
    return 0


def _run(args):
    from dprof.algorithms.runner import RunawayWarning, compare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RunawayWarning)     # printed as notes below
        return compare(args.algorithms, sizes=args.sizes, iterations=args.iterations,
                       distribution=args.distribution, seed=args.seed, kind=args.kind,
                       container=args.container, pivot_strategy=args.pivot,
                       time_limit=args.time_limit, force=args.force,
                       store=not args.no_store, repo=args.db)


def _list(args) -> int:
    from dprof.algorithms.storage import list_comparisons
    frame = list_comparisons(repo=args.db)
    if args.json:
        print(frame.to_json(orient="records", date_format="iso"))
        return 0
    if frame.empty:
        print("no stored comparisons", file=sys.stderr)
        return 0
    rows = [[r["id"], r["started"], r["algorithms"], r["sizes"], r["iterations"],
             f"{r['distribution']} {r['kind']}", r["runs"]] for r in frame.to_dict("records")]
    print_table(["id", "started", "algorithms", "sizes", "iterations", "input", "runs"], rows,
                title="stored comparisons")
    return 0


def _output(args, result) -> None:
    if args.plot:
        try:
            result.plot(args.plot, metric=args.metric)
        except ImportError as exc:
            raise CliError(str(exc)) from None
        except (OSError, ValueError) as exc:
            raise CliError(f"--plot {args.plot}: {exc}") from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return
    render(result)
    if args.plot:
        print(f"plot written to {args.plot}", file=sys.stderr)


def _fmt_time(seconds: Any) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _fmt_count(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.0f}"


def render(result, stream=None) -> None:
    """The terminal view: results per algorithm and size, complexity, ranking."""
    stream = stream or sys.stdout
    spec = result.spec
    print(f"comparison {result.id}: {spec.get('distribution')} {spec.get('kind')} input "
          f"({spec.get('container', 'list')}), seed {spec.get('seed')}, "
          f"{spec.get('iterations')} iterations"
          + ("" if result.stored else " (not stored)"), file=stream)
    ranks = {(r.size, r.algorithm): r for r in result.ranking.itertuples()}
    rows = []
    for r in result.summary.itertuples():
        rk = ranks.get((r.size, r.algorithm))
        ci = "-" if math.isnan(r.runtime_ci_low) else \
            f"{_fmt_time(max(r.runtime_ci_low, 0.0))}..{_fmt_time(r.runtime_ci_high)}"
        rows.append([r.algorithm, f"{r.size:,}", rk.rank if rk else "-",
                     _fmt_time(r.runtime_median), _fmt_time(r.runtime_min), ci,
                     f"{rk.ratio:.2f}x" if rk else "-", _fmt_count(r.comparisons),
                     _fmt_count(_plus(r.swaps, r.moves)), _fmt_count(r.writes),
                     format_value(r.memory_peak_mb), _fmt_count(r.allocations)])
    print_table(["algorithm", "n", "rank", "median", "min", "95% CI of mean", "vs best",
                 "comparisons", "swaps+moves", "writes", "peak MB", "allocations"], rows,
                title="results", stream=stream)
    cx = result.complexity
    rows = []
    for algo in result.algorithms:
        mine = cx[cx["algorithm"] == algo].set_index("metric")
        if mine.empty:
            continue

        def cell(metric):
            if metric not in mine.index:
                return "-"
            row = mine.loc[metric]
            return "-" if row["fitted"] is None else f"{row['fitted']} ({row['confidence']:.0%})"
        first = mine.iloc[0]
        rows.append([algo, cell("runtime"), cell("comparisons"), cell("writes"),
                     first["declared_average"] or "-", first["declared_worst"] or "-"])
    if rows and any(c != "-" for row in rows for c in row[1:4]):
        print_table(["algorithm", "runtime fit", "comparisons fit", "writes fit",
                     "declared average", "declared worst"], rows,
                    title="empirical complexity (confidence)", stream=stream)
    elif result.sizes and len(result.sizes) < 3:
        print("complexity: fitted from 3 or more sizes; this comparison has "
              f"{len(result.sizes)}", file=stream)
    largest = result.sizes[-1] if result.sizes else None
    if largest is not None:
        print(f"ranking at n={largest:,}: {ranking_line(result, largest)}", file=stream)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)


def _plus(a, b):
    vals = [v for v in (a, b) if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(vals) if vals else None


def ranking_line(result, size: int) -> str:
    """"1. quick_sort = merge_sort (not significantly different), 3. bubble_sort (31x)"."""
    frame = result.ranking[result.ranking["size"] == size]
    parts = []
    for rank, group in frame.groupby("rank", sort=True):
        names = list(group["algorithm"])
        text = f"{rank}. " + " = ".join(names)
        ratio = group["ratio"].iloc[0]
        if rank != 1:
            text += f" ({ratio:.3g}x)"
        if len(names) > 1:
            text += " (not significantly different)"
        parts.append(text)
    return ", ".join(parts)
