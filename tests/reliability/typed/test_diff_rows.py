"""The rows ``dprof diff`` prints, from dprof/report/diff.py, on known profiles.

Pinned here because ``dprof diff`` must print the same bytes after diff_rows moved
out of the CLI: a line shared by two functions (a generator expression on its
caller's line) is one row, labelled with the function its first sample was in;
a library frame's time lands on the user's line that called it.
"""
import pytest

from dprof.report.diff import diff_rows
from dprof.stacks import CATEGORIES, Frame, StackProfile

pytestmark = pytest.mark.core

CPU, WAIT = CATEGORIES[0], CATEGORIES[-1]
MAIN = Frame("/srv/app/job.py", "main", 20)
SORT = Frame("/srv/app/job.py", "sort", 12)
GENEXPR = Frame("/srv/app/job.py", "sort.<locals>.<genexpr>", 12)
PARSE = Frame("/srv/app/job.py", "parse", 3)
LIB = Frame("/srv/venv/lib/python3.11/site-packages/json5/lib.py", "loads", 337)


def profile(rows):
    p = StackProfile()
    for stack, category, seconds in rows:
        p.add(1, stack, category, seconds)
    return p


BEFORE = profile([([MAIN, SORT], CPU, 0.25), ([MAIN, SORT, GENEXPR], CPU, 0.5),
                  ([MAIN, PARSE, LIB], WAIT, 1.0), ([MAIN], CPU, 0.125)])
AFTER = profile([([MAIN, SORT], WAIT, 0.25), ([MAIN, SORT, GENEXPR], CPU, 1.5),
                 ([MAIN, PARSE, LIB], CPU, 1.0)])


def test_line_rows_merge_a_shared_line_under_its_first_function():
    rows, hidden = diff_rows(BEFORE, AFTER, threshold=0.0)
    job = "/srv/app/job.py"
    assert rows == [(f"{job}:12 sort", 0.75, 1.75), (f"{job}:20 main", 0.125, 0.0)]
    assert hidden == 0        # parse's line did not change: not counted as left out


def test_rows_are_largest_change_first_whichever_way_round():
    rows, _ = diff_rows(AFTER, BEFORE, threshold=0.0)
    assert rows == [("/srv/app/job.py:12 sort", 1.75, 0.75),
                    ("/srv/app/job.py:20 main", 0.0, 0.125)]


def test_function_rows_are_inclusive_and_libraries_can_be_shown():
    rows, _ = diff_rows(BEFORE, AFTER, by="function", threshold=0.0, limit=None)
    assert dict((k, (b, a)) for k, b, a in rows)["sort (/srv/app/job.py)"] == (0.75, 1.75)
    with_libs, _ = diff_rows(BEFORE, AFTER, threshold=0.0, include_libraries=True)
    assert ("/srv/app/job.py:12 sort", 0.75, 1.75) in with_libs
    # the library line's time did not change; without libraries it is parse's
    assert not any("json5" in r[0] or ":3 parse" in r[0] for r in with_libs + rows)


def test_threshold_and_limit_count_what_they_leave_out():
    rows, hidden = diff_rows(BEFORE, AFTER, threshold=0.0, limit=1)
    assert len(rows) == 1 and hidden == 1
    # 0.125 s of a 2.75 s profile is 4.5 %: under a 5 % threshold
    rows, hidden = diff_rows(BEFORE, AFTER, threshold=5.0)
    assert [r[0] for r in rows] == ["/srv/app/job.py:12 sort"] and hidden == 1
