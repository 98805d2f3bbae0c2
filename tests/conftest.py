"""Shared test setup.

Tests run against the *installed* dprof (``pip install ".[test]"`` then ``pytest``),
so the check below fails loudly if the source tree without its built extension was
imported instead.
"""
import dprof


def pytest_report_header(config):
    from dprof import _native

    return f"dprof {dprof.__version__} from {dprof.__file__}; native: {_native.__file__}"
