"""@profiler and profile(): what passes through, what is recorded, what is stored."""
import asyncio
import threading
import time
import warnings

import numpy as np
import pytest

import dprof
from dprof.session import ProfilerWarning, profile, profiler

pytestmark = pytest.mark.core


def test_return_value_and_record_of_a_plain_function(repo_url):
    @profiler
    def add(a, b):
        return a + b

    assert add(2, 3) == 5
    p = add.last_profile
    assert p.process_name.endswith("test_return_value_and_record_of_a_plain_function.<locals>.add")
    assert p.status == "ok" and p.exceptions_raised == 0
    assert p.runtime_seconds >= 0
    p.validate()        # the recorder's unvalidated fast path made a valid record
    stored = dprof.ProfileRepo(repo_url).get(p.id)
    assert stored is not None and stored.process_name == p.process_name


def test_exception_passes_through_and_failed_task_is_stored(repo_url):
    class Boom(Exception):
        pass

    @profiler(stage="load")
    def fail():
        raise Boom("disk on fire")

    with pytest.raises(Boom, match="disk on fire"):
        fail()
    p = fail.last_profile
    assert (p.status, p.exception_type, p.exception_message) == \
        ("failed", Boom.__qualname__, "disk on fire")
    assert p.exceptions_raised == 1 and p.stage == "load"
    p.validate()
    df = dprof.ProfileRepo(repo_url).query(status="failed")
    assert list(df["id"]) == [p.id]


def test_task_object_run_method_reads_identity_from_the_object(repo_url):
    class LoadOrders:
        env = "prod"
        stage = "extract"
        process_name = "load_orders"

        @profiler
        def run(self, n):
            return list(range(n))

    assert LoadOrders().run(3) == [0, 1, 2]
    p = LoadOrders.run.last_profile
    assert (p.process_name, p.env, p.stage) == ("load_orders", "prod", "extract")


def test_options_override_the_task_object(repo_url):
    class Task:
        env = "prod"
        stage = "extract"

        @profiler(stage="transform", store=False)
        def run(self):
            return "done"

    assert Task().run() == "done"
    p = Task.run.last_profile
    assert (p.env, p.stage) == ("prod", "transform")
    assert p.process_name.endswith("Task.run")
    assert dprof.ProfileRepo(repo_url).count() == 0


def test_generator_is_profiled_until_exhausted(repo_url):
    @profiler(store=False, resources=False)
    def numbers(n):
        for i in range(n):
            yield i
        return "end"

    gen = numbers(3)
    assert numbers.last_profile is None       # not started before the first next()
    assert list(gen) == [0, 1, 2]
    assert numbers.last_profile is not None and numbers.last_profile.status == "ok"


def test_coroutine_and_async_generator(repo_url):
    @profiler(store=False, resources=False)
    async def fetch(x):
        await asyncio.sleep(0.01)
        return x * 2

    @profiler(store=False, resources=False)
    async def stream(n):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    async def main():
        value = await fetch(21)
        items = [i async for i in stream(3)]
        return value, items

    assert asyncio.run(main()) == (42, [0, 1, 2])
    assert fetch.last_profile.runtime_seconds >= 0.009
    assert stream.last_profile.status == "ok"


def test_context_manager_record_is_reachable_afterwards(repo_url):
    with profile("block", stage="s", env="dev", tags={"team": "data"},
                 parameters={"n": 3}) as run:
        assert run.profile is None
        sum(range(1000))
    p = run.profile
    assert (p.process_name, p.stage, p.env, p.tags, p.parameters) == \
        ("block", "s", "dev", {"team": "data"}, {"n": 3})


@pytest.mark.needs_native(reason="counts allocations (C only)")
def test_nested_profiles_each_get_their_own_record(repo_url):
    with profile("outer", store=False, resources=False) as outer:
        with profile("inner", store=False, resources=False) as inner:
            [object() for _ in [None] * 20000]
        [object() for _ in [None] * 5000]
    # nesting is not overlap: both keep process scope
    assert outer.profile.sources["scope"] == inner.profile.sources["scope"] == "process"
    assert inner.profile.memory_allocations >= 20000
    assert outer.profile.memory_allocations >= inner.profile.memory_allocations + 5000
    assert outer.profile.runtime_seconds >= inner.profile.runtime_seconds


def test_concurrent_asyncio_tasks_are_flagged_as_sharing_their_thread(repo_url):
    async def task(name):
        with profile(name, store=False, resources=False) as run:
            await asyncio.sleep(0.02)
        return run.profile

    async def main():
        return await asyncio.gather(task("a"), task("b"))

    a, b = asyncio.run(main())
    assert a.sources["scope"] == b.sources["scope"] == \
        "process_shared_with_interleaved_tasks"


def test_unwritable_database_never_fails_the_task(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    from dprof import session
    session._repos.clear()

    @profiler(repo=f"sqlite:///{blocker}/sub/profiles.db")
    def task():
        return "ran"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert task() == "ran"
    assert task.last_profile.status == "ok"
    assert caught, "a warning must say the profile was not written"
    session._repos.clear()


def test_bad_options_raise_clear_errors():
    with pytest.raises(ValueError, match="interval"):
        profiler(interval=0)
    with pytest.raises(ValueError, match="name"):
        profile("")
    with pytest.raises(TypeError, match="callable"):
        profiler(42)


def test_profiler_failure_is_a_warning_not_an_error(repo_url, monkeypatch):
    from dprof.task import readings

    def broken():
        raise OSError("no /proc here")

    monkeypatch.setattr(readings, "reset_peak_rss", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @profiler(store=False, resources=False)
        def task():
            return 7

        assert task() == 7
    assert any(issubclass(w.category, ProfilerWarning) for w in caught)
    assert task.last_profile.status == "ok"


def test_measured_record_turns_a_negative_delta_into_missing():
    from datetime import datetime, timezone
    from dprof.record import Profile
    now = datetime.now(timezone.utc)
    p = Profile._from_measurement(process_name="t", task_start_time=now, task_end_time=now,
                                  runtime_seconds=0.1, network_data_sent_bytes=-5)
    assert p.network_data_sent_bytes is None
    assert "went backwards" in p.missing["network_data_sent_bytes"]
    assert p.missing["file_read_bytes"] == "not measured"
    p.validate()


@pytest.mark.needs_native(reason="expects the native sampler's reasons")
def test_stored_series_keeps_why_each_missing_column_is_missing(repo_url):
    from dprof import _native

    live = _native.Sampler(pid=0, interval=0.01, capacity=64, children=True)
    live.start()
    try:
        expected_reasons = live.missing()
    finally:
        live.stop()
    with profile("busy", resources=True, interval=0.01, repo=repo_url) as run:
        t_end = time.process_time() + 0.3
        while time.process_time() < t_end:
            pass
    recorded = run.profile
    assert recorded.resources is not None and len(recorded.resources["timestamp"]) >= 3

    repo = dprof.ProfileRepo(repo_url)
    stored = repo.get(recorded.id)
    assert stored == recorded
    expected = {k: v for k, v in expected_reasons.items() if k in stored.resources}
    assert stored.resources_missing == expected
    for column, values in stored.resources.items():
        if np.all(np.isnan(values)):
            assert stored.resources_missing.get(column), f"{column} is all NaN with no reason"
    df = repo.resources(recorded.id)
    assert df.attrs["missing"] == expected
    assert set(df.columns) == set(stored.resources)
    repo.close()
