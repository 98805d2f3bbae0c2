"""``dprof compare`` and ``dprof algorithms`` as real subprocesses against a real
SQLite file (tests/cli/cli_helpers.py's runner)."""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cli"))
from cli_helpers import ANSI_ESCAPE, known_profiles, make_cli, store_known  # noqa: E402

pytestmark = pytest.mark.native


@pytest.fixture
def cli(tmp_path):
    return make_cli(tmp_path)


def test_the_issues_example_runs_stores_and_reopens(cli):
    done = cli("compare", "bubble_sort", "quick_sort", "merge_sort", "--sizes", "1e3,1e4",
               "--iterations", "3", check=0)
    out = done.stdout
    assert ANSI_ESCAPE not in out                       # piped: plain text, no bar
    assert "results" in out and "ranking at n=10,000: " in out
    for name in ("bubble_sort", "quick_sort", "merge_sort"):
        assert out.count(name) >= 3
    ranking = out.split("ranking at n=10,000: ")[1].splitlines()[0]
    assert ranking.startswith("1. ") and all(name in ranking for name in
                                             ("bubble_sort", "quick_sort", "merge_sort"))
    profiles = cli.profiles()
    assert len(profiles) == 18 and {p.stage for p in profiles} == {"dprof.compare"}
    cid = profiles[0].tags["dprof.comparison"]
    assert out.startswith(f"comparison {cid}: random int input")

    listed = cli("compare", "--list", check=0).stdout
    assert cid in listed and "bubble_sort, quick_sort, merge_sort" in listed
    shown = cli("compare", "--show", cid[:6], check=0).stdout
    assert shown.split("\n", 1)[1] == out.split("\n", 1)[1]   # same tables as the live run
    data = json.loads(cli("compare", "--show", cid, "--json", check=0).stdout)
    assert data["id"] == cid and len(data["summary"]) == 6
    assert {r["algorithm"] for r in data["ranking"]} == {"bubble_sort", "quick_sort",
                                                         "merge_sort"}


