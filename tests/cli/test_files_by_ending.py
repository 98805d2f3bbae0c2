"""``-o FILE`` writes what the ending says in every verb that writes files, and an
ending dprof does not know is an error that names the ones it knows."""
from __future__ import annotations

import gzip
import json
import textwrap

import pytest

from cli_helpers import store_known

pytestmark = pytest.mark.core

SCRIPT = textwrap.dedent("""
    import time
    def spin():
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            sum(i for i in range(1000))
    spin()
""")

# ending -> a check of the bytes written
CHECKS = {
    "out.html": lambda b: b.lstrip().lower().startswith(b"<!doctype html"),
    "out.svg": lambda b: b"<svg" in b[:400],
    "out.speedscope.json": lambda b: json.loads(b)["$schema"].startswith("https://www.speedscope"),
    "out.trace.json": lambda b: "traceEvents" in json.loads(b),
    "out.collapsed": lambda b: all(line.rsplit(b" ", 1)[1].isdigit() for line in b.splitlines()),
    "out.pb.gz": lambda b: gzip.decompress(b)[:1] == b"\x0a",
    "out.json": lambda b: json.loads(b)["process_name"] == "spin.py",
}


@pytest.fixture
def spin(cli):
    (cli.workdir / "spin.py").write_text(SCRIPT)
    return cli


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_run_writes_the_format_its_ending_names(spin, name):
    spin("run", "-q", "-o", name, "spin.py", check=0)
    assert CHECKS[name]((spin.workdir / name).read_bytes())


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_view_writes_the_format_its_ending_names(spin, name):
    spin("run", "-q", "spin.py", check=0)
    spin("view", "last", "-o", name, check=0)
    assert CHECKS[name]((spin.workdir / name).read_bytes())


def test_view_json_is_the_profile_and_views_back(spin):
    from dprof.record import Profile
    spin("run", "-q", "spin.py", check=0)
    spin("view", "last", "-o", "again.json", check=0)
    profile = Profile.from_dict(json.loads((spin.workdir / "again.json").read_text()))
    [stored] = spin.profiles()
    assert profile == stored
    assert "spin.py" in spin("view", "again.json", check=0).stdout


@pytest.mark.parametrize("verb", [("run", "-o", "out.xlsx", "spin.py"),
                                  ("view", "last", "-o", "out.xlsx")])
def test_an_unknown_ending_is_an_error_naming_the_known_ones(spin, verb):
    if verb[0] == "view":
        spin("run", "-q", "spin.py", check=0)
    before = len(spin.profiles()) if (spin.workdir / "profiles.db").exists() else 0
    done = spin(*verb, check=2)
    for ending in (".html", ".svg", ".speedscope.json", ".trace.json", ".collapsed",
                   ".pb.gz", ".json"):
        assert ending in done.stderr
    assert "out.xlsx" in done.stderr and not (spin.workdir / "out.xlsx").exists()
    if verb[0] == "run":                 # nothing ran, nothing was stored
        assert before == 0 and not (spin.workdir / "profiles.db").exists()


def test_export_xlsx_is_an_error_not_csv(cli):
    store_known(cli)
    done = cli("export", "-o", "out.xlsx", check=2)
    for ending in (".csv", ".json", ".jsonl", ".parquet"):
        assert ending in done.stderr
    assert not (cli.workdir / "out.xlsx").exists()
    done = cli("export", "--format", "csv", "-o", "out.json", check=2)
    assert "out.json" in done.stderr and not (cli.workdir / "out.json").exists()


def test_export_json_keeps_microseconds(cli):
    from datetime import datetime
    from cli_helpers import known_profiles
    store_known(cli)
    cli("export", "-o", "all.json", check=0)
    rows = {r["id"]: r for r in json.loads((cli.workdir / "all.json").read_text())}
    for p in known_profiles():
        written = datetime.fromisoformat(rows[p.id]["task_start_time"].replace("Z", "+00:00"))
        assert written == p.task_start_time           # to the microsecond
        assert rows[p.id]["runtime_seconds"] == p.runtime_seconds


def test_diff_names_the_ending_it_writes(spin):
    spin("run", "-q", "spin.py", check=0)
    done = spin("diff", "last", "last", "-o", "d.html", check=2)
    assert ".svg" in done.stderr and "d.html" in done.stderr


@pytest.mark.parametrize("args", [("-o", "out.html"), ("-o", "out.svg"), ("--open",)])
def test_a_stack_file_of_a_command_needs_follow_children_and_nothing_runs(cli, args):
    done = cli("run", *args, "--", "touch", "ran", check=2)
    assert "--follow-children" in done.stderr
    assert not (cli.workdir / "ran").exists() and not (cli.workdir / "out.html").exists()
