"""The registry: the built-ins and their metadata, register() as decorator and call,
entry points from a real installed distribution, and bad registrations."""
from __future__ import annotations

import array
import json
import sys
import textwrap
import warnings

import numpy as np
import pytest

import dprof.algorithms as algos
from dprof.algorithms import builtin, registry
from dprof.algorithms.errors import AlgorithmError, UnknownAlgorithmError

CONTRACT_NAMES = ["bubble_sort", "insertion_sort", "selection_sort", "quick_sort",
                  "merge_sort", "merge_sort_bottom_up", "heap_sort", "counting_sort",
                  "radix_sort"]


@pytest.fixture
def registered():
    """Names registered by a test, removed afterwards (the registry is process-wide)."""
    names = []
    yield names
    for name in names:
        try:
            registry.unregister(name)
        except AlgorithmError:
            pass


def simple_sort(data):
    """Insertion sort in Python, counting comparisons."""
    out, comparisons = [], 0
    for x in data:
        i = len(out)
        while i > 0:
            comparisons += 1
            if not x < out[i - 1]:
                break
            i -= 1
        out.insert(i, x)
    return out, {"comparisons": comparisons}


@pytest.mark.core
def test_builtins_come_first_in_the_contracts_order_with_metadata():
    assert registry.names()[:9] == CONTRACT_NAMES
    quick = algos.get("quick_sort")
    assert quick.builtin and quick.origin == "built-in"
    assert (quick.best, quick.average, quick.worst) == ("O(n log n)", "O(n log n)", "O(n^2)")
    assert quick.parameters == {"pivot_strategy": ("first", "last", "random", "median")}
    assert quick.defaults == {"pivot_strategy": "median"}
    assert algos.get("merge_sort").stable is True and algos.get("merge_sort").in_place is False
    assert algos.get("heap_sort").stable is False and algos.get("heap_sort").in_place is True
    assert algos.get("counting_sort").kinds == ("int",)
    for a in registry.all_algorithms()[:9]:
        json.dumps(a.describe())
        assert a.best and a.average and a.worst and a.extra_memory and a.description


@pytest.mark.native
def test_the_engine_implements_every_registered_builtin():
    from dprof import _native
    assert list(_native.sort_algorithms()) == CONTRACT_NAMES == list(builtin.NAMES)


@pytest.mark.native
@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_builtin_wrappers_copy_and_return_the_same_kind(name):
    values = [5, -3, 9, 0, 2, 2, -7]
    for data, kind in ((list(values), list), (tuple(values), tuple),
                       (np.array(values, dtype=np.int32), np.ndarray),
                       (array.array("q", values), array.array)):
        before = list(data)
        out, counts = builtin.sort(name, data)
        assert type(out) is kind and list(out) == sorted(values)
        assert list(data) == before                     # the caller's input is untouched
        assert set(counts) == {"comparisons", "swaps", "moves", "reads", "writes"}
        if isinstance(data, np.ndarray):
            assert out.dtype == np.int32
    out, _ = algos.get(name).function(iter(values))    # any iterable: a list back
    assert out == sorted(values)


@pytest.mark.native
def test_quick_sort_pivots_change_the_counts_not_the_result():
    data = list(range(200))
    counts = {p: builtin.sort("quick_sort", data, pivot_strategy=p)[1]["comparisons"]
              for p in builtin.PIVOT_STRATEGIES}
    assert counts["first"] > 4 * counts["median"]           # sorted input: first is n^2
    with pytest.raises(ValueError, match="sideways"):
        builtin.sort("quick_sort", data, pivot_strategy="sideways")


@pytest.mark.core
def test_register_as_decorator_keeps_the_function_and_parses_metadata(registered):
    @algos.register(name="py_insertion", best="n", average="n^2", worst="quadratic",
                    stable=True, in_place=False, extra_memory="O(n)")
    def py_insertion(data):
        return simple_sort(data)
    registered.append("py_insertion")
    assert py_insertion([3, 1, 2])[0] == [1, 2, 3]          # still the plain function
    got = algos.get("py_insertion")
    assert got.function is py_insertion and got.origin == "register()"
    assert (got.best, got.average, got.worst) == ("O(n)", "O(n^2)", "O(n^2)")
    assert "py_insertion" in registry.names()


