"""Faults injected for real, and what each costs in profiles (the target is 0):
a database that is locked, corrupt, or from a newer dprof; SIGKILL while appending
to the spool and while writing a ``-o`` file (SIGKILL while the profile is being
stored is in test_lost_exit.py, a full disk in test_lost_disk_full.py)."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from dprof.repo import ProfileRepo
from dprof.repo.spool import Spool

from lost_helpers import (PACKAGE_ROOT, a_profile, dprof_env, run_dprof, sqlite_url,
                          stored_profiles, text, tmpfs)


def _spooled_ids(spool_dir):
    ids = []
    for path in spool_dir.glob("spool-*.jsonl"):
        ids += [p.id for p in Spool(path).read()]
    return ids


@pytest.mark.core
@pytest.mark.parametrize("damage", ["random bytes", "truncated", "newer schema"])
def test_a_damaged_or_newer_database_spools_and_says_so(tmp_path, damage):
    db_path = tmp_path / "p.db"
    if damage == "newer schema":
        ProfileRepo(db_path, spool_dir=tmp_path / "unused").close()
        conn = sqlite3.connect(str(db_path))
        conn.execute("UPDATE dprof_schema_version SET version_num = '9999_future'")
        conn.commit()
        conn.close()
    else:
        ProfileRepo(db_path, spool_dir=tmp_path / "unused").add(a_profile("x"))
        raw = db_path.read_bytes()
        db_path.write_bytes(os.urandom(len(raw)) if damage == "random bytes"
                            else raw[:100] + os.urandom(len(raw) - 100))
    (tmp_path / "job.py").write_text("x = sum(range(1000))\n")
    spool = tmp_path / "spool"
    done = run_dprof(["run", "job.py"], tmp_path, dprof_env(sqlite_url(db_path), spool))
    err = text(done.stderr)
    assert done.returncode == 0, err
    spooled_line, = [line for line in err.splitlines() if "spooled to" in line]
    assert (("upgrade dprof" in spooled_line) if damage == "newer schema"
            else ("not a database" in spooled_line or "malformed" in spooled_line)), err
    assert len(_spooled_ids(spool)) == 1        # kept, nothing lost


@pytest.mark.core
def test_a_locked_database_spools_then_flushes_when_free(tmp_path):
    db_path, spool = tmp_path / "p.db", tmp_path / "spool"
    ProfileRepo(db_path, spool_dir=spool).close()
    lock = sqlite3.connect(str(db_path), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")               # another writer holds the lock
    repo = ProfileRepo(db_path, spool_dir=spool, timeout=0.3)
    try:
        with pytest.warns(UserWarning, match="kept in the spool"):
            outcome = repo.add(a_profile("while locked"))
        assert outcome.status == "spooled" and "locked" in outcome.reason
        lock.execute("ROLLBACK")
        assert repo.add(a_profile("after")).status == "stored"
        names = sorted(p.process_name for p in stored_profiles(sqlite_url(db_path), spool))
        assert names == ["after", "while locked"]   # the spool followed the write
        assert not repo.spool.pending()
    finally:
        lock.close()
        repo.close()


_APPENDER = textwrap.dedent("""
    import sys, uuid
    from datetime import datetime, timezone
    sys.path.insert(0, {root!r})
    from dprof.record import Profile
    from dprof.repo.spool import Spool
    now = datetime.now(timezone.utc)
    big = "x" * 20000
    batch = [Profile(process_name="killed-batch", task_start_time=now, task_end_time=now,
                     id=uuid.uuid4().hex, parameters={{"pad": big}}) for _ in range(4000)]
    print("ready", flush=True)
    Spool({path!r}).append(batch)
    print("appended", flush=True)
