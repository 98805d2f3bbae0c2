"""``dprof run --memory`` and ``dprof view PROFILE --memory KIND`` as real processes."""
import gzip
import json

import pytest

pytestmark = [pytest.mark.core, pytest.mark.needs_native(reason="memory sampling is C only")]

PROGRAM = """\
cache = []
def grow():
    for i in range(2000):
        cache.append(bytes(60_000))      # line 4: the leak
def temp():
    for i in range(500):
        x = bytes(1_000_000)             # line 7: freed at once
grow()
temp()
def compute():
    # The allocations above take about 0.1 s: too short for the HTML view's stack
    # samples to be sure on a busy CI machine (3.12 stored one with none, twice).
    # Half a second of computing that allocates nothing gives them; the memory
    # figures the tests check are untouched.
    import time
    deadline = time.perf_counter() + 0.5
    while time.perf_counter() < deadline:
        pass
compute()
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from cli_helpers import make_cli
    cli = make_cli(tmp_path_factory.mktemp("mem"))
    (cli.workdir / "prog.py").write_text(PROGRAM)
    cli.env["DPROF_MEMORY_SEED"] = "11"
    cli("run", "--memory", "-q", "prog.py", check=0)
    (profile,) = cli.profiles()
    return cli, profile


def test_run_memory_stores_the_samples(recorded):
    cli, profile = recorded
    mem = profile.memory
    assert mem is not None and mem.totals["seed"] == 11
    lines = {s.frame.line: s for s in mem.by_line(lambda f: f.filename.endswith("prog.py"))}
    leak, temp = lines[4], lines[7]
    assert abs(leak.end_bytes - 2000 * 60_033) < 0.15 * 2000 * 60_033
    assert temp.alloc_bytes == 500 * 1_000_033 and temp.end_bytes == 0


def test_view_memory_collapsed(recorded):
    cli, profile = recorded
    out = cli("view", profile.id[:12], "--memory", "leaked", "--format", "collapsed",
              check=0).stdout
    rows = [line.rsplit(" ", 1) for line in out.splitlines()]
    assert sum(int(n) for _, n in rows) == profile.memory.totals["live_end"]
    top = max(rows, key=lambda r: int(r[1]))[0]
    # runpy names the script as it was given on the command line
    assert top.endswith(";<module> (prog.py:8);grow (prog.py:4)")


def test_view_memory_text_svg_html_speedscope_pprof(recorded):
    cli, profile = recorded
    text = cli("view", profile.id[:12], "--memory", "allocated", check=0).stdout
    assert "alloc MB" in text and "peak MB" in text and "temp (prog.py:7)" in text
    svg = cli.workdir / "peak.svg"
    cli("view", profile.id[:12], "--memory", "peak", "--format", "svg", "-o", str(svg), check=0)
    assert 'data-kind="peak"' in svg.read_text()
    sc = cli.workdir / "m.speedscope.json"
    cli("view", profile.id[:12], "--memory", "allocated", "--format", "speedscope",
        "-o", str(sc), check=0)
    doc = json.loads(sc.read_text())
    assert doc["profiles"][0]["unit"] == "bytes"
    assert sum(doc["profiles"][0]["weights"]) == profile.memory.totals["allocated"]
    pb = cli.workdir / "m.pb.gz"
    cli("view", profile.id[:12], "--memory", "allocated", "--format", "pprof", "-o", str(pb),
        check=0)
    raw = gzip.decompress(pb.read_bytes())
    assert b"alloc_space" in raw and b"leaked_space" in raw
    html = cli.workdir / "r.html"
    cli("view", profile.id[:12], "--format", "html", "-o", str(html), check=0)
    page = html.read_text()
    assert page.count("dprof-memory-flamegraph") == 3 and "dprof-memory-timeline" in page


def test_view_memory_of_a_profile_without_memory_says_how(cli):
    (cli.workdir / "p.py").write_text("x = 1\n")
    cli("run", "-q", "p.py", check=0)
    (profile,) = cli.profiles()
    done = cli("view", profile.id[:12], "--memory", "peak")
    assert done.returncode != 0 and "--memory" in done.stderr and "no memory samples" in done.stderr


@pytest.mark.parametrize("how", [("prog.py",), ("-m", "prog")])
def test_what_the_programs_globals_hold_is_live_at_its_end(cli, how):
    # Under `python prog.py` the globals live until the interpreter exits. runpy
    # drops its module when the code returns, and the module's functions and dict
    # form a cycle: the program's threshold of 1 makes the first allocation after
    # it returns collect them, so the profile must end before they can go.
    (cli.workdir / "prog.py").write_text(
        "import gc\n"
        "kept = [bytes(1_000_000) for _ in range(40)]\n"
        "def f():\n"
        "    pass\n"
        "gc.set_threshold(1)\n")
    out = cli.workdir / "p.json"
    cli("run", "--memory", "-q", "--no-store", "-o", str(out), *how, check=0)
    totals = json.loads(out.read_text())["memory"]["totals"]
    assert totals["live_end"] >= 40_000_000
