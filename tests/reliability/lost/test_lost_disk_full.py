"""A full disk costs one spool append per call, not a retry of the whole spool
(issue 15: with 400 profiles spooled, each decorated 10 ms call took 430-560 ms,
every call re-reading and re-trying the spool). The disk is really full: the
database lives on a small tmpfs filled to ENOSPC. The work is counted (spool reads,
flush attempts, appends), never timed."""
from __future__ import annotations

import warnings

import pytest

import dprof
from dprof.repo import ProfileRepo
from dprof.repo import spool as spool_module
from dprof.repo.spool import Spool

from lost_helpers import a_profile, fill, sqlite_url, tmpfs

SPOOLED_BEFORE = 400
CALLS = 20


class Counts:
    def __init__(self, monkeypatch):
        self.reads = self.flushes = self.appends = 0
        read_all, flush, append = spool_module._read_all, Spool.flush, Spool.append

        def counted_read_all(fd):
            self.reads += 1
            return read_all(fd)

        def counted_flush(spool, store):
            self.flushes += 1
            return flush(spool, store)

        def counted_append(spool, profiles):
            self.appends += 1
            return append(spool, profiles)

        # spies: each calls the real function (real file, real lock)
        monkeypatch.setattr(spool_module, "_read_all", counted_read_all)
        monkeypatch.setattr(Spool, "flush", counted_flush)
        monkeypatch.setattr(Spool, "append", counted_append)


@pytest.mark.core
def test_full_disk_costs_one_append_per_call(tmp_path, monkeypatch):
    with tmpfs(tmp_path / "disk", "2m") as disk:
        db_path, spool_dir = disk / "p.db", tmp_path / "spool"
        monkeypatch.setenv("DPROF_SPOOL_DIR", str(spool_dir))
        url = sqlite_url(db_path)
        # a long-running process that has stored before: its connection to the
        # database stays open (so SQLite's WAL index exists when the disk fills)
        with dprof.profile("first", repo=url, resources=False):
            pass
        spool_path = ProfileRepo(db_path, spool_dir=spool_dir).spool.path
        # the backlog a long outage leaves: 400 profiles waiting in the spool
        Spool(spool_path).append([a_profile(f"old{i}") for i in range(SPOOLED_BEFORE)])
        filler = fill(disk)

        @dprof.profiler(repo=url, name="task", resources=False)
        def task(i):
            return i * 2

        counts = Counts(monkeypatch)
        outcomes = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(CALLS):
                with dprof.profile("task", repo=url, resources=False) as run:
                    pass
                outcomes.append(getattr(getattr(run, "stored", None), "status", None))
                assert task(i) == i * 2              # the decorated call still works
        assert counts.flushes == 0 and counts.reads == 0, (
            f"{counts.flushes} spool flushes and {counts.reads} reads of the whole spool "
            f"while the disk was full")
        assert outcomes == ["spooled"] * CALLS
        assert counts.appends == 2 * CALLS          # one per profile, nothing more
        assert len(Spool(spool_path).read()) == SPOOLED_BEFORE + 2 * CALLS

        # the disk has room again: the next write is stored, and the spool follows once
        filler.unlink()
        counts.reads = counts.flushes = 0
        with dprof.profile("after", repo=url, resources=False) as run:
            pass
        assert run.stored.status == "stored", run.stored
        assert counts.flushes == 1
        assert not Spool(spool_path).pending()
        check = ProfileRepo(db_path, spool_dir=spool_dir)
        try:
            assert len(check.query()) == 1 + SPOOLED_BEFORE + 2 * CALLS + 1   # none lost
        finally:
            check.close()
