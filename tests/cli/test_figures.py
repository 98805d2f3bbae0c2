"""Every figure ``dprof`` prints or stores is the measured thing, in one unit per
quantity: a command's own peak memory, readable durations and sizes in tables, a
signal stored by its name, and advice that fits what was run."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from cli_helpers import dprof_command

pytestmark = pytest.mark.core

MIB = 2 ** 20


def test_a_commands_peak_is_its_own_not_the_launching_processs(cli):
    """dprof started from a process whose high-water mark is 400 MiB: a command
    that uses 64 MiB is stored with about that, not with 400 MiB."""
    command = [sys.executable, "-c",
               "import time; b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096]); "
               "time.sleep(0.5)"]
    launcher = ("import sys; big = bytearray(400 << 20); big[::4096] = b'x' * len(big[::4096]); "
                "del big; from dprof.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", launcher, "run", "-q", "--", *command],
                          cwd=cli.workdir, env=cli.env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    [profile] = cli.profiles()
    assert 64 <= profile.memory_usage_peak_mb < 150, profile.memory_usage_peak_mb
    assert "tree" in profile.sources["memory_usage_peak_mb"]
    # CPU from the command's own wait4 rusage
    assert "wait4" in profile.sources["cpu_user_utilization"]


def test_a_tiny_command_is_not_charged_dprofs_interpreter(cli):
    cli("run", "-q", "--", "true", check=0)
    [profile] = cli.profiles()
    # `true` uses about 1 MiB; dprof's interpreter is about 30
    if profile.memory_usage_peak_mb is None:
        assert "interval" in profile.missing["memory_usage_peak_mb"]
    else:
        assert profile.memory_usage_peak_mb < 10


def fields_of(text):
    return dict(re.split(r"\s{2,}", line.strip(), maxsplit=1)
                for line in text.splitlines() if re.match(r"  \S.*\S\s{2,}\S", line))


def test_history_show_and_stats_use_the_same_readable_units(known_cli):
    history = known_cli("history", "--process", "load", check=0).stdout
    header, *rows = history.splitlines()
    assert "runtime" in header and "peak memory" in header and "cpu user" in header
    assert "e-0" not in history and "MB " not in history
    newest = rows[0]
    assert "1.50 s" in newest and "100.0 MiB" in newest and "25.0 %" in newest
    show = fields_of(known_cli("show", "aaaa1111", check=0).stdout)
    assert show["runtime"] == "1.50 s" and show["peak memory"] == "100.0 MiB"
    assert show["cpu user"].startswith("25.0 %")
    assert show["file read"] == "1000 bytes" and show["file write"] == "2.0 KiB"
    stats = known_cli("stats", "--process", "load", check=0).stdout
    assert "runtime mean" in stats and "2.00 s" in stats and "300.0 MiB" in stats


def test_short_runtimes_read_as_milliseconds(cli):
    from datetime import datetime, timedelta, timezone
    from dprof.record import Profile
    start = datetime.now(timezone.utc)
    repo = cli.repo()
    repo.add(Profile(process_name="quick", task_start_time=start,
                     task_end_time=start + timedelta(microseconds=1540),
                     runtime_seconds=0.00154, cpu_user_utilization=0.0043, cpu_cores=1.0))
    repo.close()
    out = cli("history", check=0).stdout
    assert "1.54 ms" in out and "0.4 %" in out and "e-0" not in out


def test_sigterm_is_stored_by_its_name(cli):
    (cli.workdir / "sleeper.py").write_text(textwrap.dedent("""
        import time
        open("started", "w").close()
        time.sleep(60)
    """))
    proc = cli.popen("run", "-q", "sleeper.py")
    try:
        deadline = time.monotonic() + 60
        while not (cli.workdir / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    [profile] = cli.profiles()
    assert profile.status == "failed" and profile.exception_type == "SIGTERM"
    assert "SIGTERM" in profile.exception_message


def test_a_command_ended_by_a_signal_is_stored_by_its_name(cli):
    cli("run", "-q", "--", sys.executable, "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
        check=128 + signal.SIGTERM)
    [profile] = cli.profiles()
    assert profile.exception_type == "SIGTERM"
    assert "SIGTERM" in profile.exception_message


def test_a_command_without_stacks_advises_follow_children(cli):
    cli("run", "-q", "--", "true", check=0)
    done = cli("view", "last", check=2)
    assert "--follow-children" in done.stderr and "dprof run --follow-children -- true" \
        in done.stderr
    [profile] = cli.profiles()
    done = cli("view", profile.id[:12], check=2)
    assert "--follow-children" in done.stderr


def test_run_ends_with_the_top_lines_and_view_last_opens_the_newest(cli):
    (cli.workdir / "hot.py").write_text(textwrap.dedent("""
        import time
        def hot():
            deadline = time.monotonic() + 0.4
            while time.monotonic() < deadline:
                pass
        hot()
    """))
    done = cli("run", "hot.py", check=0)
    summary, _, tail = done.stderr.partition("top lines of your code:")
    assert "peak memory" in summary and "hot.py:5" in tail
    assert "dprof view" in tail
    [profile] = cli.profiles()
    view = cli("view", "last", check=0)
    assert "hot.py:5" in view.stdout
    assert "hot.py:5" in cli("view", profile.id[:10], check=0).stdout
    assert profile.id in cli("show", "last", check=0).stdout


def test_open_writes_the_html_report_and_opens_it(cli, tmp_path):
    (cli.workdir / "hot.py").write_text("import time\nt = time.monotonic()\n"
                                        "while time.monotonic() - t < 0.2: pass\n")
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    browser.chmod(0o755)
    env = dict(cli.env, BROWSER=str(browser))
    done = subprocess.run(dprof_command("run", "-q", "--open", "hot.py"), cwd=cli.workdir,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 30
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    url = opened.read_text().strip()
    assert url.startswith("file://") and url.endswith(".html")
    page = open(url[len("file://"):], encoding="utf-8").read()
    assert "<html" in page.lower() and "hot.py" in page
    # with -o FILE.html the report goes there
    done = subprocess.run(dprof_command("run", "-q", "--open", "-o", "r.html", "hot.py"),
                          cwd=cli.workdir, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert (cli.workdir / "r.html").exists()
