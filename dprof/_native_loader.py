"""The one place dprof loads its C extension, and the switch that turns it off.

Every module that needs ``dprof._native`` asks here instead of importing it, so that
``DPROF_NO_NATIVE=1`` (any value but "" and "0") is honoured everywhere and a missing
or broken build gives one reason, said the same way by every caller:

- ``native()``: the extension module, or None when it is off or cannot be imported;
- ``reason()``: None when it is loaded, else why not (a sentence);
- ``require(what)``: the module, or ``NativeUnavailable`` naming ``what`` and why;
- ``runtime()``: the module, or ``dprof.pure`` (the pure-Python twins of the functions
  a decorated task needs: point readings, counters, series statistics, a resource
  sampler). What a twin cannot give, it reports missing with ``reason()``.

The answer is settled on the first call and kept for the life of the process: the
modules that bind it at import time must all see the same one.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Tuple

ENV = "DPROF_NO_NATIVE"


class NativeUnavailable(ImportError):
    """A feature that needs the C extension was asked for without it."""


_state: Optional[Tuple[Any, Optional[str]]] = None


def disabled_by_env() -> bool:
    """True when DPROF_NO_NATIVE asks for the pure-Python fallbacks."""
    return os.environ.get(ENV, "").strip() not in ("", "0")


def _load() -> Tuple[Any, Optional[str]]:
    global _state
    if _state is None:
        if disabled_by_env():
            _state = (None, f"{ENV}={os.environ.get(ENV)} is set, so the C extension "
                            "dprof._native is not used")
        else:
            try:
                from dprof import _native
                _state = (_native, None)
            except ImportError as exc:
                _state = (None, f"the C extension dprof._native cannot be imported ({exc}); "
                                "dprof runs on its pure-Python fallbacks")
    return _state


def native():
    """The extension module, or None (see ``reason()``)."""
    return _load()[0]


def reason() -> Optional[str]:
    """None when the extension is in use, else why it is not."""
    return _load()[1]


def require(what: str):
    """The extension module; ``NativeUnavailable`` saying that ``what`` needs it."""
    module, why = _load()
    if module is None:
        raise NativeUnavailable(f"{what} needs the C extension: {why}")
    return module


def runtime():
    """The extension, or the package of pure-Python twins standing in for it."""
    module = native()
    if module is not None:
        return module
    from dprof import pure
    return pure
