"""Fixtures for the report tests: the known profile of ``known_profiles``."""
import pytest

from known_profiles import APP_SOURCE, Known


@pytest.fixture
def known(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP_SOURCE)
    return Known(str(app))


@pytest.fixture
def profile(known):
    return known.profile()
