"""``dprof run``: profile a Python script, a module, or any command, and store it.

    dprof run script.py [args]       run a script in this interpreter
    dprof run -m package.module [args]
    dprof run -- COMMAND [args]      any command, with its child processes

With --follow-children, the Python processes the program starts (multiprocessing
with any start method, subprocess running python) sample their own stacks, and
their stacks are merged into the profile, threads named "pid N: NAME".

The program's exit code is dprof's exit code. SIGTERM and Ctrl-C end the program
as they would without dprof, and what was measured up to then is still stored.

A script or module runs in a child process that dprof watches: when it ends with
os._exit or is killed (SIGKILL), its profile is built from outside (CPU, memory and
I/O from wait4, stacks up to the last flush) and stored, and dprof says so
(docs/watched-runs.md; DPROF_RUN_WATCH=0 turns the watcher off).
"""
from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
from typing import Dict, List

from dprof.cli.argtypes import number_in
from dprof.cli.errors import CliError
from dprof.limits import INTERVAL_S, REWRITE_INTERVAL_S, STACK_HZ


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
    p.add_argument("--interval", type=_INTERVAL, default=0.01, metavar="SECONDS",
                   help="resource sampling interval (default 0.01)")
    p.add_argument("--no-stacks", action="store_true",
                   help="do not sample Python call stacks (scripts and modules record "
                        "them by default, for dprof view and dprof diff)")
    p.add_argument("--stack-hz", type=_STACK_HZ, default=100.0, metavar="HZ",
                   help="stack samples per second (default 100)")
    p.add_argument("--follow-children", action="store_true",
                   help="also sample the stacks of the Python processes the program "
                        "starts (multiprocessing, subprocess) and merge them in")
    p.add_argument("--memory", action="store_true",
                   help="sample allocations by line: allocated, live at the peak, leaked "
                        "(docs/memory.md)")
    p.add_argument("--no-store", action="store_true", help="do not store the profile")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="also write the profile to FILE, in the format its ending names: "
                        ".json (dprof's profile JSON, for `dprof view FILE`), .html, .svg, "
                        ".speedscope.json, .trace.json, .collapsed, .pb.gz")
    p.add_argument("--open", action="store_true",
                   help="write the HTML report (to -o FILE.html, else a temporary file) "
                        "and open it in a web browser")
    p.add_argument("--profile-interval", type=_REWRITE_INTERVAL, metavar="SECONDS",
                   help="with -o: rewrite FILE every SECONDS while the program runs "
                        "(for long-running programs)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="do not print the summary and the top lines")
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


# ranges: dprof/limits.py (the same as the constructors' and the C bindings')
_INTERVAL = number_in(*INTERVAL_S, f"from {INTERVAL_S[0]:g} to {INTERVAL_S[1]:g} seconds")
_STACK_HZ = number_in(*STACK_HZ, f"from {STACK_HZ[0]:g} to {STACK_HZ[1]:g} samples per second")
_REWRITE_INTERVAL = number_in(*REWRITE_INTERVAL_S, f"from {REWRITE_INTERVAL_S[0]:g} to "
                                                   f"{REWRITE_INTERVAL_S[1]:g} seconds")


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
        # a path that is not UTF-8 is named as it is stored (\xNN for its bytes)
        from dprof.repo.codec import storable_text
        name = args.name or storable_text(os.path.basename(target))
    else:
        # `dprof run make all` without --: a command, as long as it can be found
        kind = "command"
        name = args.name or " ".join(shlex.quote(a) for a in [target] + argv_rest)

    if args.follow_children and args.no_stacks:
        raise CliError("--follow-children samples stacks: it cannot go with --no-stacks")
    if args.profile_interval is not None and not args.output:
        raise CliError("--profile-interval needs -o FILE to write to")
    out_format = None
    if args.output:
        from dprof.cli.files import profile_format
        out_format = profile_format(args.output)
        out_dir = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(out_dir):
            raise CliError(f"cannot write {args.output}: no such directory {out_dir}")
        if args.profile_interval is not None and out_format != "profile":
            raise CliError(f"--profile-interval rewrites a profile JSON file: use -o FILE.json, "
                           f"got {args.output!r}")
    stacks_on = kind != "command" and not args.no_stacks
    needs_stacks = out_format not in (None, "profile") or args.open
    if needs_stacks and not (stacks_on or args.follow_children):
        what = args.output if out_format not in (None, "profile") else "--open"
        raise CliError(f"{what} needs stack samples, which a command has only with "
                       f"--follow-children (the Python processes it starts)"
                       if kind == "command" else
                       f"{what} needs stack samples: leave out --no-stacks")
    if args.open and args.output and out_format != "html":
        raise CliError(f"--open opens the HTML report: use -o FILE.html, got {args.output!r}")
    from dprof.stacks.user_code import launcher_files, roots_for_run
    launcher = launcher_files()
    user_roots = roots_for_run(kind, target, launcher=launcher)
    command_tree: Dict[str, object] = {}
    watched = _fork_watcher(args, kind, name, tags, target, argv_rest, out_format)
    run_class = ProfileRun
    if args.follow_children:
        from dprof.follow.parent import FollowingRun as run_class

    class CliRun(run_class):
        def _prepare(self):
            super()._prepare()
            _prepare_profile(self.profile, user_roots, launcher, command_tree)

        def _finish(self):
            if watched is not None:
                watched.note(f"id {self.profile.id}")
            with _storage_said_by_summary():
                super()._finish()
            if watched is not None:
                watched.note("done")      # stored, spooled or said lost: nothing to add
                watched.release()

    run = CliRun(name, env=args.env, stage=args.stage, repo=args.db,
                    store=not args.no_store, interval=args.interval, tags=tags,
                    parameters={"kind": kind, "argv": [target] + argv_rest},
                    subject="children" if kind == "command" else "self",
                    # stacks of this interpreter say nothing about an external command
                    stacks=stacks_on, stack_hz=args.stack_hz, memory=args.memory)
    writer = None
    if args.profile_interval is not None:
        # interim files hold this interpreter's stacks; followed children's are
        # merged into the final one
        from dprof.cli.periodic import PeriodicWriter
        writer = PeriodicWriter(run._recorder, args.output, args.profile_interval)
    if watched is not None:
        writer = _Writers([w for w in (writer, watched.watching(run._recorder)) if w])
    if kind == "command":
        code = _run_command(run, [target] + argv_rest, writer, command_tree)
    else:
        code = _run_python(run, kind, target, argv_rest, writer, launcher)
    profile = run.profile
    if profile is None:
        return code
    written = None
    if args.output:
        from dprof.cli.files import write_profile_file
        written = write_profile_file(profile, args.output, out_format)
    if args.open:
        written = _open_report(profile, args.output if out_format == "html" else None)
    # what happened to the profile is said even with --quiet when it was not stored
    stored = run.stored            # None with --no-store, else a StoreOutcome
    if not args.quiet:
        _print_summary(profile, stored=stored)
        if args.follow_children:
            from dprof.follow.collect import summary_lines
            for line in summary_lines(profile.stacks):
                print(line, file=sys.stderr)
        _print_top_lines(profile, stored=bool(stored))
        if written:
            print(f"dprof: wrote {written}", file=sys.stderr)
    elif stored is not None and not stored:
        print(f"dprof: profile {profile.id[:12]} {stored.describe()}", file=sys.stderr)
    return code


def _fork_watcher(args, kind, name, tags, target, argv_rest, out_format):
    """For a script or module run from the command line: fork, so that this
    process watches the program from outside (dprof/cli/watch.py); returns the
    child's side, or None (no watcher)."""
    from dprof.cli import watch
    if kind == "command" or not getattr(args, "own_process", False) or not watch.enabled():
        return None
    identity = watch.Identity(name, args.env, args.stage, tags,
                              {"kind": kind, "argv": [target] + argv_rest},
                              args.db, not args.no_store, args.output, out_format)
    return watch.fork(identity)


class _Writers:
    """Several periodic writers started and stopped as one (see _writing)."""

    def __init__(self, writers):
        self._writers = writers

    def start(self):
        for w in self._writers:
            w.start()

    def stop(self):
        for w in self._writers:
            w.stop()


@contextlib.contextmanager
def _storage_said_by_summary():
    """Hold back the repo's StorageWarnings while the profile is stored: the
    summary says what happened (run.stored) in one line instead of a warning with
    a source line. Other warnings are shown as they would have been."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if type(w.message).__name__ != "StorageWarning":
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _prepare_profile(profile, user_roots, launcher, command_tree) -> None:
    """The stored profile says what the program did, not dprof: the launcher is cut
    off its stacks (user_code.strip_launcher), the user's code roots are kept with
    them, a command's figures are its own process tree's, and a signal that ended
    the run is stored by its name."""
    from dprof.stacks.user_code import META_KEY, strip_launcher
    if profile.stacks is not None:
        # a relative script path gives relative frame names: made absolute, so that
        # its lines can be read back from any directory
        profile.stacks = strip_launcher(profile.stacks, launcher, cwd=os.getcwd(),
                                        user_roots=user_roots)
        profile.stacks.meta[META_KEY] = user_roots
    if command_tree:
        from dprof.jobs.monitor import command_figures, stop_tree_profiler
        command_figures(profile, command_tree.get("rusage"),
                        stop_tree_profiler(command_tree.get("tree")), keep_series=True)
    signum = command_tree.get("signal") or _signal_of(profile)
    if signum:
        name = signal.Signals(signum).name
        profile.exception_type = name
        profile.exception_message = f"the program was ended by {name} (signal {signum})"


def _signal_of(profile) -> int:
    if profile.exception_type == Terminated.__qualname__:
        return int(signal.SIGTERM)
    return 0


def _open_report(profile, path) -> str:
    """Write the HTML report (to ``path``, else a kept temporary file) and open it."""
    import tempfile
    import webbrowser
    from dprof.cli.files import write_profile_file
    if path is None:
        fd, path = tempfile.mkstemp(prefix=f"dprof-{profile.id[:12]}-", suffix=".html")
        os.close(fd)
        write_profile_file(profile, path, "html")
    url = "file://" + os.path.abspath(path)
    if not webbrowser.open(url):
        print(f"dprof: no web browser found; the report is {path}", file=sys.stderr)
    return path


def _print_top_lines(profile, stored: bool, limit: int = 5) -> None:
    """The top hotspot lines of the user's code, after the summary (as pyinstrument
    ends with its tree); where to see more."""
    stacks = profile.stacks
    if stacks is None or not stacks.rows:
        return
    from dprof.report import hotspots
    from dprof.report._common import format_seconds, short_path
    rows = hotspots(stacks, threshold=1.0)[:limit]
    if not rows:
        print("dprof: no line of your code took 1% of the time or more "
              "(see dprof view --libraries)", file=sys.stderr)
        return
    print("  top lines of your code:", file=sys.stderr)
    width = max(len(f"{short_path(r.filename)}:{r.line}") for r in rows)
    for r in rows:
        where = f"{short_path(r.filename)}:{r.line}".ljust(width)
        source = f"  {r.source}" if r.source else ""
        print(f"    {r.percent['total']:5.1f}%  {format_seconds(r.total_seconds):>7}  "
              f"{where}  {r.function}{source}"[:160].rstrip(), file=sys.stderr)
    if stored:
        print(f"  more: dprof view {profile.id[:12]}   (or dprof view last; "
              f"-o report.html for the HTML report)", file=sys.stderr)


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


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM so that the profile is still stored
    (then stored as exception_type "SIGTERM", see _prepare_profile)."""

    def __init__(self):
        super().__init__("SIGTERM")


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


