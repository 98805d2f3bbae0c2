"""The ``%dprof`` line magic and the ``%%dprof`` cell magic.

They profile the code like ``dprof run`` profiles a script (resources always unless
``--no-resources``, call stacks unless ``--no-stacks``, stored unless ``--no-store``),
show the Profile inline (its stacks without the kernel's own idle threads, see
``without_threads``) (``display.profile_html``) and leave it in the user's namespace
as ``_dprof``. The code runs in the user's namespace, so names it defines stay
defined; an exception it raises is recorded (status "failed"), ``_dprof`` is still
set, and the exception then reaches the notebook as it would have without dprof.

This module imports IPython; ``dprof.jupyter`` imports it only from
``load_ipython_extension``.
"""
from __future__ import annotations

import threading
import warnings
from typing import Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

DEFAULT_NAME = "notebook cell"


def _positive(option: str, value: float) -> float:
    if not value > 0:
        raise ValueError(f"{option} must be a positive number, got {value!r}")
    return value


def _tags(pairs):
    tags = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--tag expects KEY=VALUE, got {pair!r}")
        tags[key] = value
    return tags


def line_statement(line: str) -> str:
    """The statement of a ``%dprof`` line: what follows the options, verbatim.

    argparse would split it on spaces and drop its quotes, so the statement is taken
    from the raw line after the last option (and its value, for options that take one)."""
    takes_value = {"--name", "-n", "--stage", "--env", "--tag", "--stack-hz", "-r",
                   "--interval", "--repo"}
    words = line.lstrip()
    while words.startswith("-"):
        head, _, rest = words.partition(" ")
        option = head.split("=", 1)[0]
        if option in takes_value and "=" not in head:
            _, _, rest = rest.lstrip().partition(" ")
        words = rest.lstrip()
        if option == "--":
            break
    return words


@magics_class
class DprofMagics(Magics):
    """``%dprof [options] STATEMENT`` and ``%%dprof [options]`` over a cell."""

    @magic_arguments()
    @argument("--name", "-n", default=None,
              help=f"process name to record the profile under (default: {DEFAULT_NAME!r})")
    @argument("--stage", default=None, help="pipeline stage to record")
    @argument("--env", default=None, help="environment to record (e.g. dev, prod)")
    @argument("--tag", action="append", default=[], metavar="KEY=VALUE",
              help="a free-form tag (repeatable)")
    @argument("--stack-hz", "-r", type=float, default=100.0, metavar="HZ",
              help="stack sampling rate (default 100; lowered to stay under the budget)")
    @argument("--no-stacks", action="store_true", help="do not record call stacks")
    @argument("--interval", type=float, default=0.01, metavar="SECONDS",
              help="resource sampling interval (default 0.01)")
    @argument("--no-resources", action="store_true", help="do not sample resources")
    @argument("--no-store", action="store_true", help="do not store the profile")
    @argument("--repo", default=None, metavar="URL",
              help="database to store into (default: DPROF_DATABASE_URL or the user's)")
    @argument("--quiet", "-q", action="store_true",
              help="show nothing; the profile is still in _dprof")
    @argument("--no-report", action="store_true",
              help="summary and hotspots only, without the flamegraph and charts")
    @line_cell_magic
    def dprof(self, line: str, cell: Optional[str] = None):
        """Profile a statement (``%dprof``) or a cell (``%%dprof``) with dprof and show
        its resource summary, hotspot lines, flamegraph and resource charts inline.
        The Profile is left in the namespace as ``_dprof``."""
        # the options only: a line's statement is taken verbatim (see line_statement)
        statement = line_statement(line) if cell is None else ""
        args = parse_argstring(self.dprof, line[:len(line.rstrip()) - len(statement.rstrip())]
                               if statement else line)
        try:
            options = dict(name=args.name or DEFAULT_NAME, env=args.env, stage=args.stage,
                           tags=_tags(args.tag), stacks=not args.no_stacks,
                           stack_hz=_positive("--stack-hz", args.stack_hz),
                           interval=_positive("--interval", args.interval),
                           resources=not args.no_resources, store=not args.no_store,
                           repo=args.repo)
        except ValueError as err:
            raise UsageError(f"%dprof: {err}") from None
        if cell is None:
            code = statement
            if not code.strip():
                raise UsageError("%dprof needs a statement, e.g. %dprof sum(range(10**6)); "
                                 "use %%dprof to profile a whole cell")
        else:
            code = cell
        profile = self._run(code, options)
        if not args.quiet:
            from IPython.display import display
            from dprof.jupyter.display import profile_html, profile_text
            display({"text/html": profile_html(profile, report=not args.no_report),
                     "text/plain": profile_text(profile)}, raw=True)
        return None

    def _run(self, code: str, options: dict):
        from dprof.session import profile as profile_block
        shell = self.shell
        # IPython's own transforms (nested magics, !shell lines), then a file name that
        # linecache knows, so that hotspot lines show the cell's source text
        source = shell.transform_cell(code)
        filename = shell.compile.cache(source)
        compiled = compile(source, filename, "exec")
        store, repo = options.pop("store"), options.pop("repo")
        # stored here, after the kernel's threads are left out, not by the run itself
        run = profile_block(options.pop("name"), store=False, **options)
        kernel_threads = _other_threads()
        try:
            with run:
                exec(compiled, shell.user_ns)
        finally:
            profile = run.profile
            if profile is not None:
                if profile.stacks is not None:
                    profile.stacks = without_threads(profile.stacks, kernel_threads)
                shell.user_ns["_dprof"] = profile
                if store:
                    _store(profile, repo)
        return profile


def _store(profile, repo) -> None:
    """Store as ``dprof.profile(store=True)`` does: a failure is a warning, never an
    error in the user's cell (the repo spools what it cannot write)."""
    from dprof.session import ProfilerWarning, _resolve_repo
    try:
        _resolve_repo(repo).add(profile)
    except Exception as err:   # noqa: BLE001
        warnings.warn(f"dprof could not store the profile of {profile.process_name!r}: "
                      f"{err}", ProfilerWarning, stacklevel=2)


def _other_threads() -> set:
    """Native ids of the threads already running besides this one: in a kernel they are
    its own (heartbeat, IOPub, control, history), idle while the cell runs."""
    me = threading.get_native_id()
    return {t.native_id for t in threading.enumerate()
            if t.native_id is not None and t.native_id != me}


def without_threads(stacks, thread_ids: set):
    """``stacks`` without the rows of ``thread_ids``. The kernel's own threads sleep
    through every cell; kept, they would make most of the sampled time "Sleep/lock"
    and every percentage a fraction of it. Threads the cell starts are kept.
    ``meta["excluded_threads"]`` says which were left out."""
    if not thread_ids:
        return stacks
    from dataclasses import replace
    dropped = sorted({r.thread_id for r in stacks.rows if r.thread_id in thread_ids})
    meta = dict(stacks.meta)
    meta["excluded_threads"] = {str(t): stacks.thread_names.get(t, "") for t in dropped}
    return replace(stacks, rows=[r for r in stacks.rows if r.thread_id not in thread_ids],
                   thread_names={t: n for t, n in stacks.thread_names.items()
                                 if t not in thread_ids},
                   meta=meta)