""")


@pytest.mark.core
def test_sigkill_while_appending_to_the_spool_loses_no_earlier_profile(tmp_path):
    spool_path = tmp_path / "spool-test.jsonl"
    earlier = [a_profile(f"earlier{i}") for i in range(5)]
    Spool(spool_path).append(earlier)
    size_before = spool_path.stat().st_size
    proc = subprocess.Popen([sys.executable, "-c",
                             _APPENDER.format(root=PACKAGE_ROOT, path=str(spool_path))],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    deadline = time.monotonic() + 60
    while spool_path.stat().st_size == size_before and time.monotonic() < deadline:
        pass                                      # kill it as soon as it writes
    proc.kill()
    proc.wait()
    # the dead appender's lock is gone with it: a flush neither hangs nor loses
    # the earlier profiles; a cut last line goes to .rejected, not into the void
    repo = ProfileRepo(tmp_path / "p.db", spool_dir=tmp_path / "unused")
    try:
        moved = Spool(spool_path).flush(repo._store_new)
        names = [p.process_name for p in stored_profiles(sqlite_url(tmp_path / "p.db"),
                                                         tmp_path / "unused")]
    finally:
        repo.close()
    assert sorted(n for n in names if n.startswith("earlier")) == \
        sorted(p.process_name for p in earlier)
    assert moved == len(names)
    rejected = tmp_path / "spool-test.jsonl.rejected"
    cut = rejected.read_bytes().count(b"\n") if rejected.exists() else 0
    assert cut <= 1                               # at most the line being written
    assert not Spool(spool_path).pending()


_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from dprof.cli.output import atomic_file
    with atomic_file({path!r}) as fh:
        print("writing", flush=True)
        chunk = "y" * (1 << 20)
        while True:                # until killed
            fh.write(chunk)
""")


@pytest.mark.core
def test_sigkill_while_writing_an_output_file_leaves_the_old_one_whole(tmp_path):
    out = tmp_path / "profile.json"
    old = json.dumps({"old": "profile"})
    out.write_text(old)
    proc = subprocess.Popen([sys.executable, "-c",
                             _WRITER.format(root=PACKAGE_ROOT, path=str(out))],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "writing\n"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert out.read_text() == old                 # whole: the old file, not half a new one
    leftovers = list(tmp_path.glob(".dprof-*"))
    assert leftovers and leftovers[0].stat().st_size > 0   # the cut temporary file


@pytest.mark.core
@pytest.mark.parametrize("verb", ["export", "insights"])
def test_output_files_of_read_verbs_are_written_atomically(tmp_path, verb):
    """``-o`` of the read verbs goes through a temporary file renamed over the
    target too (seen from outside as a new inode; writing in place keeps the old
    one, and a kill then leaves half a file)."""
    db = sqlite_url(tmp_path / "p.db")
    repo = ProfileRepo(tmp_path / "p.db", spool_dir=tmp_path / "spool")
    repo.add(a_profile("x", env="e"))
    repo.close()
    out = tmp_path / ("out.csv" if verb == "export" else "out.txt")
    out.write_text("old")
    inode = out.stat().st_ino
    args = ["export", "--format", "csv", "-o", str(out)] if verb == "export" else \
        ["insights", "-o", str(out)]
    done = run_dprof(args, tmp_path, dprof_env(db, tmp_path / "spool"))
    assert done.returncode == 0, text(done.stderr)
    assert out.read_text() != "old" and out.stat().st_ino != inode
    assert not list(tmp_path.glob(".dprof-*"))


@pytest.mark.core
def test_a_cut_last_line_costs_only_itself(tmp_path):
    """What a writer killed mid-append leaves (a line without its end) must not
    swallow the next profile appended after it."""
    spool_path = tmp_path / "spool-cut.jsonl"
    Spool(spool_path).append([a_profile("before")])
    with open(spool_path, "ab") as fh:
        fh.write(b'{"process_name": "cut in the mid')      # no newline: killed here
    after = a_profile("after")
    Spool(spool_path).append([after])
    names = sorted(p.process_name for p in Spool(spool_path).read())
    assert names == ["after", "before"]


@pytest.mark.core
def test_disk_full_while_appending_leaves_the_spool_as_it_was(tmp_path):
    with tmpfs(tmp_path / "disk", "256k") as disk:
        spool = Spool(disk / "spool-full.jsonl")
        spool.append([a_profile(f"kept{i}") for i in range(3)])
        before = spool.path.read_bytes()
        huge = [a_profile("huge", parameters={"pad": "z" * 400_000})]
        with pytest.raises(OSError):
            spool.append(huge)                 # ENOSPC part-way through the line
        assert spool.path.read_bytes() == before
        spool.append([a_profile("next")])      # a small one still fits
        names = sorted(p.process_name for p in spool.read())
        assert names == ["kept0", "kept1", "kept2", "next"]
