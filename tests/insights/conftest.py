"""The insights tests: statistics on arrays in memory, and analyses over real
ProfileRepo SQLite files in tmp_path."""
import pytest

from dprof.repo import ProfileRepo


@pytest.fixture
def repo(tmp_path):
    r = ProfileRepo(tmp_path / "profiles.db", spool_dir=tmp_path / "spool")
    yield r
    r.close()
