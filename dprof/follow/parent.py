"""The profiled program's side of following: ``Follower`` prepares the environment
that children inherit and collects what they wrote; ``FollowingRun`` is a
``ProfileRun`` that merges the children's stacks into its profile before storing it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from typing import Dict, Optional

from dprof.follow import child, collect
from dprof.session import ProfileRun
from dprof.task.recorder import ProfilerWarning

SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim")


class Follower:
    """While started: Python processes started from this one (and from those) sample
    their stacks and write them to a private directory.

    ``start()`` exports ``DPROF_FOLLOW_DIR`` and ``DPROF_FOLLOW_HZ`` and puts the shim
    first on ``PYTHONPATH`` in ``os.environ`` (children that get another environment,
    ``env=`` without them, are not followed), and follows forked children.
    ``stop()`` restores the environment, waits up to ``wait_seconds`` for children
    that are still writing, reads what they left and removes the directory.
    """

    def __init__(self, hz: float = 100.0, wait_seconds: float = 2.0):
        self.hz = float(hz)
        self.wait_seconds = float(wait_seconds)
        self.directory: Optional[str] = None
        self._saved: Dict[str, Optional[str]] = {}

    def start(self) -> "Follower":
        if self.directory is not None:
            raise RuntimeError("this Follower is already started")
        self.directory = tempfile.mkdtemp(prefix="dprof-follow-")
        path = os.environ.get("PYTHONPATH")
        values = {child.ENV_DIR: self.directory, child.ENV_HZ: repr(self.hz),
                  "PYTHONPATH": SHIM_DIR + (os.pathsep + path if path else "")}
        self._saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        child.install_fork_hook()
        return self

    def stop(self) -> collect.Children:
        if self.directory is None:
            raise RuntimeError("this Follower was not started")
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        directory, self.directory = self.directory, None
        try:
            return collect.read_children(directory, self.wait_seconds)
        finally:
            # a child still running writes into a directory that is gone: it fails
            # quietly (see child._write)
            shutil.rmtree(directory, ignore_errors=True)


class FollowingRun(ProfileRun):
    """A ``ProfileRun`` whose profile also holds the stacks of the Python processes
    the task started. Takes ProfileRun's arguments, plus ``follow_wait_seconds``."""

    def __init__(self, name: str, *, stack_hz: float = 100.0,
                 follow_wait_seconds: float = 2.0, **options):
        super().__init__(name, stack_hz=stack_hz, **options)
        self._follower = Follower(stack_hz, follow_wait_seconds)
        self._following = False

    def __enter__(self) -> "FollowingRun":
        # before the recorder starts: the environment must be ready for the program
        try:
            self._follower.start()
            self._following = True
        except Exception as err:
            warnings.warn(f"dprof cannot follow child processes: {err}; they run "
                          f"unprofiled", ProfilerWarning, stacklevel=2)
        super().__enter__()
        return self

    def _finish(self) -> None:
        # called once the profile is built, before it is stored
        if self._following:
            self._following = False
            try:
                children = self._follower.stop()
                self.profile.stacks = collect.merge_children(
                    self.profile.stacks, children, self.profile.runtime_seconds)
            except Exception as err:
                warnings.warn(f"dprof could not merge the child processes' stacks: "
                              f"{err!r}", ProfilerWarning, stacklevel=3)
        super()._finish()
