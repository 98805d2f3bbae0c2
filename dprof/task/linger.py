"""Keep a shared facility on for a while after its last user leaves.

Starting the resource sampler or switching sys.monitoring events costs far more
than a decorated call may, so both stay on between profiles and are turned off
only once no profile has used them for a linger period. ``Linger`` holds that
policy: the owner calls ``busy()`` when a user arrives and ``idle()`` when the
last one leaves (both under ``linger.lock``, which also guards the owner's own
state); a reaper thread, one per idle period rather than one per call, calls the
owner's ``stop`` under the same lock once the period has passed unused.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional
from dprof._threads import background_thread


class Linger:
    def __init__(self, thread_name: str, seconds: Callable[[], float],
                 in_use: Callable[[], bool], stop: Callable[[], None]):
        """``seconds()`` gives the linger period (read each time, so that a module
        constant can be changed), ``in_use()`` whether a user holds the facility,
        ``stop()`` turns it off; the last two are called with ``lock`` held."""
        self.lock = threading.Lock()
        self._thread_name = thread_name
        self._seconds = seconds
        self._in_use = in_use
        self._stop = stop
        self._idle_since: Optional[float] = None
        self._reaper: Optional[threading.Thread] = None

    def busy(self) -> None:
        """A user arrived (lock held): no stop is due."""
        self._idle_since = None

    def idle(self) -> None:
        """The last user left (lock held): stop after the linger period unless a
        user comes back."""
        self._idle_since = time.monotonic()
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = background_thread(self._reap, self._thread_name)
            self._reaper.start()

    def after_fork_in_child(self) -> None:
        """A forked child has no reaper, and the lock may have been held by a thread
        that does not exist there. Returns with nothing pending."""
        self.lock = threading.Lock()
        self._reaper = None
        self._idle_since = None

    def _reap(self) -> None:
        while True:
            with self.lock:
                if self._idle_since is None or self._in_use():
                    self._reaper = None
                    return          # in use again: the next idle() starts a new reaper
                wait = self._idle_since + self._seconds() - time.monotonic()
                if wait <= 0:
                    self._stop()
                    self._idle_since = None
                    self._reaper = None
                    return
            time.sleep(min(wait, self._seconds()))
