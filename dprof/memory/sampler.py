"""``MemorySampler``: start and stop the native allocation sampler.

One session per process at a time (the allocator hooks are process-wide); a second
``start()`` while one runs raises ``RuntimeError``, which the task recorder turns
into a missing attachment with that reason. NumPy's data allocations are hooked
when NumPy is 1.22 or newer (``numpy=True``, the default): at start if the program
has imported NumPy already, else when it does (dprof/memory/numpy_watch.py: dprof
never imports NumPy at start only to hook it).
"""
from __future__ import annotations

import os
import sys
from typing import Optional

from dprof._native_loader import require
from dprof.memory.model import MemoryProfile
from dprof.memory.numpy_watch import NumpyImportWatch

#: default mean bytes between sample points (512 KiB)
DEFAULT_MEAN = 512 * 1024


def _numpy_api():
    """(NumPy's _ARRAY_API capsule, None) or (None, why NumPy is not hooked)."""
    try:
        import numpy
    except ImportError:
        return None, "NumPy is not installed"
    try:
        major, minor = (int(x) for x in numpy.__version__.split(".")[:2])
    except ValueError:
        return None, f"unrecognised NumPy version {numpy.__version__!r}"
    if (major, minor) < (1, 22):
        return None, f"NumPy {numpy.__version__} has no allocation handler (needs 1.22+)"
    try:
        from numpy._core import _multiarray_umath as core
    except ImportError:
        from numpy.core import _multiarray_umath as core
    return core._ARRAY_API, None


class MemorySampler:
    """Sampled allocation tracking. ``mean``: bytes between sample points on average
    (``DPROF_MEMORY_MEAN`` overrides the default); ``seed``: the PRNG seed
    (``DPROF_MEMORY_SEED``; random when unset)."""

    def __init__(self, mean: Optional[float] = None, seed: Optional[int] = None,
                 numpy: bool = True):
        if mean is None:
            mean = float(os.environ.get("DPROF_MEMORY_MEAN", DEFAULT_MEAN))
        if not isinstance(mean, (int, float)) or not 1 <= mean <= 1e15:
            raise ValueError(f"memory mean must be a number of bytes in [1, 1e15], got {mean!r}")
        if seed is None and os.environ.get("DPROF_MEMORY_SEED"):
            seed = int(os.environ["DPROF_MEMORY_SEED"])
        if seed is not None and (not isinstance(seed, int) or seed < 0):
            raise ValueError(f"memory seed must be a non-negative int, got {seed!r}")
        self.mean = float(mean)
        self.seed = seed
        self.want_numpy = numpy
        self.numpy_reason: Optional[str] = None
        self._running = False
        self._watch = None

    def start(self) -> None:
        native = require("memory sampling")
        later = self.want_numpy and sys.modules.get("numpy") is None
        if not self.want_numpy:
            api, reason = None, "not requested"
        elif later:
            api, reason = None, None
        else:
            api, reason = _numpy_api()
        info = native.memsample_start(self.mean, self.seed, api)
        self.seed = info["seed"]
        self._running = True
        if later:
            # hooked when the program imports NumPy; until then, nothing to hook
            self.numpy_reason = "NumPy was not imported while memory sampling ran"
            self._watch = NumpyImportWatch(self._numpy_imported)
            self._watch.arm()
        else:
            self.numpy_reason = reason or info["numpy"]

    def _numpy_imported(self) -> None:
        """Called right after the program's ``import numpy`` executed NumPy."""
        if not self._running:
            return
        try:
            api, reason = _numpy_api()
            if api is not None:
                reason = require("memory sampling").memsample_hook_numpy(api)
        except Exception as exc:        # never fail the program's import
            reason = f"could not hook NumPy: {type(exc).__name__}: {exc}"
        self.numpy_reason = reason

    def stop(self) -> Optional[MemoryProfile]:
        """The samples, or None in a forked child of the starting process."""
        if not self._running:
            raise RuntimeError("the memory sampler is not running")
        self._running = False
        if self._watch is not None:
            self._watch.disarm()
            self._watch = None
        raw = require("memory sampling").memsample_stop()
        if raw is None:
            return None
        return MemoryProfile.from_native(raw, self.numpy_reason)

    def __enter__(self) -> "MemorySampler":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._running:
            self.result = self.stop()
