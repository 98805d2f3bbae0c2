"""Names UTF-8 cannot encode (lone surrogates: a script path that was not valid UTF-8,
decoded with surrogateescape, or a hand-edited file) are escaped as ``\\udXXX`` in
every output, terminal, HTML, SVG, JSON, speedscope, chrome trace, collapsed and
pprof, instead of raising UnicodeEncodeError."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dprof
import dprof.report as report
from dprof.record import Profile
from dprof.stacks.model import Frame, StackProfile

pytestmark = pytest.mark.core
ENV = dict(os.environ, PYTHONPATH=str(Path(dprof.__file__).resolve().parent.parent),
           PYTHONIOENCODING="utf-8:strict")
FORMATS = ("html", "svg", "speedscope", "chrome", "collapsed", "pprof")


def unencodable() -> StackProfile:
    p = StackProfile(duration_seconds=1.0)
    script = os.path.abspath("caf\udce9.py")          # a Latin-1 name, surrogateescaped
    p.add(1, [Frame(script, "main", 3), Frame(script, "lone\ud800", 7)], "cpu_python", 0.75)
    p.add(1, [Frame(script, "main", 3)], "wait_io", 0.25)
    return p


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_report_format_escapes_instead_of_failing(tmp_path, fmt):
    path = tmp_path / {"html": "r.html", "svg": "r.svg", "speedscope": "r.speedscope.json",
                       "chrome": "r.trace.json", "collapsed": "r.collapsed",
                       "pprof": "r.pb.gz"}[fmt]
    assert report.write(unencodable(), path) == fmt
    data = path.read_bytes()
    if fmt == "pprof":                 # protobuf: the string table holds the names
        data = gzip.decompress(data)
        assert b"\\udce9" in data and b"lone\\ud800" in data
        return
    text = data.decode("utf-8")
    if fmt in ("speedscope", "chrome"):
        text = json.dumps(json.loads(text), ensure_ascii=True)   # JSON's own \u escapes
    assert "\\udce9" in text and "\\ud800" in text


def test_text_reports_return_encodable_text():
    p = unencodable()
    for text in (report.render_hotspots(p, color=False, include_libraries=True),
                 report.render_calltree(p, color=False), report.render_calltree(p, color=True),
                 report.html_report(p), report.flamegraph_svg(p),
                 report.diff_flamegraph_svg(p, p)):
        text.encode("utf-8")                    # raised UnicodeEncodeError before
        assert "caf\\udce9.py" in text


@pytest.mark.parametrize("output", [None, "x.html", "x.svg", "x.collapsed", "x.pb.gz",
                                    "x.speedscope.json", "x.trace.json", "x.json"])
def test_dprof_view_prints_and_writes_them(tmp_path, output):
    profile = Profile(process_name="caf\udce9.py", task_start_time=dprof_time(),
                      task_end_time=dprof_time(), stacks=unencodable())
    src = tmp_path / "p.json"
    src.write_text(json.dumps(profile.to_dict()), encoding="ascii")
    cmd = [sys.executable, "-m", "dprof", "--db", str(tmp_path / "db"), "view", str(src)]
    if output:
        cmd += ["-o", str(tmp_path / output)]
    done = subprocess.run(cmd, capture_output=True, timeout=120, env=ENV, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    if output is None:                 # stdout is strict UTF-8 here (PYTHONIOENCODING)
        assert b"lone\\ud800" in done.stdout
    else:
        assert (tmp_path / output).stat().st_size > 0 and b"Traceback" not in done.stderr


def dprof_time():
    from datetime import datetime, timezone
    return datetime(2026, 1, 1, tzinfo=timezone.utc)
