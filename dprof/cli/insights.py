"""``dprof insights``: regressions, drift, right-sizing, cost and where to look, over the
stored history (the analyses are ``dprof.insights``'; this module only reads options
and prints).

    dprof insights [--process P] [--stage S] [--env E] [--since WHEN]
                   [--format text|json|k8s|compose|html] [--fail-on-regression]

Exit status: 0, or 1 with ``--fail-on-regression`` when a task's latest change of a
metric is a significant regression; 2 on a usage error.
"""
from __future__ import annotations

import sys

from dprof.cli.argtypes import number_in
from dprof.cli.errors import CliError

FORMATS = ("text", "json", "k8s", "compose", "html")


def add_parsers(verbs) -> None:
    p = verbs.add_parser(
        "insights", help="regressions, leaks, right-sizing, cost and where to look",
        description="Findings over the stored profiles: changes of runtime, CPU, memory "
                    "and I/O across runs (when, how much, which lines), growth inside "
                    "long runs, recommended CPU/memory requests and limits, cost per "
                    "day or month at configured prices, and where each task's time goes. "
                    "Methods: docs/insights.md.")
    from dprof.cli.records import parse_since
    p.add_argument("--process", help="only this process name")
    p.add_argument("--stage", help="only this pipeline stage")
    p.add_argument("--env", help="only this environment")
    p.add_argument("--since", type=parse_since, metavar="WHEN",
                   help="only profiles started after WHEN: an age (30d, 12h) or an ISO date")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (default), json, k8s (Kubernetes resources: blocks), compose "
                        "(deploy.resources), html (a self-contained page)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="exit 1 when a task's latest change of a metric is a significant "
                        "regression (for CI)")
    p.add_argument("--prices", metavar="FILE",
                   help="JSON prices file (default $DPROF_PRICES; single prices from "
                        "$DPROF_PRICE_CPU_HOUR, _GB_HOUR, _IO_GB)")
    p.add_argument("--per", choices=("day", "month"), default="month",
                   help="period of the cost figures (default month = 30 days)")
    p.add_argument("--cpu-target", type=_fraction, default=0.7, metavar="F",
                   help="CPU utilisation the request aims at, 0.05-1 (default 0.7)")
    p.add_argument("--memory-target", type=_fraction, default=0.8, metavar="F",
                   help="memory utilisation the request aims at, 0.05-1 (default 0.8)")
    p.add_argument("--min-change", type=_percent, default=5.0, metavar="PCT",
                   help="smallest change of a median reported, percent (default 5)")
    p.add_argument("--alpha", type=_alpha, default=0.01,
                   help="significance level of the change test (default 0.01)")
    p.set_defaults(handler=cmd_insights)


_fraction = number_in(0.05, 1.0, "a fraction from 0.05 to 1")
_percent = number_in(0.0, 1000.0, "a percentage from 0 to 1000")
_alpha = number_in(0.0, 0.5, "between 0 and 0.5", open_ends=True)


def cmd_insights(args) -> int:
    from dprof.cli.records import open_repo
    from dprof.insights import load_prices, report

    try:
        prices = load_prices(args.prices)
    except ValueError as exc:
        raise CliError(str(exc))
    repo = open_repo(args)
    try:
        result = report(repo, process=args.process, stage=args.stage, env=args.env,
                        since=args.since, prices=prices, per=args.per,
                        cpu_target=args.cpu_target, memory_target=args.memory_target,
                        min_change=args.min_change / 100.0, alpha=args.alpha)
    finally:
        repo.close()
    text = {"text": result.to_text, "json": result.to_json, "k8s": result.k8s,
            "compose": result.compose, "html": result.to_html}[args.format]()
    if args.output:
        from dprof.cli.output import write_atomically
        write_atomically(args.output, text)
        print(f"wrote {args.format} insights to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if result.profiles == 0:
        print("no profiles match", file=sys.stderr)
    if args.fail_on_regression and result.has_regression:
        for r in result.current_regressions.to_dict("records"):
            print(f"significant regression: {r['process_name']} [stage={r['stage']}, "
                  f"env={r['env']}] {r['metric']} {r['change']:+.1%} "
                  f"[{r['change_low']:+.1%} .. {r['change_high']:+.1%}] from run "
                  f"{r['run_id'][:12]}", file=sys.stderr)
        return 1
    return 0
