"""Which profiles overlap, and so which numbers each may claim.

CPU time, I/O bytes and allocation counts can be read for the whole process or for
one thread. A profile that ran alone claims the process's numbers (so work it hands
to threads or child processes is counted). When profiles overlap on different
threads, each claims only its own thread's numbers, or every one of them would
report the others' work. Profiles that interleave on one thread (asyncio tasks)
cannot be told apart by the kernel at all; they are flagged so that the profile
says its thread numbers are shared.

Nesting is not overlap: a profile started inside another (same thread, same
context) is part of the outer one's work, and both keep process scope.

Fork: the profiles active when a process forks are the parent's. In the child,
``generation`` is bumped and the registry emptied, so that a recorder started before
the fork knows it belongs to another process (``TaskRecorder.forked_away``) and the
child's own profiles do not count the parent's as overlapping.
"""
from __future__ import annotations

import contextvars
import os
import threading
from typing import Dict, Optional

# the innermost profile active in the current context (thread or asyncio task)
_current: contextvars.ContextVar[Optional["ScopeEntry"]] = contextvars.ContextVar(
    "dprof_current_profile", default=None)


class ScopeEntry:
    __slots__ = ("thread", "parent", "other_threads", "interleaved", "token", "peak_seen")

    def __init__(self, thread: int, parent: Optional["ScopeEntry"]):
        self.thread = thread
        self.parent = parent
        self.other_threads = False   # another profile ran on another thread meanwhile
        self.interleaved = False     # another, non-nested profile ran on this thread
        self.token = None
        self.peak_seen = 0           # RSS high-water marks handed over before resets

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


_lock = threading.Lock()
_active: Dict[int, ScopeEntry] = {}   # id(entry) -> entry

# which process a recorder was started in: bumped in every forked child (cheaper
# to compare on each decorated call than os.getpid(), a system call)
generation = 0


def _after_fork_in_child() -> None:
    global _lock, generation
    generation += 1
    _active.clear()           # the parent's profiles: they do not run here
    _lock = threading.Lock()  # it may have been held by a thread the child lacks


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def enter(reset_peak=None) -> ScopeEntry:
    """Register a starting profile and mark every overlap it creates.

    ``reset_peak``, if given, is called under the registry lock as
    ``reset_peak(need_mark)`` to reset the process's RSS high-water mark; when
    ``need_mark`` (some profile is active) it must return the mark just before the
    reset (or None). That mark is handed to every profile already active, so a
    nested or concurrent profile's reset never hides an outer profile's peak.
    """
    parent = _current.get()
    entry = ScopeEntry(threading.get_ident(), parent)
    with _lock:
        if reset_peak is not None:
            before = reset_peak(bool(_active))
            if before is not None:
                for other in _active.values():
                    if before > other.peak_seen:
                        other.peak_seen = before
        if _active:
            ancestors = set(map(id, entry.ancestors()))
            for other in _active.values():
                if other.thread != entry.thread:
                    other.other_threads = entry.other_threads = True
                elif id(other) not in ancestors:
                    other.interleaved = entry.interleaved = True
        _active[id(entry)] = entry
    entry.token = _current.set(entry)
    return entry


def forget(entry: ScopeEntry) -> None:
    """Unregister a profile that will never end (its recorder was collected
    unfinished), from any thread; the current-profile variable is left alone."""
    with _lock:
        _active.pop(id(entry), None)


def leave(entry: ScopeEntry) -> None:
    with _lock:
        _active.pop(id(entry), None)
    try:
        _current.reset(entry.token)
    except ValueError:
        # left from another context (a generator finished elsewhere): restore parent
        _current.set(entry.parent)
