"""dprof: a low-overhead profiler for Python work with a native C core.

The public names are imported lazily so that ``import dprof`` stays cheap (a task
decorated with ``@dprof.profiler`` should not pay for pandas or SQLAlchemy until it
needs them).
"""
from importlib import import_module as _import_module

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "ResourceProfiler": "dprof.resources",
    "ResourceSeries": "dprof.resources",
    "Profile": "dprof.record",
    "compare": "dprof.algorithms.runner",
    "ProfileRepo": "dprof.repo",
    "profiler": "dprof.session",
    "profile": "dprof.session",
    "StackProfile": "dprof.stacks",
    "StackSampler": "dprof.stacks",
    "MemoryProfile": "dprof.memory",
    "MemorySampler": "dprof.memory",
    "JobMonitor": "dprof.jobs",
    "ContainerResourceMonitor": "dprof.containers",
    "ProfileFormatError": "dprof.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'dprof' has no attribute {name!r}")
    value = getattr(_import_module(module_name), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython):
    """``%load_ext dprof``: the ``%dprof`` and ``%%dprof`` magics (dprof.jupyter)."""
    from dprof.jupyter import load_ipython_extension as load
    load(ipython)


def __dir__():
    return __all__
