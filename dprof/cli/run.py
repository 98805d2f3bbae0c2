"""``dprof run``: profile a Python script, a module, or any command, and store it.

    dprof run script.py [args]       run a script in this interpreter
    dprof run -m package.module [args]
    dprof run -- COMMAND [args]      any command, with its child processes

With --follow-children, the Python processes the program starts (multiprocessing
with any start method, subprocess running python) sample their own stacks, and
their stacks are merged into the profile, threads named "pid N: NAME".

The program's exit code is dprof's exit code. SIGTERM and Ctrl-C end the program
as they would without dprof, and what was measured up to then is still stored.
"""
from __future__ import annotations

import contextlib
import os
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import traceback
from typing import Dict, List, Optional

from dprof.cli.errors import CliError


def add_parsers(verbs) -> None:
    p = verbs.add_parser(
        "run", help="profile a script, a module or a command and store the profile",
        description=__doc__.split("\n\n", 1)[1], formatter_class=_raw())
    # The program and its arguments are cut off before argparse sees them (see
    # split_program); these two positionals and -m are declared for --help only.
    p.add_argument("-m", dest="module", metavar="MODULE",
                   help="run a library module as a script (what follows goes to it)")
    p.add_argument("--name", help="process name to store the profile under "
                                  "(default: the script, module or command)")
    p.add_argument("--stage", help="pipeline stage to record")
    p.add_argument("--env", help="environment to record (e.g. prod, dev)")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                   help="free-form tag (repeatable)")
    p.add_argument("--interval", type=_positive_float, default=0.01, metavar="SECONDS",
                   help="resource sampling interval (default 0.01)")
    p.add_argument("--no-stacks", action="store_true",
                   help="do not sample Python call stacks (scripts and modules record "
                        "them by default, for dprof view and dprof diff)")
    p.add_argument("--stack-hz", type=_positive_float, default=100.0, metavar="HZ",
                   help="stack samples per second (default 100)")
    p.add_argument("--follow-children", action="store_true",
                   help="also sample the stacks of the Python processes the program "
                        "starts (multiprocessing, subprocess) and merge them in")
    p.add_argument("--no-store", action="store_true", help="do not store the profile")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="also write the profile as JSON to FILE (view it with `dprof view FILE`)")
    p.add_argument("--profile-interval", type=_positive_float, metavar="SECONDS",
                   help="with -o: rewrite FILE every SECONDS while the program runs "
                        "(for long-running programs)")
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the summary")
    p.add_argument("target", nargs="?", help="script path (or, after --, the command)")
    p.add_argument("args", nargs="...", help="arguments passed to the program")
    p.set_defaults(handler=handle, program=None)


# options of `dprof` itself and of `dprof run` that take a value (the only ones whose
# next token is not the program)
_TOP_VALUE_OPTIONS = ("--db",)
_RUN_VALUE_OPTIONS = ("--name", "--stage", "--env", "--tag", "--interval", "--stack-hz",
                      "-o", "--output", "--profile-interval")


def split_program(argv: List[str]):
    """``dprof [opts] run [run opts] PROGRAM...``: return (argv up to PROGRAM, program).

    program is None when the verb is not ``run`` or nothing follows its options; else
    ``("script", PATH, ARGS)``, ``("module", NAME, ARGS)`` or ``("command", None, ARGV)``.
    As with ``python``, the first token that is not one of dprof's options starts the
    program and everything after it is the program's, dashes included; argparse
    alone cannot do that (``-m mod --flag``, ``script.py -- x``)."""
    i = _skip_options(argv, 0, _TOP_VALUE_OPTIONS)
    if i >= len(argv) or argv[i] != "run":
        return argv, None
    j = _skip_options(argv, i + 1, _RUN_VALUE_OPTIONS)
    if j >= len(argv):
        return argv, None
    token, rest = argv[j], argv[j + 1:]
    if token == "--":
        return argv[:j], ("command", None, rest)
    if token == "-m":
        return argv[:j], ("module", rest[0], rest[1:]) if rest else ("module", None, [])
    if token.startswith("-m"):
        return argv[:j], ("module", token[2:], rest)
    return argv[:j], ("script", token, rest)


def _skip_options(argv: List[str], i: int, value_options) -> int:
    """Index of the first token at or after i that is neither an option nor an
    option's value."""
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--" \
            and not (argv[i].startswith("-m") and not argv[i].startswith("--")):
        i += 2 if argv[i] in value_options else 1
    return i


def _raw():
    import argparse
    return argparse.RawDescriptionHelpFormatter


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _arg_error(f"not a number: {text!r}")
    if not value > 0:
        raise _arg_error(f"must be greater than 0, got {text}")
    return value


def _arg_error(message):
    import argparse
    return argparse.ArgumentTypeError(message)


def parse_tags(items: List[str]) -> Dict[str, str]:
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--tag needs KEY=VALUE, got {item!r}")
        tags[key] = value
    return tags


