"""Shared test setup.

Tests run against the *installed* dprof (``pip install ".[test]"`` then ``pytest``),
so the check below fails loudly if the source tree without its built extension was
imported instead, unless ``DPROF_NO_NATIVE=1`` asks for the pure-Python fallbacks:
then tests marked ``native`` (or ``needs_native``) are skipped, saying why.
"""
import pytest

import dprof
from dprof import _native_loader

# the pytest plugin's tests run real sessions (tests/pytest_plugin); pytest takes
# pytest_plugins only from the top-level conftest
pytest_plugins = ["pytester"]


def pytest_report_header(config):
    if _native_loader.disabled_by_env():
        return (f"dprof {dprof.__version__} from {dprof.__file__}; native: off "
                f"({_native_loader.reason()})")
    from dprof import _native

    return f"dprof {dprof.__version__} from {dprof.__file__}; native: {_native.__file__}"


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_native(reason): a Python-layer test whose "
                            "answer needs the C extension (skipped under DPROF_NO_NATIVE=1)")


def pytest_collection_modifyitems(config, items):
    if not _native_loader.disabled_by_env():
        return
    for item in items:
        mark = item.get_closest_marker("needs_native") or item.get_closest_marker("native")
        if mark is not None:
            why = mark.kwargs.get("reason", "a test of the C extension")
            item.add_marker(pytest.mark.skip(reason=f"DPROF_NO_NATIVE=1: {why}"))