@pytest.mark.core
def test_register_as_call_and_bare_decorator(registered):
    algo = algos.register(simple_sort, name="simple", average="n^2")
    registered.append("simple")
    assert algo is algos.get("simple")
    assert algo.description == "Insertion sort in Python, counting comparisons."

    @algos.register
    def bare_sorted(data):
        return sorted(data)
    registered.append("bare_sorted")
    assert algos.get("bare_sorted").average is None          # unknown, not guessed


@pytest.mark.core
def test_names_are_taken_once(registered):
    algos.register(simple_sort, name="once")
    registered.append("once")
    with pytest.raises(AlgorithmError, match="already registered"):
        algos.register(sorted, name="once")
    algos.register(sorted, name="once", replace=True)
    assert algos.get("once").function is sorted
    with pytest.raises(AlgorithmError, match="'merge_sort' is a built-in"):
        algos.register(sorted, name="merge_sort", replace=True)
    with pytest.raises(AlgorithmError, match="built-in"):
        registry.unregister("heap_sort")


@pytest.mark.core
@pytest.mark.parametrize("kwargs, match", [
    (dict(name="bad name"), "bad algorithm name 'bad name'"),
    (dict(name="x1", average="fast"), "algorithm 'x1': average complexity: unknown"),
    (dict(name="x2", kinds=("int", "complex")), "algorithm 'x2': kinds"),
    (dict(name="x3", containers=("deque",)), "algorithm 'x3': containers"),
    (dict(name="x4", stable="yes"), "algorithm 'x4': stable"),
    (dict(name="x5", parameters={"k": (1, 2)}, defaults={"k": 3}), "default k=3"),
])
def test_bad_metadata_is_named(kwargs, match):
    with pytest.raises(AlgorithmError, match=match):
        algos.register(sorted, **kwargs)
    assert kwargs["name"] not in registry.names()


@pytest.mark.core
def test_register_refuses_a_non_callable():
    with pytest.raises(AlgorithmError, match="needs a callable"):
        algos.register(42, name="answer")


@pytest.mark.core
def test_unknown_algorithm_lists_the_known_ones():
    with pytest.raises(UnknownAlgorithmError) as info:
        algos.get("bogo_sort")
    message = str(info.value)
    assert "unknown algorithm 'bogo_sort'" in message and "merge_sort" in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """A real installed distribution on sys.path publishing dprof.algorithms entry
    points: an Algorithm, a decorated function, a plain callable, a broken one."""
    (tmp_path / "plugsorts.py").write_text(textwrap.dedent('''
        from dprof.algorithms import Algorithm, register

        def _tim(data):
            return sorted(data)

        tim = Algorithm(name="plug_tim", function=_tim, average="n log n", stable=True,
                        origin="entry point plug_tim = plugsorts:tim")

        def plain(data):
            return sorted(data)

        @register(name="plug_marked", worst="n^2")
        def marked(data):
            return sorted(data)

        not_callable = 42
    '''))
    dist = tmp_path / "plugsorts-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plugsorts\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent('''
        [dprof.algorithms]
        plug_tim = plugsorts:tim
        plug_plain = plugsorts:plain
        plug_marked = plugsorts:marked
        plug_broken = plugsorts:not_callable
        plug_missing = plugsorts_nowhere:thing
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    monkeypatch.undo()
    sys.modules.pop("plugsorts", None)
    for name in ("plug_marked",):
        try:
            registry.unregister(name)
        except AlgorithmError:
            pass
    registry.reload_entry_points()


@pytest.mark.core
def test_entry_points_of_an_installed_package_are_registered(plugin_dist):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry.reload_entry_points()
    names = registry.names()
    assert {"plug_tim", "plug_plain", "plug_marked"} <= set(names)
    assert algos.get("plug_tim").average == "O(n log n)"
    assert algos.get("plug_marked").worst == "O(n^2)"
    assert algos.get("plug_plain").origin == "entry point plug_plain = plugsorts:plain"
    # the broken ones are skipped, each with a warning naming it; the rest work
    skipped = [str(w.message) for w in caught if issubclass(w.category, registry.AlgorithmWarning)]
    assert any("plug_broken" in m for m in skipped)
    assert any("plug_missing" in m for m in skipped)
    assert "plug_broken" not in names and "plug_missing" not in names
