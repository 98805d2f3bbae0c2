"""Count the exceptions a task raises, caught ones included (Python 3.12 and later).

Python 3.12's ``sys.monitoring`` fires a RAISE event when an exception is raised
in a Python frame and again in each frame it propagates into. The native callback
``_native.count_raise`` (csrc/raises_binding.c) counts each exception once, at its
first event, per thread and for the whole process; a profile takes differences of
those counts between its start and end readings, like its CPU times.

Turning the event on or off makes every code object re-check its instrumentation
on its next call (about 0.1 us each), far too much to pay on every decorated call.
So the event is turned on by the first profile and left on while profiles come and
go, and turned off by a reaper thread once no profile has been active for
``LINGER_SECONDS`` (the resource monitor's policy). While on, each RAISE event costs
a C call, about 40 ns; code that raises nothing pays nothing.

Before 3.12 there is no such event and nothing here is switched on: ``reason()``
says why, and the recorder counts only an exception that escaped the task.
"""
from __future__ import annotations

import os
import sys
from typing import Optional

from dprof._native_loader import runtime as _runtime
_native = _runtime()   # the extension, or its pure-Python twins (DPROF_NO_NATIVE)
from dprof.task.linger import Linger

LINGER_SECONDS = 2.0
TOOL_NAME = "dprof"
# sys.monitoring reserves 0 (debugger), 1 (coverage), 2 (profiler) and 5
# (optimizer); cProfile takes 2. dprof takes the first free of the unreserved ids.
_CANDIDATE_TOOL_IDS = (3, 4)


class _State:
    def __init__(self):
        self.tool_id: Optional[int] = None
        self.enabled = False
        self.users = 0
        self.unavailable: Optional[str] = None   # for good: no sys.monitoring
        self.failure: Optional[str] = None       # why the last enable failed (retried)


_state = _State()


def _stop() -> None:
    if _state.enabled:
        _disable(_state)


# its lock guards _state
_linger = Linger("dprof-raise-counter-reaper", lambda: LINGER_SECONDS,
                 lambda: _state.users > 0, _stop)

if not hasattr(sys, "monitoring"):
    _state.unavailable = (f"counting caught exceptions needs sys.monitoring (Python 3.12+), "
                          f"this is {sys.version_info.major}.{sys.version_info.minor}")


def reason() -> Optional[str]:
    """Why caught exceptions are not being counted, or None when they can be."""
    return _state.unavailable or _state.failure


def acquire() -> bool:
    """Make sure RAISE events are counted; True when they are. Pair with release()
    when True is returned."""
    state = _state
    if state.unavailable is not None:
        return False
    with _linger.lock:
        if not state.enabled and not _enable(state):
            return False
        state.users += 1
        _linger.busy()
        return True


def release() -> None:
    """Give back one acquire(); the last one starts the linger period."""
    state = _state
    with _linger.lock:
        if state.users <= 0:
            return
        state.users -= 1
        if not state.users:
            _linger.idle()


def counts():
    """(process, thread) exception counts so far; they only grow."""
    return _native.raise_counts()


def _enable(state: _State) -> bool:
    """Claim a tool id and switch the RAISE event on (lock held)."""
    monitoring = sys.monitoring
    try:
        if state.tool_id is None:
            for tool_id in _CANDIDATE_TOOL_IDS:
                if monitoring.get_tool(tool_id) is None:
                    monitoring.use_tool_id(tool_id, TOOL_NAME)
                    monitoring.register_callback(tool_id, monitoring.events.RAISE,
                                                 _native.count_raise)
                    state.tool_id = tool_id
                    break
            else:
                state.failure = ("the sys.monitoring tool ids dprof may use are taken by "
                                 + ", ".join(repr(monitoring.get_tool(i))
                                             for i in _CANDIDATE_TOOL_IDS))
                return False
        monitoring.set_events(state.tool_id, monitoring.events.RAISE)
    except Exception as exc:      # never let the task see it
        state.failure = f"sys.monitoring refused: {type(exc).__name__}: {exc}"
        return False
    state.enabled = True
    state.failure = None
    return True


def _disable(state: _State) -> None:
    """Switch the RAISE event off and give the tool id back (lock held)."""
    monitoring = sys.monitoring
    try:
        monitoring.set_events(state.tool_id, 0)
        monitoring.register_callback(state.tool_id, monitoring.events.RAISE, None)
        monitoring.free_tool_id(state.tool_id)
    except Exception:
        pass       # interpreter shutting down; nothing left to protect
    state.tool_id = None
    state.enabled = False


def _after_fork_in_child() -> None:
    """Counting stays on in a forked child only if a profile is still active there
    (the fork happened inside one); nothing else would turn it off."""
    _linger.after_fork_in_child()
    if _state.enabled and not _state.users:
        _disable(_state)


if hasattr(sys, "monitoring") and hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
