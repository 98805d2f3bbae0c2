"""Scenario scripts for the differential protocol tests (imported as
``protocol_scenarios``; pytest puts this directory on sys.path).

A scenario is a user generator (or async generator, or coroutine) whose reaction to
each thrown exception is given by a list, plus a list of protocol calls made on it.
``run_*`` plays a scenario and returns everything observable: every value yielded,
returned or sent, every exception's type, message, ``__context__`` type and identity
(is it the very object thrown?), what the user's code saw (``sys.exc_info()`` after
handling, in ``finally``), the generator's state after each call, and what garbage
collection of the unfinished generator reported. The tests play each scenario on the
undecorated function and on the ``@profiler`` one and compare the two records.
"""
from __future__ import annotations

import asyncio
import sys
import types


class Custom(BaseException):
    """A BaseException that is not an Exception (like KeyboardInterrupt)."""


EXCEPTIONS = {"ValueError": ValueError, "KeyError": KeyError, "Custom": Custom,
              "GeneratorExit": GeneratorExit, "StopIteration": StopIteration,
              "StopAsyncIteration": StopAsyncIteration}

# what the user's code does with an exception thrown into it at a yield
REACTIONS = ("reraise", "swallow", "yield", "return", "raise_other")


def _describe(exc, thrown):
    context = exc.__context__
    return ("raised", type(exc).__name__, str(exc),
            type(context).__name__ if context is not None else None,
            exc is thrown)


def make_generator(reactions, length, log):
    """A generator function following ``reactions`` (one per step, cycled)."""
    def user(start):
        log.append(("started", start))
        try:
            for step in range(length):
                try:
                    got = yield ("item", start + step)
                    log.append(("got", got))
                except BaseException as exc:
                    log.append(("caught", type(exc).__name__, str(exc)))
                    how = reactions[step % len(reactions)]
                    if how == "reraise":
                        raise
                    if how == "return":
                        return ("returned", step)
                    if how == "raise_other":
                        raise ValueError(f"other at {step}")
                    if how == "yield":
                        got = yield ("after", step)
                        log.append(("got after", got))
                log.append(("exc_info after handling", repr(sys.exc_info()[1])))
            return ("done", length)
        finally:
            log.append(("finally", repr(sys.exc_info()[1])))
    return user


def _state(gen):
    import inspect
    return inspect.getgeneratorstate(gen)


def run_generator(func, ops):
    """Play ``ops`` on ``func(10)``; the record of everything observable."""
    record = []
    gen = func(10)
    for op in ops:
        thrown = None
        try:
            if op[0] == "next":
                out = ("value", next(gen))
            elif op[0] == "send":
                out = ("value", gen.send(op[1]))
            elif op[0] == "throw":
                thrown = EXCEPTIONS[op[1]](op[2])
                out = ("value", gen.throw(thrown))
            else:
                out = ("closed", gen.close())
        except StopIteration as stop:
            out = ("stop", stop.value, stop is thrown)
        except BaseException as exc:
            out = _describe(exc, thrown)
        record.append((op, out, _state(gen)))
    holder = [gen]
    del gen
    record.append(("collected", _collect(holder)))
    return record


def _collect(holder):
    """Drop the last reference to an unfinished generator (the one ``holder``
    holds): what its finalizer reported. No gc.collect(): the generator must be
    finalized as soon as it is dropped, as the undecorated one is (a reference cycle
    through the wrapper would defer it, and show as a difference)."""
    hook = sys.unraisablehook
    seen = []
    sys.unraisablehook = lambda info: seen.append(
        (type(info.exc_value).__name__, str(info.exc_value)))
    try:
        holder.pop()
    finally:
        sys.unraisablehook = hook
    return seen


# -- async generators ----------------------------------------------------------------

def make_async_generator(reactions, length, log):
    async def user(start):
        log.append(("started", start))
        try:
            for step in range(length):
                await asyncio.sleep(0)           # a real suspension to the loop
                try:
                    got = yield ("item", start + step)
                    log.append(("got", got))
                except BaseException as exc:
                    log.append(("caught", type(exc).__name__, str(exc)))
                    how = reactions[step % len(reactions)]
                    if how == "reraise":
                        raise
                    if how == "return":
                        log.append(("returning", step))
                        return
                    if how == "raise_other":
                        raise ValueError(f"other at {step}")
                    if how == "yield":
                        got = yield ("after", step)
                        log.append(("got after", got))
                log.append(("exc_info after handling", repr(sys.exc_info()[1])))
        finally:
            await asyncio.sleep(0)               # awaiting while closing is allowed
            log.append(("finally", repr(sys.exc_info()[1])))
    return user


