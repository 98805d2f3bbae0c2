"""``@profiler`` and ``profile()``: wrap a task and record its Profile.

``profile("name")`` is a context manager; ``@profiler`` decorates a function, a
coroutine function, a generator function, an async generator function, or a task
object's ``run`` method (reading ``env``, ``stage`` and ``process_name`` from the
object, as pipeline task classes carry them). Return values and exceptions pass
through unchanged; a failed task is recorded with status "failed". A generator the
caller leaves early (``break``, ``close()``, garbage collection: ``GeneratorExit``
through the block) is not a failure: status "ok", tagged ``closed_early``. The
wrappers forward every generator protocol call (dprof/wrappers.py).

A forked child that leaves a profile its parent started (returns from a decorated
call, or ends with ``sys.exit()`` inside ``with profile(...)``) does not end it: the
profile is the parent's, and the child only lets go of its copy
(``TaskRecorder.forked_away``).

Storing: with ``store=True`` (the default) the profile is added to a ProfileRepo
(the default SQLite database unless ``repo=`` names another). Storing never makes
the task fail: the repo spools what it cannot write, and any other failure becomes
a ``ProfilerWarning``.
"""
from __future__ import annotations

import functools
import inspect
import threading
import warnings
from typing import Any, Callable, Dict, Optional, Union

from dprof.task.recorder import ProfilerWarning, TaskRecorder
from dprof.wrappers import async_generator_wrapper, generator_wrapper

__all__ = ["profile", "profiler", "ProfilerWarning", "ProfileRun"]

_repos: Dict[Optional[str], Any] = {}
_repos_lock = threading.Lock()


def _resolve_repo(repo):
    """A ProfileRepo from an instance, a URL/path, or None (the default database)."""
    if repo is not None and not isinstance(repo, str):
        return repo
    with _repos_lock:
        found = _repos.get(repo)
        if found is None:
            from dprof.repo import ProfileRepo
            found = _repos[repo] = ProfileRepo(repo)
        return found


def _direct_add(repo, profile) -> bool:
    from dprof.repo.direct import add_profile
    return add_profile(repo, profile)


def _store(repo, profile):
    """Store ``profile`` and return the StoreOutcome; never raises (a failure is a
    "lost" outcome and a ProfilerWarning that says why)."""
    from dprof.repo.outcome import LOST, STORED, StoreOutcome
    try:
        # a local SQLite file takes the rows without SQLAlchemy's import
        # (dprof/repo/direct.py); anything else goes through ProfileRepo
        if (repo is None or isinstance(repo, str)) and _direct_add(repo, profile):
            from dprof.repo.url import resolve_url
            return StoreOutcome(STORED, resolve_url(repo))
        return _resolve_repo(repo).add(profile)
    except Exception as err:
        reason = f"could not store the profile of {profile.process_name!r}: {err}"
        warnings.warn(f"dprof {reason}", ProfilerWarning, stacklevel=4)
        return StoreOutcome(LOST, "", reason)


