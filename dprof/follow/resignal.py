"""A SIGTERM that a followed process's main thread has not handled is sent again.

A followed process needs a Python SIGTERM handler (it writes the process's stacks
before the process ends). Python runs it at the main thread's next bytecode; a
SIGTERM that lands just before the main thread blocks in a C call that only EINTR
ends (a ``multiprocessing`` worker entering ``sem_wait`` when ``Pool.terminate()``
signals it) is then never handled, and the process waits forever (CPython issues
73945 and 78178). So while the handler is installed, Python's wakeup fd tells a
small dprof thread that a SIGTERM arrived; if the handler has not started within
``DELAY_S``, the thread sends SIGTERM to the main thread itself, which interrupts the
blocking call, and the handler runs.

The wakeup fd is taken only when the program has none (asyncio sets its own; its loop
then wakes the main thread anyway). Everything here fails quietly: without it the
process behaves as before.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable, Optional

from dprof._threads import background_thread

DELAY_S = 0.05
RETRIES = 20

_fds: Optional[tuple] = None       # (read end, write end) of this process's watch


def _close(fds) -> None:
    for fd in fds or ():
        try:
            os.close(fd)
        except OSError:
            pass


def start(handled: Callable[[], bool]) -> None:
    """Watch for SIGTERMs that ``handled()`` (true once the handler began) says were
    not handled. Call from the main thread, after installing the handler."""
    global _fds
    inherited, _fds = _fds, None     # a forked child's copy of its parent's watch
    ours = inherited[1] if inherited else -1
    try:
        r, w = os.pipe()
    except OSError:
        return
    try:
        os.set_blocking(w, False)
        old = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except (OSError, ValueError, AttributeError):
        _close((r, w))
        return
    if old not in (-1, ours):        # the program's own: leave it
        try:
            signal.set_wakeup_fd(old)
        except (OSError, ValueError):
            pass
        _close((r, w))
        return
    _close(inherited)                # only now: the wakeup fd no longer points there
    _fds = (r, w)
    main = threading.main_thread().ident

    def watch() -> None:
        while True:
            try:
                data = os.read(r, 64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGTERM not in data:
                continue
            for _ in range(RETRIES):
                time.sleep(DELAY_S)
                if handled():
                    return
                try:
                    signal.pthread_kill(main, signal.SIGTERM)
                except (OSError, ValueError):
                    return

    background_thread(watch, "dprof-sigterm-watch").start()
