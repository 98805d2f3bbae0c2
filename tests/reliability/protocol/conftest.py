"""Each protocol scenario starts from a clean profile registry.

Some scenarios drive user code that is buggy on purpose (a coroutine that ignores
GeneratorExit, a generator abandoned mid-way): the profile it opened never ends, as
it never would in a real program, and stays registered as running on this thread.
In a real program that is the truth (the task is still open); across tests it would
make every later profile in the process look interleaved with it, so the registry
and the current-profile variable are put back as they were after each test. A
recording whose generator has been collected gives back its counters at the next
profile start (dprof.task.recorder.release_abandoned), which is done here at once, so
that a later test sees no user of the raise counter left by this one."""
import gc

import pytest

from dprof.task import recorder, scope


@pytest.fixture(autouse=True)
def _profile_registry_restored():
    before_active = dict(scope._active)
    before_current = scope._current.get()
    yield
    gc.collect()
    recorder.release_abandoned()
    for key in list(scope._active):
        if key not in before_active:
            del scope._active[key]
    scope._current.set(before_current)
