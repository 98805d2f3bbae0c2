"""Which database a ProfileRepo opens, and where its spool goes."""
from __future__ import annotations

from pathlib import Path

import pytest

from dprof.repo import ProfileRepo, StorageWarning, data_dir, default_database_url, resolve_url
from dprof.repo.url import spool_path

pytestmark = pytest.mark.core


def test_default_is_a_sqlite_file_in_the_xdg_data_dir(tmp_path, monkeypatch, make_profile):
    monkeypatch.delenv("DPROF_DATABASE_URL", raising=False)
    monkeypatch.delenv("DPROF_SPOOL_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "dprof"
    assert resolve_url(None) == default_database_url() == \
        f"sqlite:///{tmp_path / 'xdg' / 'dprof' / 'profiles.db'}"
    repo = ProfileRepo()
    p = make_profile(1)
    repo.add(p)
    assert (tmp_path / "xdg" / "dprof" / "profiles.db").is_file()
    assert repo.spool.path.parent == tmp_path / "xdg" / "dprof"
    assert ProfileRepo(tmp_path / "xdg" / "dprof" / "profiles.db").get(p.id) == p


def test_home_fallback_when_xdg_is_unset_or_relative(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert data_dir() == tmp_path / ".local" / "share" / "dprof"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")     # the spec says: ignore it
    assert data_dir() == tmp_path / ".local" / "share" / "dprof"


def test_environment_variable_and_argument_override(monkeypatch, tmp_path):
    monkeypatch.setenv("DPROF_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    assert resolve_url(None) == f"sqlite:///{tmp_path}/env.db"
    assert resolve_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert ProfileRepo(spool_dir=tmp_path).url == f"sqlite:///{tmp_path}/env.db"


def test_plain_paths_and_driverless_postgres(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert resolve_url("sub/p.db") == f"sqlite:///{tmp_path}/sub/p.db"
    assert resolve_url(Path("/x/y.db")) == "sqlite:////x/y.db"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_url("~/a.db") == f"sqlite:///{tmp_path}/a.db"
    assert resolve_url("postgresql://u:pw@h:5432/db") == "postgresql+psycopg://u:pw@h:5432/db"
    with pytest.raises(ValueError, match="empty"):
        resolve_url("  ")
    with pytest.raises(TypeError, match="url"):
        resolve_url(42)


def test_spool_file_is_per_database_and_hides_nothing_secret(tmp_path, monkeypatch,
                                                             make_profile):
    monkeypatch.setenv("DPROF_SPOOL_DIR", str(tmp_path / "s"))
    a = spool_path("postgresql+psycopg://u:secret@h/db")
    b = spool_path("postgresql+psycopg://u:secret@h/other")
    assert a.parent == tmp_path / "s" and a != b and "secret" not in str(a)
    repo = ProfileRepo("postgresql+psycopg://u:secret@127.0.0.1:1/db", spool_dir=tmp_path,
                       timeout=1)
    assert "secret" not in repr(repo)
    with pytest.warns(StorageWarning) as caught:
        repo.add(make_profile(1))
    assert "secret" not in str(caught[0].message) and "u:***@" in str(caught[0].message)
