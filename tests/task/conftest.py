import pytest


@pytest.fixture
def repo_url(tmp_path, monkeypatch):
    """A fresh SQLite file for each test, also the default for the session layer."""
    url = f"sqlite:///{tmp_path / 'profiles.db'}"
    monkeypatch.setenv("DPROF_DATABASE_URL", url)
    from dprof import session
    session._repos.clear()
    yield url
    session._repos.clear()
