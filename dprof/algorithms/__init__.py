"""Sort algorithms, seeded inputs, comparisons and empirical complexity.

Modules, one purpose each:
  spec        Algorithm: one algorithm's implementation and metadata
  builtin     the nine built-ins, wrapping the C engines (dprof._native)
  registry    register(), get(), the ``dprof.algorithms`` entry point group
  inputs      seeded generators (splitmix64): random, sorted, reversed, ...
  checks      calling an algorithm, checking that it returned its input sorted
  complexity  fit_complexity / parse_complexity
  stats       summary statistics and significance tests (NumPy only)
  guard       the runaway guard: predicted time of a run
  plan        compare()'s arguments, checked before anything runs
  runner      compare(): run, profile, store
  result      Comparison: summary, ranking, complexity, plot, Jupyter display
  storage     list and reopen stored comparisons
  plot        the cost-against-size figure (matplotlib, optional)

The guide is docs/algorithms.md. Names are imported lazily, like dprof's own.
"""
from importlib import import_module as _import_module

_EXPORTS = {
    "Algorithm": "dprof.algorithms.spec",
    "COUNT_NAMES": "dprof.algorithms.spec",
    "register": "dprof.algorithms.registry",
    "unregister": "dprof.algorithms.registry",
    "get": "dprof.algorithms.registry",
    "names": "dprof.algorithms.registry",
    "all_algorithms": "dprof.algorithms.registry",
    "reload_entry_points": "dprof.algorithms.registry",
    "ENTRY_POINT_GROUP": "dprof.algorithms.registry",
    "generate": "dprof.algorithms.inputs",
    "DISTRIBUTIONS": "dprof.algorithms.inputs",
    "KINDS": "dprof.algorithms.inputs",
    "compare": "dprof.algorithms.runner",
    "Comparison": "dprof.algorithms.result",
    "list_comparisons": "dprof.algorithms.storage",
    "load_comparison": "dprof.algorithms.storage",
    "fit_complexity": "dprof.algorithms.complexity",
    "parse_complexity": "dprof.algorithms.complexity",
    "ComplexityFit": "dprof.algorithms.complexity",
    "AlgorithmError": "dprof.algorithms.errors",
    "UnknownAlgorithmError": "dprof.algorithms.errors",
    "BadResultError": "dprof.algorithms.errors",
    "RunawayError": "dprof.algorithms.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'dprof.algorithms' has no attribute {name!r}")
    value = getattr(_import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
