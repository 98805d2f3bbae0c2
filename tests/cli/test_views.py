"""``dprof view`` and ``dprof diff`` on hand-built stack profiles with known seconds,
stored through ProfileRepo or written as JSON files, run as real subprocesses."""
from __future__ import annotations

import gzip
import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from cli_helpers import ANSI_ESCAPE, make_cli

pytestmark = pytest.mark.core

APP_SOURCE = "\n".join(f"x{i} = {i}" for i in range(1, 40)).split("\n")
APP_SOURCE[9] = "def main(): load(); parse(); json.loads(s)     # line 10"
APP_SOURCE[19] = "    rows = read_rows()                    # line 20"
APP_SOURCE[29] = "    return [split(r) for r in rows]       # line 30"
LIB_FILE = os.path.join(os.path.dirname(json.__file__), "decoder.py")   # stdlib: a library

BEFORE_ID = "b0f0e000000000000000000000000001"
AFTER_ID = "af7e0000000000000000000000000002"
NO_STACKS_ID = "50570000000000000000000000000003"


def stack_profile(app, parse_seconds):
    """main -> load 1.0 s Python; main -> parse `parse_seconds` Python; main -> the
    stdlib json decoder 0.5 s native."""
    from dprof.stacks.model import Frame, StackProfile
    sp = StackProfile(duration_seconds=3.0, requested_hz=100.0, effective_hz=100.0)
    main = Frame(app, "main", 10)
    sp.add(7, [main, Frame(app, "load", 20)], "cpu_python", 1.0, 100)
    sp.add(7, [main, Frame(app, "parse", 30)], "cpu_python", parse_seconds, 50)
    sp.add(7, [main, Frame(LIB_FILE, "decode", 5)], "cpu_native", 0.5, 50)
    return sp


def profile_with(pid, stacks):
    from dprof.record import Profile
    start = datetime.now(timezone.utc) - timedelta(minutes=1)
    return Profile(id=pid, process_name="etl", task_start_time=start,
                   task_end_time=start + timedelta(seconds=3), stacks=stacks)


@pytest.fixture(scope="module")
def views(tmp_path_factory):
    cli = make_cli(tmp_path_factory.mktemp("views"))
    app = str(cli.workdir / "app.py")
    (cli.workdir / "app.py").write_text("\n".join(APP_SOURCE) + "\n")
    cli.before, cli.after = stack_profile(app, 0.5), stack_profile(app, 2.0)
    repo = cli.repo()
    try:
        repo.add_many([profile_with(BEFORE_ID, cli.before), profile_with(AFTER_ID, cli.after),
                       profile_with(NO_STACKS_ID, None)])
    finally:
        repo.close()
    (cli.workdir / "after_profile.json").write_text(
        json.dumps(profile_with("f11e", cli.after).to_dict()))
    (cli.workdir / "after_stacks.json").write_text(json.dumps(cli.after.to_dict()))
    (cli.workdir / "not_a_profile.json").write_text('{"hello": 1}')
    return cli


