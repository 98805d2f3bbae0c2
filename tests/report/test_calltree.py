"""The call tree: aggregation (totals, self, recursion, threads) and its text."""
import re

import pytest

import dprof.report as report
from dprof.report.tree import build_tree

pytestmark = pytest.mark.core


def child(node, function):
    (found,) = [c for c in node.children.values() if c.function == function]
    return found


def test_totals_and_self_time_per_node(profile):
    root = build_tree(profile)
    assert root.total == pytest.approx(10.0)
    main = child(root, "main")          # main:2 and main:3 merge into one function node
    assert main.total == pytest.approx(7.0) and main.self_total == 0.0
    work, load = child(main, "work"), child(main, "load")
    assert work.seconds["cpu_python"] == pytest.approx(3.0)
    assert work.seconds["cpu_native"] == pytest.approx(1.0)
    assert work.self_total == pytest.approx(4.0)
    assert child(load, "decode").seconds["wait_io"] == pytest.approx(2.0)
    assert child(root, "decode").seconds["wait_sleep"] == pytest.approx(1.0)
    assert main.samples == 700


def test_recursion_gives_one_node_per_level(profile):
    node = child(build_tree(profile), "rec")
    depth = 1
    while node.children:
        assert node.total == pytest.approx(2.0) and node.self_total == 0.0
        node = child(node, "rec")
        depth += 1
    assert depth == 3 and node.self_total == pytest.approx(2.0)


def test_lines_split_call_sites(profile):
    mains = [c for c in build_tree(profile, lines=True).children.values()
             if c.function == "main"]
    assert sorted((m.line, m.total) for m in mains) == [(2, 4.0), (3, 3.0)]


def test_threads_and_library_filter(profile):
    root = build_tree(profile, by_thread=True)
    assert sorted(c.name for c in root.children.values()) == \
        ["thread 1 (MainThread)", "thread 2 (worker)"]
    user = build_tree(profile, include_libraries=False)
    assert "decode" not in {c.function for n, _ in user.walk() for c in n.children.values()}
    assert child(user, "[library code]").total == pytest.approx(1.0)
    assert child(child(user, "main"), "load").self_total == pytest.approx(3.0)


def test_plain_text_lines(profile):
    text = report.render_calltree(profile, threshold=0, color=False)
    lines = text.splitlines()
    assert lines[0] == "10.000s 100.0% self 0.000s  all  [py 60% c 10% io 20% sleep 10%]"
    assert "\x1b[" not in text
    main = next(line for line in lines if " main (" in line)
    assert main.startswith("├─ 7.000s  70.0% self 0.000s  main (")
    work = next(line for line in lines if " work (" in line)
    assert work.startswith("│  ├─ 4.000s  40.0% self 4.000s  work (")
    assert work.endswith("[py 75% c 25%]")
    assert sum(" rec (" in line for line in lines) == 3


def test_threshold_collapses_small_subtrees(profile):
    text = report.render_calltree(profile, threshold=15, color=False)
    assert " decode (" in text            # 3 s under load
    # the top-level decode (1 s = 10 %) is folded into a summary line
    assert re.search(r"└─ 1\.000s  10\.0%  \[1 more below 15%\]", text)
    assert report.render_calltree(profile, threshold=0, max_depth=1, color=False) \
        .count("more below") == 2          # main and rec fold their children


def test_rich_output_has_same_numbers(profile):
    text = report.render_calltree(profile, threshold=0, color=True)
    assert "\x1b[" in text
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "7.000s  70.0% self 0.000s  main (" in plain
