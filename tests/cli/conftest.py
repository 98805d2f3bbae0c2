"""Fixtures of the command-line tests; the helpers are in ``cli_helpers``."""
from __future__ import annotations

import pytest

from cli_helpers import Cli, make_cli, store_known


@pytest.fixture
def cli(tmp_path) -> Cli:
    """dprof against an empty database in a fresh working directory."""
    return make_cli(tmp_path)


@pytest.fixture(scope="module")
def known_cli(tmp_path_factory) -> Cli:
    """A database holding KNOWN, shared by the tests of one module that only read."""
    cli = make_cli(tmp_path_factory.mktemp("known"))
    store_known(cli)
    return cli
