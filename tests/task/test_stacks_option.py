"""profile(..., stacks=True) attaches a stack profile of the task, stored with it."""
import pytest

import dprof
from dprof.session import profile, profiler
from dprof.stacks import CPU_PYTHON, StackProfile

pytestmark = pytest.mark.core


def spin(n):
    total = 0
    for i in range(n):
        total += i * i          # the hot line
    return total


def test_decorated_task_records_where_its_time_went(repo_url):
    @profiler(stacks=True, stack_hz=200)
    def task():
        return spin(3_000_000)

    task()
    p = task.last_profile
    assert isinstance(p.stacks, StackProfile)
    by_function = {}
    for row in p.stacks.rows:
        names = [f.function for f in p.stacks.stack_frames(row.stack_id)]
        if "spin" in names:
            by_function["spin"] = by_function.get("spin", 0.0) + row.seconds
    assert by_function.get("spin", 0) > 0.5 * p.stacks.total_seconds()
    assert p.stacks.seconds_by_category()[CPU_PYTHON] > 0
    stored = dprof.ProfileRepo(repo_url).stacks(p.id)
    assert stored is not None and len(stored.rows) == len(p.stacks.rows)


def test_without_stacks_the_profile_has_none(repo_url):
    with profile("plain", store=False) as run:
        spin(1000)
    assert run.profile.stacks is None


def test_dprofs_own_threads_are_left_out_of_the_stack_profile():
    import threading
    import time
    from dprof.stacks import StackSampler
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, name="dprof-test-helper")
    user = threading.Thread(target=stop.wait, name="user-worker")
    helper.start()
    user.start()
    try:
        with StackSampler(hz=200) as sampler:
            time.sleep(0.2)
    finally:
        stop.set()
        helper.join()
        user.join()
    names = set(sampler.profile.thread_names.values())
    assert "user-worker" in names
    assert "dprof-test-helper" not in names
    assert "dprof-test-helper" in sampler.profile.meta["excluded_own_threads"]
