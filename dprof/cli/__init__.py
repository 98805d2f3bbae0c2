"""The ``dprof`` command line.

Each verb lives in its own module and registers itself with ``add_parser``; this
module only builds the top-level parser and dispatches. Every verb has ``--help``.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from dprof import __version__
from dprof.cli import bench, compare, insights, records, run, service
from dprof.cli import streams
from dprof.cli.errors import CliError, database_problem, unreadable_profile

VERB_MODULES = [run, records, compare, bench, insights, service]


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (``dprof prune: --older-than: ...``), exit 2.

    argparse prints the whole usage before the error; in a script's log one line
    naming what was wrong reads better, and ``--help`` is one flag away."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dprof",
        description="Profile Python tasks, scripts and commands; store and query the profiles.",
    )
    parser.add_argument("--version", action="version", version=f"dprof {__version__}")
    parser.add_argument("--db", metavar="URL",
                        help="database URL or SQLite file (default: $DPROF_DATABASE_URL, "
                             "else a SQLite file in the user data directory)")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    for module in VERB_MODULES:
        module.add_parsers(verbs)
    try:
        from dprof.cli import views
    except ImportError:
        pass
    else:
        views.add_parsers(verbs)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    argv_given = argv
    argv = list(sys.argv[1:] if argv is None else argv)
    argv, program = run.split_program(argv)
    args = parser.parse_args(argv)
    if program is not None:
        args.program = program
    # `dprof run` may fork a watcher only when this process is the command itself
    args.own_process = argv_given is None
    try:
        return int(_run_verb(args) or 0)
    except BrokenPipeError:        # `dprof history | head`
        return 0
    except KeyboardInterrupt:
        return 130
    except CliError as err:
        print(f"dprof {args.verb}: {err}", file=sys.stderr)
        return 2
    except Exception as exc:
        problem = (database_problem(exc, getattr(args, "db", None))
                   or unreadable_profile(exc))
        if problem is None:
            raise
        print(f"dprof {args.verb}: {problem}", file=sys.stderr)
        return 2


def _run_verb(args):
    if args.verb != "run":      # `dprof run` runs the user's program here: its streams are its own
        streams.escape_unencodable()
    return args.handler(args)
