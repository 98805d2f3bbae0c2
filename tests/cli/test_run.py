"""``dprof run``: scripts, modules and commands as real subprocesses; their arguments,
exit codes and signals pass through, and the profile is stored in every case."""
from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.core


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_script_gets_its_arguments_and_its_exit_code_is_dprofs(cli):
    write(cli.workdir / "job.py", """
        import json, sys
        json.dump(sys.argv, open("argv.json", "w"))
        sys.exit(3)
    """)
    done = cli("run", "--stage", "load", "job.py", "a", "--flag", "-x", "--", "b", check=3)
    assert json.loads((cli.workdir / "argv.json").read_text()) == \
        ["job.py", "a", "--flag", "-x", "--", "b"]
    [profile] = cli.profiles()
    assert (profile.process_name, profile.stage, profile.status) == ("job.py", "load", "failed")
    assert profile.exception_type == "SystemExit"
    assert profile.parameters["argv"] == ["job.py", "a", "--flag", "-x", "--", "b"]
    assert profile.id[:12] in done.stderr        # the summary names the stored profile


def test_script_that_ends_normally_exits_0_and_is_stored_ok(cli):
    write(cli.workdir / "ok.py", "import sys\nsys.exit(0) if sys.argv[1:] == ['go'] else None\n")
    cli("run", "-q", "ok.py", "go", check=0)
    [profile] = cli.profiles()
    assert profile.status == "ok" and profile.runtime_seconds > 0


def test_uncaught_exception_exits_1_and_stores_a_failed_profile(cli):
    write(cli.workdir / "boom.py", """
        def main():
            raise ValueError("bad row 7")
        main()
    """)
    done = cli("run", "boom.py", check=1)
    assert "ValueError: bad row 7" in done.stderr       # the traceback is shown
    [profile] = cli.profiles()
    assert profile.status == "failed"
    assert (profile.exception_type, profile.exception_message) == ("ValueError", "bad row 7")


def test_module_runs_as_main_with_its_arguments(cli):
    pkg = cli.workdir / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    write(pkg / "tool.py", """
        import json, sys
        json.dump([__name__] + sys.argv[1:], open("argv.json", "w"))
    """)
    cli("run", "-q", "-m", "mypkg.tool", "x", "--verbose", check=0)
    assert json.loads((cli.workdir / "argv.json").read_text()) == ["__main__", "x", "--verbose"]
    [profile] = cli.profiles()
    assert profile.process_name == "mypkg.tool" and profile.parameters["kind"] == "module"


def test_unknown_module_is_a_clear_error_and_stores_nothing(cli):
    done = cli("run", "-m", "no_such_module_dprof_test", check=2)
    assert done.stderr.strip().splitlines()[-1] == \
        "dprof run: no module named 'no_such_module_dprof_test'"


def test_command_exit_code_passes_through(cli):
    cli("run", "-q", "--", "sh", "-c", "exit 3", check=3)
    [profile] = cli.profiles()
    assert profile.status == "failed" and profile.tags["exit_code"] == "3"
    assert profile.process_name == "sh -c 'exit 3'"


def test_command_counts_the_cpu_time_of_its_children(cli):
    busy = ("import time\nt = time.process_time()\n"
            "while time.process_time() - t < 0.5:\n    pass\n")
    cli("run", "-q", "--", sys.executable, "-c", busy, check=0)
    [p] = cli.profiles()
    cpu_seconds = (p.cpu_user_utilization + p.cpu_system_utilization) \
        * p.runtime_seconds * p.cpu_cores
    assert cpu_seconds >= 0.4, p
    # and not more than the cores could have given in that time
    assert cpu_seconds <= p.runtime_seconds * p.cpu_cores + 0.01
    assert p.sources["scope"] == "children"


def test_sigterm_ends_a_script_stores_its_profile_and_exits_143(cli):
    write(cli.workdir / "sleeper.py", """
        import time
        open("started", "w").close()
        time.sleep(60)
    """)
    proc = cli.popen("run", "sleeper.py")
    try:
        wait_for(lambda: (cli.workdir / "started").exists(), what="the script to start")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    [profile] = cli.profiles()
    assert profile.process_name == "sleeper.py" and profile.status == "failed"
    assert profile.runtime_seconds < 50


def test_sigterm_is_forwarded_to_a_command_and_the_profile_stored(cli):
    psutil = pytest.importorskip("psutil")
    proc = cli.popen("run", "-q", "--", "sleep", "30")
    try:
        wait_for(lambda: any(c.name() == "sleep" for c in psutil.Process(proc.pid).children()),
                 what="the command to start")
        [child] = psutil.Process(proc.pid).children()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        waited = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert waited < 25                     # sleep 30 did not run to its end
    assert not child.is_running()
    [profile] = cli.profiles()
    assert profile.process_name == "sleep 30" and profile.status == "failed"
    assert profile.tags["exit_code"] == str(-signal.SIGTERM)


@pytest.mark.parametrize("args, message", [
    ((), "dprof run: nothing to run: give a script, -m MODULE, or -- COMMAND"),
    (("--",), "dprof run: nothing to run after --"),
    (("missing.py",), "dprof run: no such script: missing.py"),
    (("--", "no-such-command-dprof"), "dprof run: cannot run 'no-such-command-dprof': "
                                      "no such command, or it is not executable"),
])
def test_nothing_to_run_is_one_clear_line_and_exit_2(cli, args, message):
    done = cli("run", *args, check=2)
    assert done.stderr.strip() == message
    assert not os.path.exists(cli.workdir / "profiles.db") or cli.profiles() == []