def table_rows(text):
    """location -> total percent, from the plain hotspot table."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\S+:\d+)\s.*?(\d+\.\d)%(\s|$)", line)
        if m:
            out[m.group(1)] = float(re.findall(r"(\d+\.\d)%", line)[-1])
    return out


def test_view_shows_hotspots_and_call_tree_of_a_stored_profile(views):
    done = views("view", AFTER_ID[:6], check=0)
    out = done.stdout
    assert ANSI_ESCAPE not in out
    # 3.5 s in all: load 1.0, parse 2.0, the json decoder 0.5 charged to main's line 10
    assert table_rows(out.split("Call tree")[0]) == {
        "app.py:30": pytest.approx(57.1), "app.py:20": pytest.approx(28.6),
        "app.py:10": pytest.approx(14.3)}
    assert "return [split(r) for r in rows]" in out                  # the source line
    tree = out.split("Call tree", 1)[1]
    assert "3.500s 100.0%" in tree and "2.000s  57.1% self 2.000s  parse (app.py)" in tree
    assert "decoder.py" not in out                                   # library hidden


def test_view_with_libraries_shows_library_lines(views):
    out = views("view", AFTER_ID, "--libraries", check=0).stdout
    rows = table_rows(out.split("Call tree")[0])
    assert rows[f"{LIB_FILE}:5"] == pytest.approx(14.3)
    assert "app.py:10" not in rows
    assert "decode (" in out.split("Call tree", 1)[1]


def test_view_threshold_hides_small_lines(views):
    out = views("view", AFTER_ID, "--threshold", "20", check=0).stdout
    assert set(table_rows(out.split("Call tree")[0])) == {"app.py:30", "app.py:20"}


def test_view_reads_profile_and_stack_profile_json_files_like_stored_ones(views):
    stored = views("view", AFTER_ID, "--format", "calltree", check=0).stdout
    for name in ("after_profile.json", "after_stacks.json"):
        assert views("view", name, "--format", "calltree", check=0).stdout == stored


@pytest.mark.parametrize("filename, check_content", [
    ("r.html", lambda b, sp: b.lstrip().lower().startswith(b"<!doctype html")),
    ("r.svg", lambda b, sp: ET.fromstring(b).tag.endswith("svg") and b"parse (" in b),
    ("r.speedscope.json", lambda b, sp: {f["name"] for f in json.loads(b)["shared"]["frames"]}
     >= {"main", "load", "parse"}),
    ("r.trace.json", lambda b, sp: json.loads(b) == json.loads(json.dumps(
        __import__("dprof.report", fromlist=["x"]).to_chrome_trace(sp)))),
    ("r.collapsed", lambda b, sp: b.decode() == __import__(
        "dprof.report", fromlist=["x"]).to_collapsed(sp)),
    ("r.pb.gz", lambda b, sp: b == __import__("dprof.report", fromlist=["x"]).to_pprof(sp)
     and len(gzip.decompress(b)) > 0),
])
def test_view_writes_the_format_of_the_file_ending(views, tmp_path, filename, check_content):
    out = tmp_path / filename
    done = views("view", AFTER_ID, "-o", str(out), check=0)
    assert done.stdout == "" and str(out) in done.stderr
    assert check_content(out.read_bytes(), views.after)


@pytest.mark.needs_native(reason="expects the native sampler's reasons")
def test_view_html_of_a_profile_with_resources_charts_them(tmp_path):
    """A stored Profile's page has its resource charts; a column the sampler could not
    give shows the stored reason. The series is recorded for real, not made up."""
    from dprof import _native
    from dprof.session import profile

    with profile("charted", store=False, stacks=True, interval=0.01) as run:
        deadline = __import__("time").process_time() + 0.4
        while __import__("time").process_time() < deadline:
            pass
    p = run.profile
    assert p.resources is not None and p.stacks is not None and p.stacks.rows
    cli = make_cli(tmp_path / "charts")
    repo = cli.repo()
    try:
        repo.add(p)
    finally:
        repo.close()
    out = tmp_path / "r.html"
    cli("view", p.id[:10], "-o", str(out), check=0)
    page = out.read_text(encoding="utf-8")
    charts = dict(re.findall(r'<svg class="plot" data-series="([^"]+)"( data-missing="[^"]*")?',
                             page))
    assert charts.get("process CPU (% of one core)") == ""         # drawn, not missing
    assert "<polyline" in page.split('data-series="process CPU (% of one core)"', 1)[1]
    live = _native.Sampler(pid=0, interval=0.01, capacity=4).missing()
    if "gpu_util_percent" in live:          # no GPU here: the chart says why
        from html import escape
        assert charts["GPU utilisation (%)"] == f' data-missing="{escape(live["gpu_util_percent"])}"'
        assert p.resources_missing["gpu_util_percent"] == live["gpu_util_percent"]


def test_view_pprof_to_a_pipe_is_the_raw_bytes(views):
    import subprocess
    from cli_helpers import dprof_command
    from dprof.report import to_pprof
    done = subprocess.run(dprof_command("view", AFTER_ID, "--format", "pprof"),
                          cwd=views.workdir, env=views.env, capture_output=True, timeout=120)
    assert done.returncode == 0 and done.stdout == to_pprof(views.after)


@pytest.mark.parametrize("args, message", [
    ((NO_STACKS_ID[:8],), "dprof view: profile 505700000000 has no stack samples; "
                          "record it with stacks: `dprof run` (the default), "
                          "@profiler(stacks=True) or profile(..., stacks=True)"),
    (("deadbeef",), "dprof view: no profile with id 'deadbeef'"),
    (("missing.json",), "dprof view: no such file: missing.json"),
    (("not_a_profile.json",), "dprof view: not_a_profile.json is neither a dprof profile"),
    ((AFTER_ID, "-o", "r.png"), "dprof view: cannot tell which file to write from the name "
                                "'r.png': use one of the endings .speedscope.json"),
    ((AFTER_ID, "--threshold", "120"), "dprof view: argument --threshold: must be a "
                                       "percentage from 0 to 100, got 120"),
])
def test_view_bad_input_is_one_clear_line(views, args, message):
    done = views("view", *args, check=2)
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(message), line


def test_diff_table_lists_what_changed_most(views):
    out = views("diff", BEFORE_ID[:6], AFTER_ID[:6], check=0).stdout
    assert ANSI_ESCAPE not in out
    assert "before: etl (b0f0e0000000), 2.000 s sampled" in out
    assert "after:  etl (af7e00000000), 3.500 s sampled (+75.0%)" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("app.py:")]
    # only parse changed: 0.5 s -> 2.0 s
    assert rows == [["app.py:30", "parse", "0.500", "2.000", "+1.500", "+300.0%"]]


def test_diff_by_function_counts_callees(views):
    out = views("diff", BEFORE_ID, AFTER_ID, "--by", "function", check=0).stdout
    rows = {line.split()[0]: line.split()[2:] for line in out.splitlines()
            if line.startswith(("main ", "parse "))}
    assert rows["main"] == ["2.000", "3.500", "+1.500", "+75.0%"]
    assert rows["parse"] == ["0.500", "2.000", "+1.500", "+300.0%"]


def test_diff_writes_a_diff_flamegraph(views, tmp_path):
    out = tmp_path / "diff.svg"
    views("diff", BEFORE_ID, "after_stacks.json", "-o", str(out), check=0)
    root = ET.fromstring(out.read_bytes())
    assert root.tag.endswith("svg")
    text = out.read_text()
    assert "parse (" in text and 'data-before="0.5"' in text and 'data-after="2.0"' in text


@pytest.mark.parametrize("args, message", [
    ((BEFORE_ID, NO_STACKS_ID), "dprof diff: profile 505700000000 has no stack samples"),
    ((BEFORE_ID, AFTER_ID, "-o", "diff.html"), "dprof diff: cannot tell which file to write "
                                               "from the name 'diff.html': dprof diff "
                                               "writes a diff flamegraph, use the ending .svg"),
])
def test_diff_bad_input_is_one_clear_line(views, args, message):
    done = views("diff", *args, check=2)
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(message), line
