"""Many processes writing at once lose nothing (4 processes x 250 profiles, one add
each, real database), including when they all open a brand-new database together."""
from __future__ import annotations

import multiprocessing
import warnings

import pytest

from dprof.repo import ProfileRepo

WRITERS = 4
PER_WRITER = 250


def _writer(url, spool_dir, worker, build_profile, start_gate, result_queue):
    start_gate.wait()   # all writers open the new database at the same moment
    spooled = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        repo = ProfileRepo(url, spool_dir=spool_dir, timeout=60)
        for i in range(PER_WRITER):
            repo.add(build_profile(worker * PER_WRITER + i, process=f"writer{worker}",
                                   id=f"w{worker}-{i}"))
        repo.close()
        spooled = len(caught)
    result_queue.put((worker, spooled))


@pytest.mark.slow
def test_parallel_writers_lose_nothing(db_url, spool_dir, make_profile):
    ctx = multiprocessing.get_context("fork")
    gate = ctx.Barrier(WRITERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(db_url, spool_dir, w, make_profile, gate, results))
             for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    outcome = dict(results.get(timeout=5) for _ in range(WRITERS))
    assert outcome == {w: 0 for w in range(WRITERS)}, "no write should have needed the spool"

    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    df = repo.get_all()
    assert len(df) == WRITERS * PER_WRITER
    expected = {f"w{w}-{i}" for w in range(WRITERS) for i in range(PER_WRITER)}
    assert set(df["id"]) == expected
    assert df.groupby("process_name", observed=True).size().to_dict() == \
        {f"writer{w}": PER_WRITER for w in range(WRITERS)}


def _add_in_child(repo, profile):
    repo.add(profile)


@pytest.mark.core
def test_repo_opened_before_fork_works_in_child_and_parent(tmp_path, spool_dir, make_profile):
    repo = ProfileRepo(tmp_path / "fork.db", spool_dir=spool_dir)
    repo.add(make_profile(1))
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_add_in_child, args=(repo, make_profile(2, id="from-child")))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    repo.add(make_profile(3))            # the parent's connections were left alone
    assert repo.exists("from-child") and repo.count() == 3
