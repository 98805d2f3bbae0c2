"""dprof run -o FILE [--profile-interval SECONDS]: the profile as a file, rewritten
while a long-running program runs, and written once more when it is terminated."""
import json
import signal
import time

import pytest

from dprof.record import Profile

pytestmark = pytest.mark.core

SERVER = """
import time
def handle():
    total = 0
    for i in range(50000):
        total += i * i
    return total
while True:
    handle()
    time.sleep(0.005)
"""


def read_profile(path):
    return Profile.from_dict(json.loads(path.read_text()))


def test_output_file_holds_the_final_profile(cli, tmp_path):
    script = tmp_path / "job.py"
    # long enough for the program itself to be sampled: dprof's own start-up and
    # storing are no longer in the stacks (they are not the program's)
    script.write_text("import time\nt = time.monotonic()\n"
                      "while time.monotonic() - t < 0.3: sum(i * i for i in range(1000))\n")
    out = tmp_path / "profile.json"
    cli("run", "-q", "-o", str(out), str(script), check=0)
    p = read_profile(out)
    assert p.process_name == "job.py" and p.status == "ok"
    assert p.stacks is not None and p.stacks.rows


def test_interim_profiles_then_the_final_one_after_sigterm(cli, tmp_path):
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    out = tmp_path / "profile.json"
    proc = cli.popen("run", "-q", "-o", str(out), "--profile-interval", "0.5", str(script))
    try:
        deadline = time.monotonic() + 60
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert out.exists(), "no interim profile was written"
        interim = read_profile(out)
        assert interim.tags.get("snapshot") == "interim"
        assert interim.stacks is not None
        functions = {f.function for f in interim.stacks.frames}
        assert "handle" in functions
        # dprof's own writer thread is not part of the program's profile
        assert not any(n.startswith("dprof-") for n in interim.stacks.thread_names.values())
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 128 + signal.SIGTERM
    final = read_profile(out)
    assert "snapshot" not in final.tags
    assert final.runtime_seconds >= interim.runtime_seconds


def test_profile_interval_without_output_is_refused(cli, tmp_path):
    script = tmp_path / "job.py"
    script.write_text("pass\n")
    done = cli("run", "--profile-interval", "1", str(script), check=2)
    assert "needs -o" in done.stderr


def test_output_into_a_missing_directory_is_refused_before_running(cli, tmp_path):
    script = tmp_path / "job.py"
    script.write_text("open(__file__ + '.ran', 'w').close()\n")
    done = cli("run", "-o", str(tmp_path / "nope" / "p.json"), str(script), check=2)
    assert "no such directory" in done.stderr
    assert not (tmp_path / "job.py.ran").exists()
