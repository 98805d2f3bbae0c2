""""stored" is said only when the profile was stored: a read-only database spools it
and says "spooled to PATH (why)"; with the spool unwritable too it is "lost: why".
The database is made read-only for real (a tmpfs remounted read-only: as root,
file modes do not stop writes)."""
from __future__ import annotations

import pytest

from dprof.repo import ProfileRepo

from lost_helpers import (a_profile, dprof_env, remount, run_dprof, sqlite_url,
                          stored_profiles, text, tmpfs)

BUSY = "import time\nt = time.time()\nwhile time.time() - t < 0.05: pass\n"


def _read_only_database(tmp_path):
    """A database holding one profile, on a file system then remounted read-only."""
    mount = tmp_path / "ro"
    ctx = tmpfs(mount, "4m")
    ctx.__enter__()
    repo = ProfileRepo(mount / "p.db", spool_dir=tmp_path / "unused")
    repo.add(a_profile("before"))     # (a StoreOutcome since issue 15; None before)
    repo.close()
    remount(mount, "ro")
    return mount, ctx


@pytest.mark.core
def test_read_only_database_is_said_spooled_not_stored(tmp_path):
    mount, ctx = _read_only_database(tmp_path)
    try:
        (tmp_path / "job.py").write_text(BUSY)
        db, spool = sqlite_url(mount / "p.db"), tmp_path / "spool"
        done = run_dprof(["run", "job.py"], tmp_path, dprof_env(db, spool))
        err = text(done.stderr)
        assert done.returncode == 0, err
        assert "stored" not in err, err
        spool_file, = spool.glob("spool-*.jsonl")
        assert f"spooled to {spool_file} (the database {db} could not be written" in err
        assert "dprof view" not in err             # nothing to view in the database yet
        # one line, not a warning with a source line
        assert "StorageWarning" not in err and "Warning:" not in err, err
        # the same with --quiet: the outcome is still said
        quiet = run_dprof(["run", "-q", "job.py"], tmp_path, dprof_env(db, spool))
        assert "spooled to" in text(quiet.stderr) and quiet.returncode == 0
        remount(mount, "rw")
        names = [p.process_name for p in stored_profiles(db, spool)]
        assert sorted(names) == ["before", "job.py", "job.py"]   # nothing was lost
    finally:
        ctx.__exit__(None, None, None)


@pytest.mark.core
def test_database_and_spool_unwritable_is_said_lost(tmp_path):
    mount, ctx = _read_only_database(tmp_path)
    try:
        (tmp_path / "job.py").write_text(BUSY + "raise SystemExit(3)\n")
        db = sqlite_url(mount / "p.db")
        done = run_dprof(["run", "job.py"], tmp_path, dprof_env(db, mount / "spool"))
        err = text(done.stderr)
        assert done.returncode == 3, err
        assert "stored" not in err.replace("could not store", ""), err
        lost_line, = [line for line in err.splitlines() if " lost: " in line]
        assert "could not store profile" in lost_line and "Read-only file system" in lost_line
    finally:
        ctx.__exit__(None, None, None)


@pytest.mark.core
def test_add_returns_what_happened(tmp_path):
    """ProfileRepo.add says stored / spooled / lost instead of letting the caller
    guess (a StoreOutcome, true only when stored)."""
    repo = ProfileRepo(tmp_path / "ok.db", spool_dir=tmp_path / "spool")
    outcome = repo.add(a_profile("fine"))
    assert outcome and outcome.status == "stored" and outcome.kept
    assert outcome.describe() == f"stored in sqlite:///{tmp_path / 'ok.db'}"
    repo.close()

    mount, ctx = _read_only_database(tmp_path)
    try:
        repo = ProfileRepo(mount / "p.db", spool_dir=tmp_path / "spool2")
        with pytest.warns(UserWarning, match="kept in the spool"):
            outcome = repo.add(a_profile("ro"))
        assert not outcome and outcome.status == "spooled" and outcome.kept
        assert outcome.where == str(repo.spool.path)
        assert outcome.describe().startswith(f"spooled to {repo.spool.path} (")
        repo.close()
        repo = ProfileRepo(mount / "p.db", spool_dir=mount / "spool")
        with pytest.warns(UserWarning, match="it is lost"):
            outcome = repo.add(a_profile("nowhere"))
        assert not outcome and outcome.status == "lost" and not outcome.kept
        assert outcome.describe().startswith("lost: could not store profile")
        repo.close()
    finally:
        ctx.__exit__(None, None, None)