def handle(args) -> int:
    from dprof.session import ProfileRun

    tags = parse_tags(args.tag)
    if args.program is None:
        raise CliError("nothing to run: give a script, -m MODULE, or -- COMMAND")
    kind, target, argv_rest = args.program
    argv_rest = list(argv_rest)
    if kind == "module":
        if not target:
            raise CliError("-m needs a module name")
        _check_module(target)
        name = args.name or target
    elif kind == "command":
        if not argv_rest:
            raise CliError("nothing to run after --")
        target, argv_rest = argv_rest[0], argv_rest[1:]
        name = args.name or " ".join(shlex.quote(a) for a in [target] + argv_rest)
    elif target.endswith(".py") or os.path.isfile(target):
        if not os.path.isfile(target):
            raise CliError(f"no such script: {target}")
        name = args.name or os.path.basename(target)
    else:
        # `dprof run make all` without --: a command, as long as it can be found
        kind = "command"
        name = args.name or " ".join(shlex.quote(a) for a in [target] + argv_rest)

    if args.follow_children and args.no_stacks:
        raise CliError("--follow-children samples stacks: it cannot go with --no-stacks")
    if args.profile_interval is not None and not args.output:
        raise CliError("--profile-interval needs -o FILE to write to")
    if args.output:
        out_dir = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(out_dir):
            raise CliError(f"cannot write {args.output}: no such directory {out_dir}")
    run_class = ProfileRun
    if args.follow_children:
        from dprof.follow.parent import FollowingRun as run_class
    run = run_class(name, env=args.env, stage=args.stage, repo=args.db,
                    store=not args.no_store, interval=args.interval, tags=tags,
                    parameters={"kind": kind, "argv": [target] + argv_rest},
                    subject="children" if kind == "command" else "self",
                    # stacks of this interpreter say nothing about an external command
                    stacks=kind != "command" and not args.no_stacks,
                    stack_hz=args.stack_hz)
    writer = None
    if args.profile_interval is not None:
        # interim files hold this interpreter's stacks; followed children's are
        # merged into the final one
        from dprof.cli.periodic import PeriodicWriter
        writer = PeriodicWriter(run._recorder, args.output, args.profile_interval)
    if kind == "command":
        code = _run_command(run, [target] + argv_rest, writer)
    else:
        code = _run_python(run, kind, target, argv_rest, writer)
    if args.output and run.profile is not None:
        from dprof.cli.periodic import write_profile
        write_profile(run.profile, args.output)
    if not args.quiet and run.profile is not None:
        _print_summary(run.profile, stored=not args.no_store)
        if args.follow_children:
            from dprof.follow.collect import summary_lines
            for line in summary_lines(run.profile.stacks):
                print(line, file=sys.stderr)
    return code


def _check_module(name: str) -> None:
    """CliError unless ``name`` can be run with -m, found from the current directory
    as ``python -m`` would; checked before profiling so that a typo stores nothing."""
    import importlib.util
    sys.path.insert(0, os.getcwd())
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):      # a parent package is missing, or bad name
        spec = None
    finally:
        sys.path.pop(0)
    if spec is None:
        raise CliError(f"no module named {name!r}")


class _Terminated(BaseException):
    """Raised in the main thread on SIGTERM so that the profile is still stored."""


@contextlib.contextmanager
def _writing(writer):
    """Run the periodic profile writer (if any) while the program runs; it is
    stopped before the profile ends so that it never writes after the final one."""
    if writer is None:
        yield
        return
    writer.start()
    try:
        yield
    finally:
        writer.stop()


def _run_python(run, kind: str, target: str, argv_rest: List[str], writer=None) -> int:
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    previous = signal.getsignal(signal.SIGTERM)
    profiled_pid = os.getpid()

    def on_term(signum, frame):
        if os.getpid() != profiled_pid:
            # a forked child (multiprocessing fork) inherited this handler: end it
            # as SIGTERM would have ended it without dprof
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise _Terminated()

    signal.signal(signal.SIGTERM, on_term)
    code = 0
    try:
        with run, _writing(writer):
            try:
                if kind == "module":
                    sys.argv = [target] + argv_rest
                    sys.path.insert(0, os.getcwd())
                    runpy.run_module(target, run_name="__main__", alter_sys=True)
                else:
                    sys.argv = [target] + argv_rest
                    sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
                    runpy.run_path(target, run_name="__main__")
            except SystemExit as exc:
                code = _exit_code(exc.code)
                if code:
                    raise
    except SystemExit:
        pass
    except _Terminated:
        code = 128 + signal.SIGTERM
    except KeyboardInterrupt:
        code = 130
    except Exception:
        traceback.print_exc()
        code = 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.argv, sys.path[:] = saved_argv, saved_path
    return code


def _exit_code(value) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)
    return 1


def _run_command(run, command: List[str], writer=None) -> int:
    # Checked before profiling so that a typo stores nothing; the child is started
    # inside the profile so that its start-up counts in the runtime as in its CPU.
    if shutil.which(command[0]) is None:
        raise CliError(f"cannot run {command[0]!r}: no such command, or it is not executable")
    child: List[subprocess.Popen] = []
    early: List[int] = []          # signals that came before the child existed

    def forward(signum, frame):
        if not child:
            early.append(signum)
            return
        try:
            child[0].send_signal(signum)
        except ProcessLookupError:
            pass

    forwarded = {sig: signal.signal(sig, forward)
                 for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    returncode = 0
    try:
        with run, _writing(writer):
            try:
                child.append(subprocess.Popen(command))
            except OSError as exc:
                raise CliError(f"cannot run {command[0]!r}: {exc.strerror or exc}")
            for signum in early:
                child[0].send_signal(signum)
            while True:
                try:
                    returncode = child[0].wait()
                    break
                except KeyboardInterrupt:   # the child got SIGINT too; wait for it
                    continue
            if returncode != 0:
                # record a failed command as a failed task without raising
                run.tag("exit_code", str(returncode))
                raise CommandFailed(returncode)
    except CommandFailed:
        pass
    finally:
        for sig, handler in forwarded.items():
            signal.signal(sig, handler)
    return 128 - returncode if returncode < 0 else returncode


class CommandFailed(Exception):
    """A command that exited non-zero: stored as the failed profile's exception."""

    def __init__(self, returncode: int):
        super().__init__(f"command exited with {returncode}")
        self.returncode = returncode


def _print_summary(profile, stored: bool) -> None:
    from dprof.cli.records import profile_summary_lines
    for line in profile_summary_lines(profile, brief=True, stored=stored):
        print(line, file=sys.stderr)
