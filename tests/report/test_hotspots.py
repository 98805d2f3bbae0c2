"""Line and function hotspots: exact percentages, attribution, filters, text output."""
import io
import os
import re
import sys

import pytest

import dprof
import dprof.report as report
from dprof.report._common import is_user_code

from known_profiles import LIBRARY_FILE

pytestmark = pytest.mark.core


def by_line(rows):
    return {r.line: r for r in rows}


def test_percentages_are_exact_shares_of_all_time(profile):
    rows = by_line(report.hotspots(profile))
    assert sorted(rows) == [5, 7, 9]
    work, load, rec = rows[5], rows[7], rows[9]
    assert work.percent["cpu_python"] == pytest.approx(30.0)
    assert work.percent["cpu_native"] == pytest.approx(10.0)
    assert work.percent["total"] == pytest.approx(40.0)
    assert load.percent["wait_io"] == pytest.approx(20.0)
    assert load.percent["cpu_python"] == pytest.approx(10.0)
    assert load.percent["total"] == pytest.approx(30.0)
    assert rec.percent["total"] == pytest.approx(20.0)
    assert work.seconds["cpu_native"] == pytest.approx(1.0)


def test_library_time_lands_on_the_user_line_that_called_it(profile, known):
    rows = report.hotspots(profile)
    assert all(r.filename == known.app for r in rows)
    # the stdlib decoder's 3 s under load() count for load's line 7; its 1 s with no
    # user frame above it is not a line of the user's code
    assert by_line(rows)[7].total_seconds == pytest.approx(3.0)
    assert sum(r.total_seconds for r in rows) == pytest.approx(9.0)


def test_include_libraries_attributes_to_the_leaf(profile):
    rows = report.hotspots(profile, include_libraries=True)
    lib = [r for r in rows if r.filename == LIBRARY_FILE]
    assert len(lib) == 1
    assert lib[0].percent["total"] == pytest.approx(40.0)       # 2 io + 1 py + 1 sleep
    assert lib[0].percent["wait_sleep"] == pytest.approx(10.0)
    assert 7 not in by_line(r for r in rows if r.filename != LIBRARY_FILE)


def test_rows_are_sorted_by_time_or_by_line(profile):
    assert [r.line for r in report.hotspots(profile)] == [5, 7, 9]
    p = profile
    p.add(1, [p.frames[0], p.frames[1]], "cpu_python", 5.0)     # work:5 grows to 9 s
    assert [r.line for r in report.hotspots(p, sort="time")][0] == 5
    assert [r.line for r in report.hotspots(p, sort="line")] == [5, 7, 9]
    with pytest.raises(ValueError, match="sort"):
        report.hotspots(p, sort="size")


def test_threshold_hides_lines_under_it(profile):
    assert [r.line for r in report.hotspots(profile, threshold=25)] == [5, 7]
    assert [r.line for r in report.hotspots(profile, threshold=30)] == [5, 7]   # inclusive
    assert report.hotspots(profile, threshold=41) == []
    with pytest.raises(ValueError, match="threshold"):
        report.hotspots(profile, threshold=120)


def test_source_text_comes_from_the_file(profile):
    rows = by_line(report.hotspots(profile))
    assert rows[5].source == "total = sum(range(10))"
    assert rows[7].source == "return json.loads(data)"


def test_function_totals_count_recursion_once(profile, known):
    fns = {f.function: f for f in report.function_hotspots(profile)}
    assert set(fns) == {"main", "work", "load", "rec"}
    assert fns["main"].total_percent == pytest.approx(70.0)
    assert fns["main"].self_percent == pytest.approx(0.0)
    assert fns["main"].first_line == 2
    assert fns["work"].total_percent == pytest.approx(40.0)
    assert fns["load"].self_percent == pytest.approx(30.0)
    assert fns["rec"].total_percent == pytest.approx(20.0)      # 3 frames deep, once
    assert fns["rec"].self_percent == pytest.approx(20.0)
    assert [f.function for f in report.function_hotspots(profile, threshold=35)] == \
        ["main", "work"]


