"""dprof's own background threads, which never take a signal meant for the program.

A signal sent to a process goes to any one of its threads that does not block it.
Python runs the handler in the main thread, but only once the main thread gets back
to the interpreter: a main thread blocked in a C call that only EINTR ends (a
``multiprocessing`` worker waiting in ``sem_wait``, a ``select`` with no timeout)
never does if the signal went to another thread, and the program hangs where it
would have been interrupted. So every thread dprof starts, native or Python, blocks
every signal it can (the C samplers do the same in csrc/sampler.c and
csrc/stack_sampler.c) and the program's own threads receive them as without dprof.
"""
from __future__ import annotations

import signal
import threading
from typing import Callable


def _blocking_signals(target: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        if hasattr(signal, "pthread_sigmask"):        # not on Windows
            try:
                signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
            except (OSError, ValueError):             # never keep the thread from running
                pass
        target()
    return run


def background_thread(target: Callable[[], None], name: str) -> threading.Thread:
    """A daemon thread (not started) that runs ``target`` with signals blocked."""
    return threading.Thread(target=_blocking_signals(target), name=name, daemon=True)