# (dprof's SIGTERM handler, the disposition it replaced) while a program runs
_installed_term = None


def _forked_child_gets_the_programs_sigterm() -> None:
    """In a forked child (a multiprocessing worker), SIGTERM gets back the disposition
    dprof replaced, at once. Inherited, dprof's Python handler would only act at the
    worker's next bytecode: a SIGTERM from ``Pool.terminate()`` that lands just
    before the worker blocks in ``sem_wait`` is then never handled, and the worker
    waits for work forever (CPython issues 73945 and 78178 describe the same race
    for any Python handler); with the default disposition the kernel ends it, as it
    would without dprof."""
    installed = _installed_term
    if installed is None:
        return
    handler, previous = installed
    try:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM,
                          signal.SIG_DFL if previous is None else previous)
    except (OSError, ValueError, TypeError):     # a fork must never fail because of dprof
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked_child_gets_the_programs_sigterm)


def _run_python(run, kind: str, target: str, argv_rest: List[str], writer=None,
                launcher=()) -> int:
    global _installed_term
    import runpy
    import traceback
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    previous = signal.getsignal(signal.SIGTERM)
    profiled_pid = os.getpid()

    def on_term(signum, frame):
        if os.getpid() != profiled_pid:
            # a forked child (multiprocessing fork) inherited this handler: end it
            # as SIGTERM would have ended it without dprof, by the disposition this
            # one replaced (never this handler again: no recursion)
            before = previous if previous is not None and previous is not on_term \
                else signal.SIG_DFL
            signal.signal(signum, before)
            if callable(before):
                before(signum, frame)
            else:
                os.kill(os.getpid(), signum)
            return
        raise Terminated()

    signal.signal(signal.SIGTERM, on_term)
    _installed_term = (on_term, previous)
    code = 0
    # The program's globals, kept until its profile has ended: under `python prog.py`
    # they live until the interpreter exits, and what they hold is live at the end
    # of the program. runpy drops its module when the code returns, and the module's
    # functions and its dict form a cycle, so without this the next collection (at
    # any allocation, before or after the profile stops) would free them, and a
    # leak held by a global would be reported live at the end or not, by chance.
    namespace = None
    try:
        with run, _writing(writer):
            try:
                if kind == "module":
                    sys.argv = [target] + argv_rest
                    sys.path.insert(0, os.getcwd())
                    namespace = runpy.run_module(target, run_name="__main__", alter_sys=True)
                else:
                    sys.argv = [target] + argv_rest
                    sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
                    namespace = runpy.run_path(target, run_name="__main__")
            except SystemExit as exc:
                code = _exit_code(exc.code)
                if code:
                    raise
    except SystemExit:
        pass
    except Terminated:
        code = 128 + signal.SIGTERM
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        # the program's traceback, from its first frame: not dprof's nor runpy's
        from dprof.stacks.user_code import trim_traceback
        traceback.print_exception(type(exc), exc, trim_traceback(exc.__traceback__, exc, launcher))
        code = 1
    finally:
        _installed_term = None
        signal.signal(signal.SIGTERM, previous)
        sys.argv, sys.path[:] = saved_argv, saved_path
    del namespace      # freed now, as the program's globals would be at exit
    return code