def test_user_code_filter(known):
    assert is_user_code(known.app)
    assert not is_user_code(LIBRARY_FILE)
    assert not is_user_code(os.__file__)
    assert not is_user_code("/opt/venv/lib/python3.11/site-packages/numpy/core.py")
    assert not is_user_code("/usr/lib/python3/dist-packages/yaml/loader.py")
    assert not is_user_code("<frozen importlib._bootstrap>")
    assert not is_user_code("<string>")
    assert not is_user_code("")
    assert not is_user_code(dprof.__file__)


def test_rejects_what_is_not_a_profile():
    with pytest.raises(TypeError, match="StackProfile"):
        report.hotspots({"rows": []})


def test_piped_output_is_plain_aligned_text(profile, monkeypatch):
    monkeypatch.setattr(sys, "stdout", io.StringIO())        # a real non-terminal stream
    text = report.render_hotspots(profile)
    assert "\x1b[" not in text
    lines = text.splitlines()
    header = lines[0]
    assert header.split() == ["Location", "CPU(Py)", "CPU(C)", "IO", "wait", "Other",
                              "wait", "Total", "Source"]
    work = next(line for line in lines if "app.py:5" in line)
    load = next(line for line in lines if "app.py:7" in line)
    # numbers are right-aligned under their header
    end_total = header.index("Total") + len("Total")
    assert work[:end_total].endswith("40.0%") and load[:end_total].endswith("30.0%")
    end_py = header.index("CPU(Py)") + len("CPU(Py)")
    assert work[:end_py].endswith("30.0%")
    assert "total = sum(range(10))" in work
    assert "libraries only): 10.0%" in text


def test_plain_text_respects_threshold_and_notes_hidden_time(profile):
    text = report.render_hotspots(profile, threshold=25, color=False)
    assert "app.py:9" not in text and "app.py:5" in text
    assert "Lines not shown (under 25%" in text and ": 20.0%." in text


def test_terminal_output_uses_rich_with_same_numbers(profile):
    text = report.render_hotspots(profile, color=True)
    assert "\x1b[" in text
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    for expected in ("40.0%", "30.0%", "20.0%", "app.py:5", "Hotspots by line"):
        assert expected in plain


def test_dprofs_own_time_inside_the_program_is_not_charged_to_the_users_line(tmp_path):
    import os

    import dprof
    from dprof.report.hotspots import hotspots, profiler_overhead_seconds, render_hotspots
    from dprof.stacks import CPU_NATIVE, CPU_PYTHON, Frame, StackProfile

    user = tmp_path / "job.py"
    user.write_text("def main():\n    work()\n    task()\n")
    session = os.path.join(os.path.dirname(dprof.__file__), "session.py")
    launcher = os.path.join(os.path.dirname(dprof.__file__), "cli", "run.py")
    p = StackProfile()
    # the user's work, under the dprof run launcher (above the user's code: not overhead)
    p.add(1, [Frame(launcher, "handle", 10), Frame(str(user), "main", 2)], CPU_PYTHON, 3.0)
    # a nested @profiler storing its record, below the user's line 3
    p.add(1, [Frame(launcher, "handle", 10), Frame(str(user), "main", 3),
              Frame(session, "wrapper", 170), Frame(session, "_finish", 80)], CPU_NATIVE, 1.0)
    assert profiler_overhead_seconds(p) == 1.0
    rows = hotspots(p)
    assert [(r.line, r.total_seconds) for r in rows] == [(2, 3.0)]
    text = render_hotspots(p, color=False)
    assert "dprof itself spent recording nested profiles" in text and "25.0%" in text
    # with libraries shown, the time sits on dprof's own line instead
    assert any(r.filename == session for r in hotspots(p, include_libraries=True))
