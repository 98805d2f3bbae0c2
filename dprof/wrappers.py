"""The wrappers ``@profiler`` puts around a generator function and an async generator
function, so that the caller's every protocol call reaches the user's generator as it
would undecorated.

``next``/``send``/``throw``/``close`` (and ``asend``/``athrow``/``aclose``) are
forwarded one by one: the value sent, the very exception object thrown, and what the
user's generator does with it (yield, return, raise) come back unchanged. Closing is
forwarded as a throw of the same ``GeneratorExit``, so a generator that catches it
and returns a value, or yields again, behaves as undecorated.

Why not ``yield from`` and ``async for``: ``async for`` drops the value of ``asend()``
and handles ``athrow()`` in the wrapper instead of the user's generator; ``yield
from`` (PEP 380) turns a ``throw(GeneratorExit)`` into a ``close()`` of the inner
generator (one that catches it and yields then raises RuntimeError instead of
yielding), and from Python 3.13, where ``close()`` returns the value a generator
returns on ``GeneratorExit``, it discards that value. The explicit loop costs about
60 ns more per item than ``yield from`` on 3.11 and under 10 ns on 3.13
(benchmarks/decorator_overhead.py, case (d)).

An exception is thrown into the user's generator outside the wrapper's ``except``
clause: inside it, the wrapper would be "handling" the exception while the user's
code runs, and every exception the user's code raised next would get it as its
``__context__`` (and ``sys.exception()`` there would return it).

An async generator's first iteration calls the event loop's ``firstiter`` hook,
which registers it for closing at loop shutdown (``shutdown_asyncgens``). The user's
generator is the wrapper's business, not the loop's: were it registered too, the loop
would close it concurrently with the wrapper that is closing it (an "aclose(): asynchronous
generator is already running" error on stderr when its ``finally`` awaits). So its
first ``asend`` awaitable is made with the ``firstiter`` hook off (no other code
runs meanwhile).

Coroutines need none of this: ``await`` delegates ``send``/``throw``/``close``
exactly (the two corner cases it does not are listed in docs/reliability.md).
"""
from __future__ import annotations

import functools
import sys
from typing import Callable


def generator_wrapper(fn: Callable, make_run: Callable) -> Callable:
    """A generator function that runs ``fn``'s generator inside ``make_run(args)``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with make_run(args) as run:
            inner = fn(*args, **kwargs)
            send = inner.send
            try:
                item = send(None)
                while True:
                    try:
                        sent = yield item
                    except BaseException as exc:
                        thrown = exc       # thrown below, outside this handler
                        if isinstance(exc, GeneratorExit):
                            run._closed_early = True
                    else:
                        item = send(sent)
                        continue
                    try:
                        item = inner.throw(thrown)
                    finally:
                        thrown = None      # no cycle through the traceback's frame
            except StopIteration as stop:
                return stop.value
    return wrapper


def async_generator_wrapper(fn: Callable, make_run: Callable) -> Callable:
    """An async generator function that runs ``fn``'s inside ``make_run(args)``."""
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        with make_run(args) as run:
            inner = fn(*args, **kwargs)
            asend = inner.asend
            try:
                item = await _first_asend(inner)
                while True:
                    try:
                        sent = yield item
                    except BaseException as exc:
                        thrown = exc       # thrown below, outside this handler
                        if isinstance(exc, GeneratorExit):
                            run._closed_early = True
                    else:
                        item = await asend(sent)
                        continue
                    try:
                        item = await inner.athrow(thrown)
                    finally:
                        thrown = None
            except StopAsyncIteration:
                return
    return wrapper



def _first_asend(agen):
    """``agen.asend(None)``, without the thread's ``firstiter`` hook (the event
    loop's) seeing ``agen``. The hooks are called when the first asend/athrow/aclose
    awaitable is made, so they are off only for that call; ``agen`` keeps the
    loop's finalizer hook."""
    firstiter, finalizer = sys.get_asyncgen_hooks()
    if firstiter is None:
        return agen.asend(None)
    sys.set_asyncgen_hooks(firstiter=None, finalizer=finalizer)
    try:
        return agen.asend(None)
    finally:
        sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=finalizer)
