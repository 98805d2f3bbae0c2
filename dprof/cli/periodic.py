"""Writing a profile file while a long-running program runs.

``dprof run -o profile.json --profile-interval 60 server.py`` rewrites
``profile.json`` every 60 seconds with an interim profile of the run so far (see
``TaskRecorder.snapshot``), and once more with the final profile when the program
ends, SIGTERM and Ctrl-C included. Each write goes to a temporary file in the same
directory and is renamed over the target, so a reader never sees half a file.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from typing import Optional
from dprof._threads import background_thread


def write_profile(profile, path: str) -> None:
    """Write ``profile.to_dict()`` as JSON to ``path`` atomically."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dprof-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(profile.to_dict(), f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class PeriodicWriter:
    """A daemon thread that writes an interim profile every ``interval`` seconds."""

    def __init__(self, recorder, path: str, interval: float):
        self._recorder = recorder
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.writes = 0

    def start(self) -> "PeriodicWriter":
        self._thread = background_thread(self._loop, "dprof-profile-writer")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                profile = self._recorder.snapshot()
                if profile is not None:
                    write_profile(profile, self._path)
                    self.writes += 1
            except Exception as err:   # the program must not see it
                print(f"dprof: could not write the interim profile to {self._path}: {err}",
                      file=sys.stderr)
