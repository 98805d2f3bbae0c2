"""compare(): identical inputs, profiled and stored runs, reopening, the ranking, the
runaway guard, plots, and bad input that stores nothing (a real SQLite file)."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import dprof
from dprof.algorithms import builtin, inputs, registry
from dprof.algorithms.errors import AlgorithmError, RunawayError
from dprof.algorithms.result import Comparison
from dprof.algorithms.runner import STAGE, TAG, RunawayWarning, compare
from dprof.algorithms.storage import list_comparisons, load_comparison
from dprof.record import Profile
from dprof.repo import ProfileRepo

pytestmark = pytest.mark.native      # built-ins run through the C engines


@pytest.fixture
def repo(tmp_path):
    r = ProfileRepo(f"sqlite:///{tmp_path / 'profiles.db'}", spool_dir=tmp_path / "spool")
    yield r
    r.close()


@pytest.fixture
def user_algorithms():
    """Register Python algorithms for one test; removed afterwards."""
    names = []

    def add(fn, **meta):
        registry.register(fn, name=meta.pop("name", fn.__name__), **meta)
        names.append(meta.get("name", fn.__name__))
        return fn
    add.names = names
    yield add
    for name in list(registry.names()):
        if name.startswith("t_"):
            registry.unregister(name)


def stored_before(repo):
    """A profile that must survive every failed comparison untouched."""
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    p = Profile(id="keep" + "0" * 28, process_name="etl", task_start_time=start,
                task_end_time=start + timedelta(seconds=2), runtime_seconds=2.0,
                parameters={"day": 1}, tags={"team": "data"})
    repo.add(p)
    return p


def test_every_algorithm_sees_the_same_inputs_and_in_place_sorts_harm_none(repo,
                                                                           user_algorithms):
    seen = {"t_spy_a": [], "t_spy_b": []}

    def t_spy_a(data):
        seen["t_spy_a"].append(list(data))
        data.sort()                          # sorts the list it was given, in place
        return data

    def t_spy_b(data):
        seen["t_spy_b"].append(list(data))
        return sorted(data)
    user_algorithms(t_spy_a)
    user_algorithms(t_spy_b)
    result = compare(["t_spy_a", "merge_sort", "t_spy_b"], sizes=[40, 80], iterations=3,
                     distribution="random", seed=99, repo=repo, force=True)
    expected = [inputs.generate("random", n, "int", inputs.derive_seed(99, n, i))
                for n in (40, 80) for i in range(3)]
    assert seen["t_spy_a"] == expected and seen["t_spy_b"] == expected
    assert len(result.runs) == 3 * 2 * 3
    # the built-in's counts are the engine's on exactly that input
    merge = result.runs[result.runs["algorithm"] == "merge_sort"]
    for (n, i), row in zip([(n, i) for n in (40, 80) for i in range(3)], merge.itertuples()):
        want = builtin.sort("merge_sort", expected[(n == 80) * 3 + i])[1]
        assert (row.size, row.iteration) == (n, i)
        assert row.comparisons == want["comparisons"] and row.writes == want["writes"]


def test_results_summary_ranking_complexity_and_storage_round_trip(repo, user_algorithms):
    def t_plain(data):
        return sorted(data)                  # no counts: they are missing, not 0
    user_algorithms(t_plain, average="n log n")
    result = compare(["bubble_sort", "quick_sort", "t_plain"], sizes="64,128,256",
                     iterations=3, repo=repo)
    s = result.summary
    assert list(s["algorithm"].unique()) == ["bubble_sort", "quick_sort", "t_plain"]
    assert len(s) == 9 and (s["runs"] == 3).all()
    for col in ("runtime_min", "runtime_median", "runtime_mean", "runtime_stdev",
                "runtime_ci_low", "runtime_ci_high", "memory_peak_mb", "cpu_seconds"):
        assert s[col].notna().all(), col
    assert (s["runtime_min"] <= s["runtime_median"]).all()
    assert (s["runtime_ci_low"] <= s["runtime_mean"]).all()
    assert s[s["algorithm"] == "t_plain"]["comparisons"].isna().all()
    assert (s[s["algorithm"] == "bubble_sort"]["comparisons"] > 0).all()
    cx = result.complexity.set_index(["algorithm", "metric"])
    assert cx.loc[("bubble_sort", "comparisons"), "fitted"] == "O(n^2)"
    assert cx.loc[("quick_sort", "comparisons"), "fitted"] == "O(n log n)"
    assert ("t_plain", "comparisons") not in cx.index          # it reports no counts
    assert cx.loc[("t_plain", "runtime"), "declared_average"] == "O(n log n)"
    assert set(result.ranking["size"]) == {64, 128, 256}

    # stored: one profile per run, tagged, with the counts; reopened identically
    df = repo.query(stage=STAGE)
    assert len(df) == 27
    one = repo.get(result.runs["profile_id"].iloc[0])
    assert one.tags[TAG] == result.id and one.parameters["comparison"] == result.id
    assert one.process_name == "bubble_sort" and one.parameters["counts"]["comparisons"] > 0
    listed = list_comparisons(repo)
    assert listed["id"].tolist() == [result.id] and listed["runs"].tolist() == [27]
    again = load_comparison(result.id[:5], repo)
    pd.testing.assert_frame_equal(again.summary, result.summary)
    pd.testing.assert_frame_equal(again.ranking, result.ranking)
    pd.testing.assert_frame_equal(again.complexity, result.complexity)
    assert again.spec["sizes"] == [64, 128, 256]


def test_store_false_stores_nothing(repo):
    compare(["heap_sort"], sizes=[32], iterations=1, repo=repo, store=False)
    assert repo.count() == 0


def test_parameters_and_labels(repo):
    r = compare(["quick_sort[pivot_strategy=first]", "quick_sort"], sizes=[300],
                iterations=1, distribution="sorted", store=False)
    by = r.summary.set_index("algorithm")["comparisons"]
    assert by["quick_sort[pivot_strategy=first]"] > 10 * by["quick_sort"]
    r = compare(["quick_sort"], sizes=[300], iterations=1, distribution="sorted",
                pivot_strategy="first", store=False)
    assert r.summary["comparisons"].iloc[0] == by["quick_sort[pivot_strategy=first]"]


def _synthetic(times):
    runs = []
    for algo, values in times.items():
        for i, t in enumerate(values):
            runs.append({"comparison": "x", "algorithm": algo, "size": 100, "iteration": i,
                         "profile_id": f"{algo}{i}", "runtime_seconds": t})
    return Comparison("x", {"algorithms": list(times)}, runs)


@pytest.mark.core
def test_ranking_shares_a_rank_when_the_difference_is_not_significant():
    c = _synthetic({"slow": [2.0, 2.1, 1.95], "fast": [1.00, 1.02, 0.99],
                    "fast_too": [1.01, 0.98, 1.03]})
    r = c.ranking.set_index("algorithm")
    assert r.loc["fast", "rank"] == 1 and r.loc["fast_too", "rank"] == 1
    assert r.loc["slow", "rank"] == 3
    assert r.loc["fast_too", "same_as"] == "fast" and r.loc["slow", "same_as"] == ""
    assert r.loc["fast_too", "p_value"] > 0.05 and r.loc["slow", "p_value"] < 0.05
    assert r.loc["slow", "ratio"] == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize("call, error, match", [
    (dict(algorithms=["bogo_sort"]), AlgorithmError, "unknown algorithm 'bogo_sort'"),
    (dict(sizes=[0]), ValueError, "size 0 is not positive"),
    (dict(sizes="1e3,-5"), ValueError, "size '-5' is not positive"),
    (dict(sizes="abc"), ValueError, "size 'abc' is not a number"),
    (dict(sizes=[1.5]), ValueError, "not a whole number"),
    (dict(distribution="zipf"), ValueError, "unknown distribution 'zipf'"),
    (dict(kind="complex"), ValueError, "unknown input kind 'complex'"),
    (dict(algorithms=["counting_sort"], kind="str"), AlgorithmError,
     "counting_sort takes int input, not str"),
    (dict(iterations=0), ValueError, "iterations must be a positive integer"),
    (dict(algorithms=["merge_sort", "merge_sort"]), AlgorithmError, "listed twice"),
    (dict(algorithms=["quick_sort[pivot_strategy=sideways]"]), AlgorithmError,
     "pivot_strategy='sideways' is not one of"),
    (dict(algorithms=["merge_sort"], pivot_strategy="first"), AlgorithmError,
     "none of the algorithms takes one"),
])
def test_bad_arguments_are_named_and_nothing_stored_is_touched(repo, call, error, match):
    kept = stored_before(repo)
    args = dict(algorithms=["merge_sort"], sizes=[10], iterations=1, repo=repo)
    args.update(call)
    with pytest.raises(error, match=match):
        compare(**args)
    assert repo.count() == 1 and repo.get(kept.id) == kept


@pytest.mark.parametrize("returns, match", [
    (lambda d: sorted(d)[::-1], r"algorithm 't_bad' \((probe run, )?n=(50|100), random "
                                r"int input.*\) returned unsorted data: element 1"),
    (lambda d: sorted(d)[:-1], "returned (49|99) elements for an input of (50|100)"),
    (lambda d: [0] * len(d), "not a permutation of its input"),
    (lambda d: (sorted(d), 7), "returned counts of type int"),
    (lambda d: (sorted(d), {"comparisons": -1}), "count comparisons=-1"),
    (lambda d: (sorted(d), {"comparisons": 2.5}), "count comparisons=2.5"),
    (lambda d: None, "returned NoneType, not the sorted data"),
    (lambda d: 1 / 0, "algorithm 't_bad' raised ZeroDivisionError"),
])
@pytest.mark.parametrize("force", [False, True])
def test_a_misbehaving_user_algorithm_is_named_and_nothing_is_stored(
        repo, user_algorithms, returns, match, force):
    kept = stored_before(repo)
    calls = []

    def t_bad(data):
        calls.append(len(data))
        return returns(data)
    user_algorithms(t_bad)
    with pytest.raises(AlgorithmError, match=match) as info:
        compare(["merge_sort", "t_bad"], sizes=[50, 100], iterations=2, repo=repo,
                force=force)
    assert "nothing" in str(info.value)
    assert repo.count() == 1 and repo.get(kept.id) == kept
    # it stopped at its first call: the guard's checked probe (at the largest size, as
    # it is under the probe size), or the first run when forced
    assert calls == ([50] if force else [100])


def test_runaway_guard_refuses_before_anything_runs(repo, user_algorithms):
    calls = []

    def t_cubic(data):
        calls.append(len(data))
        return sorted(data)
    user_algorithms(t_cubic, average="n^3")
    kept = stored_before(repo)
    with pytest.raises(RunawayError) as info:
        compare(["merge_sort", "t_cubic"], sizes=[100, 10 ** 6], iterations=1, repo=repo)
    message = str(info.value)
    assert "t_cubic at n=1,000,000: estimated" in message and "O(n^3)" in message
    assert "time limit is 60 s" in message and "nothing was run" in message
    assert set(calls) == {256}                  # the probe only, at a small size
    assert repo.count() == 1 and repo.get(kept.id) == kept
    # forced, a small comparison with an absurd limit runs
    r = compare(["t_cubic"], sizes=[30, 60], iterations=1, repo=repo, time_limit=1e-9,
                force=True)
    assert len(r.runs) == 2


def test_runaway_guard_skips_a_run_the_measured_sizes_predict_too_long(repo,
                                                                       user_algorithms):
    def t_sleepy(data):
        time.sleep(len(data) ** 2 * 4e-8)     # quadratic in time, though declared linear
        return sorted(data)
    user_algorithms(t_sleepy, average="n", worst="n")
    # declared linear, the measured 2048 would predict ~0.7 s at 8192, under the limit;
    # the fit of the measured sizes (quadratic) predicts ~2.7 s and skips it
    with pytest.warns(RunawayWarning, match="skipped t_sleepy at n=8,192"):
        r = compare(["t_sleepy", "heap_sort"], sizes=[256, 512, 1024, 2048, 8192],
                    iterations=1, repo=repo, time_limit=1.0)
    assert any("estimated" in n and "(fitted)" in n for n in r.notes), r.notes
    done = set(zip(r.runs["algorithm"], r.runs["size"]))
    assert ("t_sleepy", 8192) not in done and ("heap_sort", 8192) in done
    assert ("t_sleepy", 2048) in done


def test_plot_and_jupyter_display(tmp_path, repo):
    pytest.importorskip("matplotlib")
    r = compare(["insertion_sort", "merge_sort"], sizes=[50, 100, 200], iterations=2,
                store=False)
    path = tmp_path / "cost.png"
    fig = r.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes[0].lines) >= 4          # points and fitted curves
    html = r._repr_html_()
    assert "<img src=\"data:image/png;base64," in html and "Ranking" in html
    assert r._repr_png_()[:4] == b"\x89PNG"
    r.plot(tmp_path / "counts.svg", metric="comparisons")
    assert (tmp_path / "counts.svg").read_text().lstrip().startswith("<?xml")


def test_without_matplotlib_the_plot_says_how_to_get_it(monkeypatch):
    r = _synthetic({"a": [1.0, 1.1]})
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import matplotlib fails
    with pytest.raises(ImportError, match=r"pip install 'dprof\[plot\]'"):
        r.plot()
    assert r._repr_png_() is None
    assert "Ranking" in r._repr_html_()


@pytest.mark.core
def test_compare_is_exported_lazily_from_dprof():
    from dprof.algorithms import runner
    import dprof.algorithms as package
    assert dprof.compare is runner.compare
    assert package.compare is runner.compare
