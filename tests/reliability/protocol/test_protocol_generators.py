"""A ``@profiler`` generator behaves as the undecorated one under every protocol call
(next, send, throw, close, early exit, garbage collection), and its profile says how
it ended: a generator left early is "ok" (tagged ``closed_early``), not failed.

Differential: each scenario (protocol_scenarios.py) is played on the undecorated and
on the decorated generator and the two records must be equal.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dprof
from protocol_scenarios import (EXCEPTIONS, REACTIONS, assert_same, make_generator,
                                run_generator)

pytestmark = pytest.mark.core


def profiled(fn, profiles):
    return dprof.profiler(store=False, resources=False, on_profile=profiles.append)(fn)


def play(reactions, length, ops):
    """(record undecorated, record decorated, logs, profiles of the decorated)."""
    plain_log, deco_log, profiles = [], [], []
    plain = run_generator(make_generator(reactions, length, plain_log), ops)
    deco = run_generator(profiled(make_generator(reactions, length, deco_log), profiles),
                         ops)
    return plain, deco, plain_log, deco_log, profiles


def expected_profile(record):
    """From the undecorated record: None (no profile: never started, or stuck
    ignoring GeneratorExit when collected), else (status, exception type, closed
    early)."""
    state = "GEN_CREATED"
    got_exit = False
    for entry in record[:-1]:
        op, out, new_state = entry
        if state == "GEN_SUSPENDED" and (op[0] == "close" or op[1:2] == ("GeneratorExit",)):
            got_exit = True
        if new_state == "GEN_CLOSED":
            if state == "GEN_CREATED" and op[0] != "next":
                return None                    # closed before it ever ran
            if out[0] == "raised" and out[1] != "GeneratorExit":
                return ("failed", out[1], got_exit)
            return ("ok", None, got_exit or (out[0] == "raised"))
        state = new_state
    if state != "GEN_SUSPENDED":
        return None
    reported = record[-1][1]                   # closed by garbage collection
    if not reported:
        return ("ok", None, True)
    kind, message = reported[0]
    if "ignored GeneratorExit" in message:
        return None                            # its frame is freed without an end
    return ("failed", kind, True)


def check_profile(record, profiles):
    want = expected_profile(record)
    if want is None:
        assert profiles == []
        return
    assert len(profiles) == 1, profiles
    p = profiles[0]
    status, exc_type, closed_early = want
    assert (p.status, p.exception_type) == (status, exc_type)
    assert (p.tags.get("closed_early") == "true") == closed_early


ops_strategy = st.lists(st.one_of(
    st.just(("next",)),
    st.tuples(st.just("send"), st.integers(-3, 3)),
    st.tuples(st.just("throw"), st.sampled_from(sorted(set(EXCEPTIONS) - {"StopAsyncIteration"})),
              st.text("abc", max_size=3)),
    st.just(("close",)),
), max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reactions=st.lists(st.sampled_from(REACTIONS), min_size=1, max_size=4),
       length=st.integers(0, 4), ops=ops_strategy)
def test_any_protocol_sequence_behaves_as_undecorated(reactions, length, ops):
    plain, deco, plain_log, deco_log, profiles = play(reactions, length, ops)
    assert_same(plain, deco, plain_log, deco_log)
    check_profile(plain, profiles)



@pytest.mark.parametrize("ops, reactions", [
    # yield from turns throw(GeneratorExit) into close(): RuntimeError instead of a value
    ([("next",), ("throw", "GeneratorExit", "x"), ("next",)], ["yield"]),
    # the generator's own handler sees the very exception object, and no other
    ([("next",), ("throw", "ValueError", "v"), ("send", 2)], ["swallow"]),
    # an exception the user's code raises after handling one has no stray __context__
    ([("next",), ("throw", "KeyError", "k"), ("next",), ("throw", "Custom", "c")],
     ["swallow", "reraise"]),
    # close() returns what the generator returns on GeneratorExit (3.13+; None before)
    ([("next",), ("close",)], ["return"]),
    # a generator that ignores GeneratorExit: close() raises RuntimeError as undecorated
    ([("next",), ("close",), ("next",)], ["yield"]),
])
def test_cases_yield_from_got_wrong(ops, reactions):
    plain, deco, plain_log, deco_log, profiles = play(reactions, 4, ops)
    assert_same(plain, deco, plain_log, deco_log)
    check_profile(plain, profiles)


def test_break_is_an_early_exit_not_a_failure():
    profiles = []

    @dprof.profiler(store=False, resources=False, on_profile=profiles.append)
    def numbers():
        yield from range(10)

    for n in numbers():
        if n == 2:
            break
    assert len(profiles) == 1
    p = profiles[0]
    assert p.status == "ok" and p.exception_type is None
    assert p.tags["closed_early"] == "true"
    for n in numbers():          # run to the end: not tagged
        pass
    assert profiles[1].status == "ok" and "closed_early" not in profiles[1].tags


def test_generator_failure_is_recorded_failed():
    profiles = []

    @dprof.profiler(store=False, resources=False, on_profile=profiles.append)
    def broken():
        yield 1
        raise KeyError("gone")

    with pytest.raises(KeyError, match="gone"):
        list(broken())
    assert (profiles[0].status, profiles[0].exception_type) == ("failed", "KeyError")


def test_with_profile_inside_a_generator_closed_early_is_ok():
    runs = []

    def gen():
        with dprof.profile("block", store=False, resources=False) as run:
            runs.append(run)
            yield 1
            yield 2

    g = gen()
    next(g)
    g.close()
    assert runs[0].profile.status == "ok"
    assert runs[0].profile.tags["closed_early"] == "true"


def test_yield_from_a_decorated_generator_gets_its_return_value():
    @dprof.profiler(store=False, resources=False)
    def inner():
        got = yield "a"
        return ("inner returned", got)

    def outer():
        result = yield from inner()
        yield result

    g = outer()
    assert next(g) == "a"
    assert g.send("x") == ("inner returned", "x")


def test_contextmanager_over_a_decorated_generator_behaves_as_undecorated():
    """contextlib relies on throw() re-raising the very exception object."""
    def make(log):
        def cm(suppress):
            log.append("enter")
            try:
                yield "resource"
            except ValueError as exc:
                log.append(("caught", str(exc)))
                if not suppress:
                    raise
            finally:
                log.append("exit")
        return cm

    def scenario(cm):
        out = []
        for suppress, raise_what in [(True, ValueError("a")), (False, ValueError("b")),
                                     (False, KeyError("c")), (True, None),
                                     (False, StopIteration("d"))]:
            try:
                with contextlib.contextmanager(cm)(suppress) as value:
                    out.append(value)
                    if raise_what is not None:
                        raise raise_what
                out.append("no exception out")
            except BaseException as exc:
                out.append((type(exc).__name__, str(exc), exc is raise_what))
        return out

    plain_log, deco_log, profiles = [], [], []
    assert scenario(profiled(make(deco_log), profiles)) == scenario(make(plain_log))
    assert deco_log == plain_log
    assert [p.status for p in profiles] == ["ok", "failed", "failed", "ok", "failed"]


def test_decorated_functions_look_like_the_originals():
    async def agen(x):
        """async generator doc"""
        yield x

    async def coro(x):
        """coroutine doc"""
        return x

    def gen(x):
        """generator doc"""
        yield x

    def plain(x):
        """plain doc"""
        return x

    for fn, kind in [(agen, inspect.isasyncgenfunction), (coro, inspect.iscoroutinefunction),
                     (gen, inspect.isgeneratorfunction), (plain, inspect.isfunction)]:
        fn.custom_attribute = 42
        wrapped = dprof.profiler(store=False)(fn)
        assert kind(wrapped), fn
        for other in (inspect.isasyncgenfunction, inspect.iscoroutinefunction,
                      inspect.isgeneratorfunction):
            if other is not kind:
                assert not other(wrapped), (fn, other)
        for name in functools.WRAPPER_ASSIGNMENTS:
            assert getattr(wrapped, name) == getattr(fn, name), (fn, name)
        assert wrapped.__wrapped__ is fn
        assert wrapped.custom_attribute == 42
        assert inspect.signature(wrapped) == inspect.signature(fn)


@pytest.mark.skipif(sys.version_info < (3, 13), reason="close() returns a value from 3.13")
def test_close_returns_the_generators_value_on_313():
    @dprof.profiler(store=False, resources=False)
    def gen():
        try:
            yield 1
        except GeneratorExit:
            return "closing value"

    g = gen()
    next(g)
    assert g.close() == "closing value"


def test_a_generator_collected_unfinished_gives_back_what_its_profile_held():
    # A generator that ignores GeneratorExit cannot be closed: collected, its frame
    # is cleared without the profile's `with` ever exiting. What that profile held
    # (the scope registry entry, the allocation and raise counters) must not stay
    # held for the rest of the process: it is given back at the next profile start.
    import gc

    from dprof.task import exceptions, scope
    profiles = []
    before_scope = set(scope._active)
    before_users = exceptions._state.users

    @dprof.profiler(store=False, resources=False, on_profile=profiles.append)
    def stubborn():
        while True:
            try:
                yield 1
            except GeneratorExit:
                pass

    it = stubborn()
    next(it)
    assert len(scope._active) == len(before_scope) + 1
    with pytest.raises(RuntimeError, match="ignored GeneratorExit"):
        it.close()
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None    # the second refusal, at collection
    try:
        del it
        gc.collect()
    finally:
        sys.unraisablehook = hook
    with dprof.profile("next", store=False, resources=False):
        assert set(scope._active) - before_scope != set()     # the new profile's own
    assert set(scope._active) == before_scope
    assert exceptions._state.users == before_users
    assert profiles == []      # a task that never ended has no profile to give
