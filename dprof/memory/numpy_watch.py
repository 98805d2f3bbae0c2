"""Hook NumPy's data allocations when the program imports NumPy, not before.

Importing NumPy only to hook it costs a program that never uses it: in a fresh
process, json_loads and pickle ran 7.7 % and 8.5 % slower with NumPy merely imported
(docs/benchmarks.md). So a memory session that starts before NumPy is imported arms a
one-shot finder on ``sys.meta_path``: when ``import numpy`` runs, the real finders
locate it as usual, NumPy's own loader executes it, and right after that the session
hooks NumPy's allocation handler (``_native.memsample_hook_numpy``). The finder then
leaves ``sys.meta_path``, and the module's ``__loader__`` and ``__spec__.loader`` are
NumPy's own. Nothing here may make the import fail: every error becomes the reason
NumPy is not hooked.
"""
from __future__ import annotations

import sys
from typing import Callable


class _HookAfterExec:
    """NumPy's loader, with ``on_loaded`` called after it has executed the module."""

    def __init__(self, loader, on_loaded: Callable[[], None]):
        self._loader = loader
        self._on_loaded = on_loaded

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        try:
            self._loader.exec_module(module)
        finally:
            # the module is NumPy's again, whatever happened
            module.__loader__ = self._loader
            if getattr(module, "__spec__", None) is not None:
                module.__spec__.loader = self._loader
        self._on_loaded()

    def __getattr__(self, name):       # anything else a caller asks a loader for
        return getattr(self._loader, name)


class NumpyImportWatch:
    """A one-shot ``sys.meta_path`` finder for ``numpy``. ``on_imported()`` runs once
    NumPy's top-level module has executed; ``disarm()`` removes the finder (idempotent)."""

    def __init__(self, on_imported: Callable[[], None]):
        self._on_imported = on_imported
        self._armed = False

    def arm(self) -> None:
        if not self._armed:
            sys.meta_path.insert(0, self)
            self._armed = True

    def disarm(self) -> None:
        self._armed = False
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass

    def find_spec(self, name, path=None, target=None):
        if name != "numpy" or not self._armed:
            return None
        self.disarm()                 # one shot; the search below must not find us
        spec = None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        if spec is None or getattr(spec.loader, "exec_module", None) is None:
            return spec               # not found (ImportError as usual), or an old loader
        spec.loader = _HookAfterExec(spec.loader, self._on_imported)
        return spec