def run_async_generator(func, ops):
    """Play ``ops`` (next/asend/athrow/aclose) in an event loop; the record."""
    record = []

    async def main():
        loop = asyncio.get_running_loop()
        reported = []
        loop.set_exception_handler(lambda loop, ctx: reported.append(
            (type(ctx.get("exception")).__name__, str(ctx.get("exception")))))
        agen = func(10)
        for op in ops:
            thrown = None
            try:
                if op[0] == "next":
                    out = ("value", await agen.__anext__())
                elif op[0] == "send":
                    out = ("value", await agen.asend(op[1]))
                elif op[0] == "throw":
                    thrown = EXCEPTIONS[op[1]](op[2])
                    out = ("value", await agen.athrow(thrown))
                else:
                    out = ("closed", await agen.aclose())
            except StopAsyncIteration as stop:
                out = ("stop", stop.args, stop is thrown)
            except BaseException as exc:
                out = _describe(exc, thrown)
            record.append((op, out, agen.ag_frame is None, agen.ag_running))
        # an unfinished async generator dropped: asyncio's finalizer hook acloses it
        del agen
        for _ in range(5):
            await asyncio.sleep(0)
        record.append(("collected", reported))

    hook = sys.unraisablehook
    seen = []
    sys.unraisablehook = lambda info: seen.append(
        (type(info.exc_value).__name__, str(info.exc_value)))
    try:
        asyncio.run(main())
    finally:
        sys.unraisablehook = hook
    record[-1] = ("collected", record[-1][1] + seen)
    return record


def assert_same(plain, deco, plain_log, deco_log):
    """The records are equal, but for one corner: a generator that ignores
    GeneratorExit (yields in its handler) when it is garbage collected. Undecorated,
    its frame is then freed; decorated, the wrapper's is, and dropping it finalizes
    the user's generator once more (PEP 442 runs a finalizer once per object, and
    that one has not run): its handler runs again and Python reports "ignored
    GeneratorExit" twice (under asyncio, the loop may also report the user's async
    generator "already running" while the wrapper's aclose() awaits it). Everything
    up to then is the same."""
    collected_plain, collected_deco = plain[-1][1], deco[-1][1]
    if any("ignored GeneratorExit" in message for _, message in collected_plain):
        assert deco[:-1] == plain[:-1]
        assert set(collected_plain) <= set(collected_deco)
        assert deco_log[:len(plain_log)] == plain_log
        return
    assert deco == plain
    assert deco_log == plain_log


# -- coroutines ------------------------------------------------------------------------

@types.coroutine
def suspend(value):
    """Suspend the coroutine, handing ``value`` to whoever drives it."""
    return (yield value)


def make_coroutine(reactions, length, log):
    async def user(start):
        log.append(("started", start))
        try:
            for step in range(length):
                try:
                    got = await suspend(("item", start + step))
                    log.append(("got", got))
                except BaseException as exc:
                    log.append(("caught", type(exc).__name__, str(exc)))
                    how = reactions[step % len(reactions)]
                    if how == "reraise":
                        raise
                    if how == "return":
                        return ("returned", step)
                    if how == "raise_other":
                        raise ValueError(f"other at {step}")
                    if how == "yield":
                        got = await suspend(("after", step))
                        log.append(("got after", got))
                log.append(("exc_info after handling", repr(sys.exc_info()[1])))
            return ("done", length)
        finally:
            log.append(("finally", repr(sys.exc_info()[1])))
    return user


def run_coroutine(func, ops):
    """Drive ``func(10)`` by hand with send/throw/close; the record."""
    import inspect
    record = []
    coro = func(10)
    for op in ops:
        thrown = None
        try:
            if op[0] == "next":
                out = ("value", coro.send(None))
            elif op[0] == "send":
                out = ("value", coro.send(op[1]))
            elif op[0] == "throw":
                thrown = EXCEPTIONS[op[1]](op[2])
                out = ("value", coro.throw(thrown))
            else:
                out = ("closed", coro.close())
        except StopIteration as stop:
            out = ("stop", stop.value, stop is thrown)
        except BaseException as exc:
            out = _describe(exc, thrown)
        record.append((op, out, inspect.getcoroutinestate(coro)))
    holder = [coro]
    del coro
    record.append(("collected", _collect(holder)))
    return record