def _exit_code(value) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)
    return 1


def _run_command(run, command: List[str], writer=None, tree=None) -> int:
    """Run ``command`` inside ``run``; ``tree`` gets what dprof.jobs.monitor needs to
    give the command's own figures (its wait4 rusage, the sampler of its process
    tree) and the signal that ended it, if one did."""
    import shutil
    import subprocess
    from dprof.jobs.monitor import reap, start_tree_profiler
    tree = {} if tree is None else tree
    # Checked before profiling so that a typo stores nothing; the child is started
    # inside the profile so that its start-up counts in the runtime as in its CPU.
    if shutil.which(command[0]) is None:
        raise CliError(f"cannot run {command[0]!r}: no such command, or it is not executable")
    child: List["subprocess.Popen"] = []
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
            tree["tree"] = start_tree_profiler(child[0].pid, run._recorder.interval)
            for signum in early:
                child[0].send_signal(signum)
            while True:
                try:
                    tree["rusage"] = reap(child[0], None)
                    returncode = child[0].returncode
                    break
                except KeyboardInterrupt:   # the child got SIGINT too; wait for it
                    continue
            if returncode < 0:
                tree["signal"] = -returncode
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


def _print_summary(profile, stored) -> None:
    from dprof.cli.records import profile_summary_lines
    for line in profile_summary_lines(profile, brief=True, stored=stored):
        print(line, file=sys.stderr)
    if profile.memory is not None:
        from dprof.report.memory_views import summary_lines
        for line in summary_lines(profile.memory):
            print(line, file=sys.stderr)