def test_json_plot_and_complexity_with_three_sizes(cli, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "cost.png"
    done = cli("compare", "insertion_sort", "heap_sort", "--sizes", "100,200,400",
               "--iterations", "2", "--distribution", "reversed", "--kind", "float",
               "--seed", "7", "--plot", str(plot), "--json", check=0)
    data = json.loads(done.stdout)
    assert data["spec"]["distribution"] == "reversed" and data["spec"]["kind"] == "float"
    fits = {(r["algorithm"], r["metric"]): r["fitted"] for r in data["complexity"]}
    assert fits[("insertion_sort", "comparisons")] == "O(n^2)"
    assert fits[("heap_sort", "comparisons")] == "O(n log n)"
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_pivot_option_reaches_quick_sort(cli):
    first = json.loads(cli("compare", "quick_sort", "--sizes", "500", "--iterations", "1",
                           "--distribution", "sorted", "--pivot", "first", "--json",
                           "--no-store", check=0).stdout)
    median = json.loads(cli("compare", "quick_sort", "--sizes", "500", "--iterations", "1",
                            "--distribution", "sorted", "--json", "--no-store",
                            check=0).stdout)
    assert first["summary"][0]["comparisons"] > 10 * median["summary"][0]["comparisons"]
    assert cli.profiles() == []                         # --no-store


@pytest.mark.parametrize("args, message", [
    (["nosuch_sort"], "unknown algorithm 'nosuch_sort'; known: bubble_sort"),
    (["merge_sort", "--sizes", "0"], "size '0' is not positive"),
    (["merge_sort", "--sizes", "-5"], "size '-5' is not positive"),
    (["merge_sort", "--sizes", "abc"], "size 'abc' is not a number"),
    (["merge_sort", "--sizes", "1.5"], "size '1.5' is not a whole number"),
    (["merge_sort", "--sizes", "1e3,,1e4"], "has an empty item"),
    (["merge_sort", "--distribution", "zipf"], "invalid choice: 'zipf'"),
    (["merge_sort", "--kind", "complex"], "invalid choice: 'complex'"),
    (["counting_sort", "--kind", "str"], "counting_sort takes int input, not str"),
    (["merge_sort", "--iterations", "0"], "must be positive"),
    (["merge_sort", "--time-limit", "-1"], "must be a positive number of seconds"),
    (["merge_sort", "--pivot", "first"], "none of the algorithms takes one"),
    (["bubble_sort", "--sizes", "1e6"], "refused: bubble_sort at n=1,000,000: estimated"),
    (["--show", "ffffffff"], "no stored comparison with id 'ffffffff'"),
    ([], "name the algorithms to compare"),
    (["merge_sort", "--list"], "not several"),
    (["merge_sort", "--import", "no_such_module_x"], "--import no_such_module_x"),
])
def test_bad_input_is_one_line_exit_2_and_touches_nothing_stored(cli, args, message):
    store_known(cli)
    before = cli.profiles()
    done = cli("compare", *args, check=2)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dprof compare: "), done.stderr
    assert message in lines[0]
    assert done.stdout == ""
    after = cli.profiles()
    assert after == before and len(after) == len(known_profiles())


def test_algorithms_lists_the_registry_and_imported_user_algorithms(cli):
    out = cli("algorithms", check=0).stdout
    for name in ("bubble_sort", "merge_sort_bottom_up", "radix_sort"):
        assert name in out
    assert "pivot_strategy: first|last|random|median" in out
    data = json.loads(cli("algorithms", "--json", check=0).stdout)
    assert [a["name"] for a in data][:2] == ["bubble_sort", "insertion_sort"]
    assert {a["name"]: a["stable"] for a in data}["heap_sort"] is False

    (cli.workdir / "mysorts.py").write_text(textwrap.dedent('''
        import dprof.algorithms as algorithms

        @algorithms.register(name="py_sorted", average="n log n", stable=True)
        def py_sorted(data):
            return sorted(data), {"comparisons": 0}
    '''))
    out = cli("algorithms", "--import", "mysorts", check=0).stdout
    assert "py_sorted" in out and "register()" in out
    done = cli("compare", "py_sorted", "merge_sort", "--sizes", "100,200", "--iterations",
               "2", "--import", "mysorts", check=0)
    assert "py_sorted" in done.stdout
    assert {p.process_name for p in cli.profiles()} == {"py_sorted", "merge_sort"}


def test_a_bad_user_algorithm_from_the_cli_is_named(cli):
    (cli.workdir / "badsorts.py").write_text(textwrap.dedent('''
        import dprof.algorithms as algorithms

        @algorithms.register(name="liar")
        def liar(data):
            return list(data)            # not sorted
    '''))
    store_known(cli)
    done = cli("compare", "liar", "--sizes", "50", "--import", "badsorts", check=2)
    assert done.stderr.startswith("dprof compare: algorithm 'liar' (")
    assert "returned unsorted data" in done.stderr and "nothing" in done.stderr
    assert len(cli.profiles()) == len(known_profiles())


@pytest.mark.core
def test_terminal_tables_keep_brackets_of_labels():
    # on a terminal the tables are rich tables; a label is data, not rich markup
    import io

    from dprof.cli.output import print_table

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    out = Terminal()
    print_table(["algorithm"], [["quick_sort[pivot_strategy=first]"]], stream=out)
    assert "quick_sort[pivot_strategy=first]" in out.getvalue()


def test_time_limit_refuses_and_force_runs(cli):
    done = cli("compare", "bubble_sort", "--sizes", "3000", "--iterations", "1",
               "--time-limit", "1e-6", check=2)
    assert "refused: bubble_sort at n=3,000: estimated" in done.stderr
    assert cli.profiles() == []
    cli("compare", "bubble_sort", "--sizes", "3000", "--iterations", "1", "--time-limit",
        "1e-6", "--force", check=0)
    assert len(cli.profiles()) == 1


def test_an_entry_point_algorithm_is_listed_and_compared(cli):
    plugins = cli.workdir / "plugins"
    plugins.mkdir()
    (plugins / "epsorts.py").write_text(
        "def shell_sort(data):\n"
        "    a = list(data)\n"
        "    gap = len(a) // 2\n"
        "    while gap:\n"
        "        for i in range(gap, len(a)):\n"
        "            x, j = a[i], i\n"
        "            while j >= gap and x < a[j - gap]:\n"
        "                a[j] = a[j - gap]\n"
        "                j -= gap\n"
        "            a[j] = x\n"
        "        gap //= 2\n"
        "    return a\n")
    dist = plugins / "epsorts-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: epsorts\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[dprof.algorithms]\nshell_sort = epsorts:shell_sort\n")
    cli.env["PYTHONPATH"] = f"{plugins}:{cli.env['PYTHONPATH']}"
    assert "entry point shell_sort = epsorts:shell_sort" in cli("algorithms", check=0).stdout
    done = cli("compare", "shell_sort", "heap_sort", "--sizes", "100,200", "--iterations", "1",
               check=0)
    assert "shell_sort" in done.stdout
    assert {p.process_name for p in cli.profiles()} == {"shell_sort", "heap_sort"}
