"""A profile that cannot be stored is spooled (never raised), and the spool is moved
into the database once it can be written again. Every failure here is real: a path
that cannot exist, a lock held by another connection, a read-only folder (as an
unprivileged user), a server that is not there."""
from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import stat
import tempfile
import warnings

import pytest

from dprof.repo import ProfileRepo, StorageError, StorageWarning

pytestmark = pytest.mark.core


def _spool_files(spool_dir):
    return sorted(p.name for p in spool_dir.iterdir())


def test_unreachable_path_spools_then_flushes_on_next_open(tmp_path, spool_dir, make_profile):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the database folder should be")
    db_path = blocker / "profiles.db"
    repo = ProfileRepo(db_path, spool_dir=spool_dir)
    assert repo.last_error is not None
    p1, p2 = make_profile(1, with_attachments=True), make_profile(2)
    with pytest.warns(StorageWarning, match="spool") as caught:
        repo.add(p1)
        repo.add_many([p2])
    assert p1.id in str(caught[0].message)
    assert [q.id for q in repo.spool.read()] == [p1.id, p2.id]
    with pytest.raises(StorageError, match="cannot open"):
        repo.get_all()

    blocker.unlink()          # the problem goes away
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = ProfileRepo(db_path, spool_dir=spool_dir)
    assert fixed.get(p1.id) == p1 and fixed.get(p2.id) == p2
    assert not repo.spool.pending()
    # the first repo object recovers too, on its next add
    p3 = make_profile(3)
    repo.add(p3)
    assert fixed.count() == 3


def test_lock_held_too_long_spools_then_next_add_flushes(tmp_path, spool_dir, make_profile):
    path = tmp_path / "locked.db"
    repo = ProfileRepo(path, spool_dir=spool_dir, timeout=0.3)
    first = make_profile(1)
    repo.add(first)
    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")          # another writer that does not let go
    try:
        blocked = make_profile(2)
        with pytest.warns(StorageWarning, match="locked"):
            repo.add(blocked)
        assert [q.id for q in repo.spool.read()] == [blocked.id]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    later = make_profile(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repo.add(later)
    assert set(repo.get_all()["id"]) == {first.id, blocked.id, later.id}
    assert not repo.spool.pending()


def _add_as_unprivileged(db_path, spool_dir, profile_dict, queue):
    """Child process: drop root (if any), then try to write to a read-only database."""
    from dprof.record import Profile

    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)     # nobody: file permissions now apply
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        repo = ProfileRepo(db_path, spool_dir=spool_dir, timeout=1)
        repo.add(Profile.from_dict(profile_dict))
    queue.put([str(w.message) for w in caught if issubclass(w.category, StorageWarning)])


@pytest.mark.parametrize("read_only", ["folder", "file"])
def test_read_only_database_spools_then_flushes(read_only, make_profile):
    # pytest's tmp_path is private to root; this folder must be reachable by "nobody".
    base = tempfile.mkdtemp(prefix="dprof-ro-")
    try:
        os.chmod(base, 0o755)
        db_dir = os.path.join(base, "db")
        shared_spool = os.path.join(base, "spool")
        os.mkdir(db_dir)
        os.mkdir(shared_spool)
        os.chmod(shared_spool, 0o777)
        db_path = os.path.join(db_dir, "profiles.db")
        stored = make_profile(1)
        ProfileRepo(db_path, spool_dir=shared_spool).add(stored)
        for name in os.listdir(db_dir):
            os.chmod(os.path.join(db_dir, name), 0o444)
        if read_only == "folder":
            os.chmod(db_dir, 0o555)
        elif os.geteuid() == 0:
            os.chown(db_dir, 65534, 65534)      # the folder is writable, the files are not

        p = make_profile(2, with_attachments=True)
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_add_as_unprivileged,
                            args=(db_path, shared_spool, p.to_dict(), queue))
        child.start()
        child.join(timeout=120)
        assert child.exitcode == 0, "add() must not raise"
        messages = queue.get(timeout=5)
        assert len(messages) == 1 and p.id in messages[0] and "spool" in messages[0]

        os.chmod(db_dir, 0o755)                 # fixed
        for name in os.listdir(db_dir):
            os.chmod(os.path.join(db_dir, name), 0o644)
        repo = ProfileRepo(db_path, spool_dir=shared_spool)
        assert repo.get(p.id) == p and repo.get(stored.id) == stored
        assert not repo.spool.pending()
    finally:
        for root, dirs, _ in os.walk(base):
            for d in dirs:
                os.chmod(os.path.join(root, d), stat.S_IRWXU)
        import shutil
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("url", ["nosuchdialect://host/db",
                                 "postgresql+psycopg://nobody@127.0.0.1:{port}/none"])
def test_bad_url_or_absent_server_spools(url, spool_dir, make_profile):
    import socket

    with socket.socket() as s:     # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repo = ProfileRepo(url.format(port=port), spool_dir=spool_dir, timeout=2)
    p = make_profile(1)
    with pytest.warns(StorageWarning, match="spool"):
        repo.add(p)
    assert [q.id for q in repo.spool.read()] == [p.id]
    with pytest.raises(StorageError):
        repo.count()


def test_each_database_has_its_own_spool(tmp_path, spool_dir, make_profile):
    blocker = tmp_path / "file"
    blocker.write_text("")
    bad = ProfileRepo(blocker / "a.db", spool_dir=spool_dir)
    with pytest.warns(StorageWarning):
        bad.add(make_profile(1))
    other = ProfileRepo(tmp_path / "b.db", spool_dir=spool_dir)
    assert other.count() == 0                 # not flushed into the wrong database
    assert bad.spool.pending() and bad.spool.path != other.spool.path


def test_spool_that_cannot_be_written_warns_that_the_profile_is_lost(tmp_path, make_profile):
    blocker = tmp_path / "file"
    blocker.write_text("")
    repo = ProfileRepo(blocker / "x.db", spool_dir=blocker / "spool")
    with pytest.warns(StorageWarning, match="lost"):
        repo.add(make_profile(1))          # and nothing raised


def test_unreadable_spool_lines_are_set_aside_not_dropped(tmp_path, spool_dir, make_profile):
    repo = ProfileRepo(tmp_path / "db.sqlite", spool_dir=spool_dir)
    good = make_profile(5)
    with open(repo.spool.path, "w") as f:
        f.write(json.dumps(good.to_dict()) + "\n")
        f.write('{"format": 1, "process_name": "cut sho\n')
    assert repo.flush_spool() == 1
    assert repo.get(good.id) == good
    rejected = open(str(repo.spool.path) + ".rejected").read()
    assert "cut sho" in rejected
    assert not repo.spool.pending()


def test_flush_is_idempotent_when_part_was_already_stored(tmp_path, spool_dir, make_profile):
    repo = ProfileRepo(tmp_path / "db.sqlite", spool_dir=spool_dir)
    a, b = make_profile(1), make_profile(2)
    repo.add(a)
    repo.spool.append([a, b])      # as if a flush had stopped after storing a
    assert repo.flush_spool() == 2
    assert repo.count() == 2 and repo.get(b.id) == b


def test_flush_spool_counts_what_it_moved_when_the_repo_was_not_open(tmp_path, spool_dir,
                                                                      make_profile):
    blocker = tmp_path / "file"
    blocker.write_text("")
    repo = ProfileRepo(blocker / "x.db", spool_dir=spool_dir)
    with pytest.warns(StorageWarning):
        repo.add_many([make_profile(1), make_profile(2)])
    blocker.unlink()
    assert repo.flush_spool() == 2
    assert repo.count() == 2
