"""What runs inside a followed child process: a stack sampler from start to exit,
its profile written to the follow directory as the process ends.

Started two ways: by ``shim/sitecustomize.py`` when a new interpreter starts with
``DPROF_FOLLOW_DIR`` in its environment (subprocess, multiprocessing spawn and the
forkserver process), and by an ``os.register_at_fork`` hook in a forked child
(multiprocessing fork and forkserver workers, ``os.fork``).

Files in the follow directory, per process: ``<pid>-<token>.start`` once it is
followed, renamed to ``.ending`` when it starts writing its profile, and
``<pid>-<token>.json`` (its stacks, or why it could not be followed) at the end.

A followed process ends in one of these ways, each caught once:
- a normal interpreter exit: ``atexit``;
- a multiprocessing child (fork/forkserver) ends with ``os._exit`` after
  ``BaseProcess._bootstrap``, which skips atexit but first runs
  ``multiprocessing.util._exit_function``, i.e. the ``util.Finalize`` callbacks with an
  exit priority. ``_bootstrap`` clears that registry right after the fork and then
  runs the ``util.register_after_fork`` callbacks, so the Finalize is registered from
  one of those (the same on 3.9 to 3.13);
- SIGTERM (``Pool.terminate()``, also used by ``with Pool(...)``): a handler writes
  the profile, then restores the previous disposition and lets it act (the default
  one ends the process by the same signal, as it would have without dprof). A forked
  child inherits the handler itself: what it stands in for there is the parent's
  previous disposition, never the handler again (that recursed until RecursionError
  in every Pool worker). The handler runs once per process; a SIGTERM that comes
  while the profile is written waits for the write, then ends the process.

Nothing here may break the child: every failure is caught and reported through a
note in the follow directory, which the parent prints; nothing goes to the child's
own stdout or stderr (a program may be parsing them).
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import sys
from typing import Optional

ENV_DIR = "DPROF_FOLLOW_DIR"     # where followed processes write; set = follow
ENV_HZ = "DPROF_FOLLOW_HZ"       # stack samples per second

# multiprocessing runs Finalize callbacks by descending priority: this one runs last,
# after the child's own finalizers (which may join its children)
_FINALIZE_PRIORITY = -1000


class _Followed:
    """The sampling of this process (one per process; a forked child makes its own)."""

    def __init__(self, directory: str, how: str):
        self.pid = os.getpid()
        self.directory = directory
        self.key = f"{self.pid}-{os.urandom(4).hex()}"
        self.how = how
        self.sampler = None
        self.done = False
        self.writing = False             # finish() is stopping the sampler and writing
        self.deferred_signal = None      # SIGTERM that came while writing
        self.in_handler = False          # _on_sigterm is running
        self.previous_sigterm = None


_state = None           # the _Followed of this process, or None
_fork_hook_installed = False


class _Anchor:
    """multiprocessing keeps after-fork callbacks in a WeakValueDictionary: this
    module-level object keeps ours alive."""


_ANCHOR = _Anchor()


def start_from_env(how: str = "exec") -> None:
    """Follow this process if ``DPROF_FOLLOW_DIR`` is set (the shim calls this)."""
    directory = os.environ.get(ENV_DIR)
    if not directory:
        return
    install_fork_hook()
    if not _is_multiprocessing_helper():
        _begin(directory, how)


# the -c programs of multiprocessing's helper processes: they live as long as the
# program that started them, so their profile would never be in time, and they do no
# work of the program's (the forkserver's forked workers are followed, through the
# fork hook)
_HELPERS = ("from multiprocessing.resource_tracker import main",
            "from multiprocessing.forkserver import main",
            "from multiprocessing.semaphore_tracker import main")


def _is_multiprocessing_helper() -> bool:
    argv = getattr(sys, "orig_argv", None)      # 3.10+
    if argv is None:
        try:
            with open("/proc/self/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            return False
    return "-c" in argv and any(a.startswith(_HELPERS) for a in argv)


def install_fork_hook() -> None:
    """Follow forked children of this process while ``DPROF_FOLLOW_DIR`` is set
    (registered once; ``os.register_at_fork`` has no way to unregister)."""
    global _fork_hook_installed
    if not _fork_hook_installed:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook_installed = True


def _after_fork_in_child() -> None:
    try:
        directory = os.environ.get(ENV_DIR)
        if not directory or _forked_for_exec():
            return
        _begin(directory, "fork")
        _finish_with_multiprocessing()
    except BaseException as exc:      # a fork must never fail because of dprof
        _note_failure(exc)


def _forked_for_exec() -> bool:
    """True in the child ``subprocess`` forks to run a ``preexec_fn`` before exec():
    no sampler thread there (the exec'd program, if Python, gets the shim)."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "_execute_child" and code.co_filename.endswith("subprocess.py"):
            return True
        frame = frame.f_back
    return False


def _begin(directory: str, how: str) -> None:
    global _state
    inherited = _state          # in a forked child: the parent's, copied
    state = _Followed(directory, how)
    _state = state
    try:
        hz = float(os.environ.get(ENV_HZ) or 100.0)
        _write(state, "start", _identity(state))
        from dprof.stacks.sampler import StackSampler
        state.sampler = StackSampler(hz=hz).start()
        atexit.register(finish)
        _catch_sigterm(state, inherited)
    except BaseException as exc:
        _note_failure(exc)


def _identity(state: _Followed) -> dict:
    return {"pid": state.pid, "ppid": os.getppid(), "how": state.how,
            "argv": [str(a) for a in getattr(sys, "argv", [])][:20]}


def _finish_with_multiprocessing() -> None:
    """In a multiprocessing child, write the profile from ``util._exit_function``."""
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.register_after_fork(_ANCHOR, _register_finalizer)


def _register_finalizer(_anchor) -> None:
    state = _state
    if state is not None and state.pid == os.getpid():
        import multiprocessing.util as util
        util.Finalize(None, finish, exitpriority=_FINALIZE_PRIORITY)


def finish() -> None:
    """Stop this process's sampler and write its profile (once; no-op elsewhere)."""
    state = _state
    if state is None or state.pid != os.getpid() or state.done or state.sampler is None:
        return
    state.done = state.writing = True
    try:
        _mark(state, "start", "ending")     # the parent waits for it from now on
        stacks = state.sampler.stop()
        record = _identity(state)
        record["stacks"] = stacks.to_dict()
        _write(state, "json", record)
    except BaseException as exc:
        state.done = False
        _note_failure(exc)
    finally:
        state.writing = False
    if state.deferred_signal is not None:
        _end_by_signal(state, *state.deferred_signal)


def _catch_sigterm(state: _Followed, inherited: Optional[_Followed] = None) -> None:
    previous = signal.getsignal(signal.SIGTERM)
    if previous is _on_sigterm:
        # inherited over fork: ours stands in for the parent's previous disposition
        previous = _previous_of(inherited)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return                       # the process will not end by SIGTERM
    state.previous_sigterm = previous
    signal.signal(signal.SIGTERM, _on_sigterm)
    from dprof.follow import resignal
    resignal.start(lambda: state.in_handler or state.done)


def _previous_of(state: Optional[_Followed]):
    """The disposition ``_on_sigterm`` replaced for ``state``: never itself."""
    previous = state.previous_sigterm if state is not None else None
    if previous is None or previous is _on_sigterm:
        return signal.SIG_DFL
    return previous


def _on_sigterm(signum, frame) -> None:
    state = _state
    if state is None or state.pid != os.getpid():
        # not followed here (a fork that was not; the state is the parent's copy):
        # what SIGTERM would have done
        _end_by_signal(state, signum, frame)
        return
    if state.writing:
        # finish() is running below this handler (atexit or multiprocessing's exit
        # path racing Pool.terminate(), or this handler's own): let it write, then end
        state.deferred_signal = (signum, frame)
        return
    if state.in_handler:
        _end_by_signal(state, signum, frame)
        return
    state.in_handler = True
    try:
        if state.sampler is None:
            # between the fork hook's first step and the sampler's start (a Pool
            # worker terminated at once): say so, rather than "ended without writing"
            _note_failure(RuntimeError("ended by SIGTERM before its stack sampling started"))
        finish()
    except BaseException as exc:      # never in the program's stderr
        _note_failure(exc)
    _end_by_signal(state, signum, frame)


def _end_by_signal(state, signum, frame) -> None:
    """Do what SIGTERM would have done without dprof: restore the previous
    disposition, then let it act (a Python handler is called, the default one ends
    the process by the same signal)."""
    previous = _previous_of(state)
    try:
        signal.signal(signal.SIGTERM, previous)
    except (TypeError, ValueError, OSError):    # not a disposition Python can set
        previous = signal.SIG_DFL
        signal.signal(signal.SIGTERM, previous)
    if callable(previous):
        previous(signum, frame)
        return
    os.kill(os.getpid(), signum)


def _write(state: _Followed, suffix: str, record: dict) -> None:
    """``<dir>/<key>.<suffix>``, written whole or not at all (rename into place)."""
    path = os.path.join(state.directory, f"{state.key}.{suffix}")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, path)


def _mark(state: _Followed, old: str, new: str) -> None:
    base = os.path.join(state.directory, state.key)
    os.replace(f"{base}.{old}", f"{base}.{new}")


def _note_failure(exc: BaseException) -> None:
    """Tell the parent why this process is not followed (it prints the reason)."""
    state = _state
    if state is None or state.done:
        return
    state.done = True
    try:
        record = _identity(state)
        record["error"] = f"{type(exc).__name__}: {exc}"
        _write(state, "json", record)
    except BaseException:
        pass            # the directory is gone (the parent ended): nothing to tell