class ProfileRun:
    """One profiled run: a context manager whose ``profile`` is set on exit."""

    def __init__(self, name: str, *, env: Optional[str] = None, stage: Optional[str] = None,
                 repo=None, store: bool = True, interval: float = 0.01,
                 resources: bool = True, stacks: bool = False, stack_hz: float = 100.0,
                 memory: Any = False,
                 parameters: Optional[Dict[str, Any]] = None,
                 tags: Optional[Dict[str, str]] = None,
                 on_profile: Optional[Callable] = None, subject: str = "self"):
        self._recorder = TaskRecorder(name, env=env, stage=stage, parameters=parameters,
                                      tags=tags, resources=resources, interval=interval,
                                      stacks=stacks, stack_hz=stack_hz, subject=subject,
                                      memory=memory)
        self._repo = repo
        self._store = store
        self._on_profile = on_profile
        self._closed_early = False      # set by the generator wrappers on GeneratorExit
        self.profile = None
        #: what happened to the profile (dprof.repo.outcome.StoreOutcome: stored,
        #: spooled or lost, with why), set on exit; None when store=False
        self.stored = None

    def tag(self, key: str, value: str) -> None:
        """Add a free-form tag to the profile being recorded (before it ends)."""
        if self.profile is not None:
            raise RuntimeError("the profile has ended; tags can only be added while it runs")
        self._recorder.tags[str(key)] = str(value)

    def __enter__(self) -> "ProfileRun":
        self._recorder.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        recorder = self._recorder
        if recorder.forked_away:
            # a forked child leaving its parent's profile: nothing is measured,
            # stored or reported here (the parent does it)
            recorder.abandon()
            return False
        if exc_type is not None and issubclass(exc_type, GeneratorExit):
            # a generator closed before its end: an early exit, not a failure
            self._closed_early = True
            exc = None
        if self._closed_early:
            recorder.tags["closed_early"] = "true"
        self.profile = recorder.stop(exc)
        self._finish()
        return False   # exceptions pass through unchanged

    async def __aenter__(self) -> "ProfileRun":
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        return self.__exit__(exc_type, exc, tb)

    def _prepare(self) -> None:
        """Called with ``self.profile`` built, before it is stored (``dprof run``
        cuts its launcher off the stacks here); does nothing by default."""

    def _finish(self) -> None:
        try:
            self._prepare()
        except Exception as err:     # the profile is still stored as it was
            warnings.warn(f"dprof could not finish the profile of "
                          f"{self.profile.process_name!r}: {err!r}", ProfilerWarning,
                          stacklevel=3)
        if self._store:
            self.stored = _store(self._repo, self.profile)
        if self._on_profile is not None:
            try:
                self._on_profile(self.profile)
            except Exception as err:
                warnings.warn(f"dprof on_profile callback failed: {err!r}", ProfilerWarning,
                              stacklevel=3)


def profile(name: str, **options) -> ProfileRun:
    """Profile a block: ``with dprof.profile("load") as run: ...; run.profile``."""
    return ProfileRun(name, **options)


def _task_identity(func: Callable, args: tuple, options: Dict[str, Any], takes_self: bool):
    """process_name, env and stage for one call, from the options or the task object."""
    name = options.get("name")
    env = options.get("env")
    stage = options.get("stage")
    if takes_self and args:
        obj = args[0]
        name = name or getattr(obj, "process_name", None)
        env = env if env is not None else getattr(obj, "env", None)
        stage = stage if stage is not None else getattr(obj, "stage", None)
    return name or f"{func.__module__}.{func.__qualname__}", env, stage


def profiler(func: Optional[Callable] = None, *, name: Optional[str] = None,
             env: Optional[str] = None, stage: Optional[str] = None, repo=None,
             store: bool = True, interval: float = 0.01, resources: bool = True,
             stacks: bool = False, stack_hz: float = 100.0, memory: Any = False,
             tags: Optional[Dict[str, str]] = None,
             on_profile: Optional[Callable] = None) -> Union[Callable, Callable[[Callable], Callable]]:
    """Decorate a task so that every call records a Profile.

    Usable bare (``@profiler``) or with options (``@profiler(stage="load")``). The
    newest record of the decorated function is ``wrapper.last_profile``.
    ``memory=True`` samples allocations (``Profile.memory``, docs/memory.md); a dict
    passes ``mean``/``seed``/``numpy`` to :class:`dprof.memory.MemorySampler`.
    """
    options = dict(name=name, env=env, stage=stage)
    run_options = dict(repo=repo, store=store, interval=interval, resources=resources,
                       stacks=stacks, stack_hz=stack_hz, memory=memory, tags=tags)
    if not (isinstance(interval, (int, float)) and interval > 0):
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")

    def decorate(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"@profiler needs a callable, got {type(fn).__name__}")
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            params = []
        takes_self = bool(params) and params[0] == "self"

        def make_run(args) -> ProfileRun:
            task_name, task_env, task_stage = _task_identity(fn, args, options, takes_self)

            def remember(p):
                wrapper.last_profile = p
                if on_profile is not None:
                    on_profile(p)
            return ProfileRun(task_name, env=task_env, stage=task_stage,
                              on_profile=remember, **run_options)

        if inspect.isasyncgenfunction(fn):
            wrapper = async_generator_wrapper(fn, make_run)
        elif inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def wrapper(*args, **kwargs):
                # await delegates send/throw/close to the coroutine itself
                with make_run(args):
                    return await fn(*args, **kwargs)
        elif inspect.isgeneratorfunction(fn):
            wrapper = generator_wrapper(fn, make_run)
        else:
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                with make_run(args):
                    return fn(*args, **kwargs)
        wrapper.last_profile = None
        return wrapper

    if func is not None:
        return decorate(func)
    return decorate
