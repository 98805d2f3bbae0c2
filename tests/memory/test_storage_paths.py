"""A memory profile survives both ways into the database: ProfileRepo and the sqlite3
fast path (dprof/repo/direct.py) that a stored ``@profiler`` call takes on an existing
local database."""
import pytest

from dprof import ProfileRepo, profile
from dprof.repo import direct

pytestmark = pytest.mark.native


def _recorded():
    with profile("memory-stored", memory=True, stacks=True, store=False) as run:
        blocks = [bytearray(1 << 20) for _ in range(8)]     # 8 MiB, kept to the end
        del blocks[:4]
    assert run.profile.memory is not None
    return run.profile


@pytest.mark.parametrize("path", ["repo", "direct"])
def test_the_memory_profile_is_stored_whole(tmp_path, path):
    db = tmp_path / "profiles.db"
    ProfileRepo(db).close()                    # the database exists at the current schema
    recorded = _recorded()
    if path == "direct":
        assert direct.add_profile(db, recorded) is True
    else:
        repo = ProfileRepo(db)
        repo.add(recorded)
        repo.close()
    repo = ProfileRepo(db)
    got = repo.get(recorded.id)
    repo.close()
    assert got.memory is not None, f"the {path} path dropped the memory profile"
    assert got.memory.to_dict() == recorded.memory.to_dict()
    assert got.stacks is not None
