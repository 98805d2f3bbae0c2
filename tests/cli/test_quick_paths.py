"""The quick paths give the same answers as ProfileRepo, and import less.

``history``/``show``/``stats`` read a local SQLite database with sqlite3
(dprof/cli/fastread.py); ``@profiler`` stores into one with sqlite3
(dprof/repo/direct.py). Both step aside for ProfileRepo when a spool waits or the
schema is not the current one. No timing is asserted here: what is imported is."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from cli_helpers import dprof_command, store_known

pytestmark = pytest.mark.core


@pytest.mark.parametrize("verb", [("history",), ("history", "--process", "report"),
                                  ("history", "--since", "3d", "--limit", "2"),
                                  ("stats",), ("stats", "--env", "prod"),
                                  ("show", "aaaa2222"), ("show", "last"), ("show", "aaaa"),
                                  ("show", "zzzz")])
def test_quick_reads_answer_as_profilerepo_does(known_cli, verb):
    quick = known_cli(*verb)
    slow = subprocess.run(dprof_command(*verb), cwd=known_cli.workdir,
                          env=dict(known_cli.env, DPROF_NO_FAST_READ="1"),
                          capture_output=True, text=True, timeout=120)
    assert (quick.returncode, quick.stdout, quick.stderr) == \
        (slow.returncode, slow.stdout, slow.stderr)


PROBE = textwrap.dedent("""
    import json, sys
    import dprof
    @dprof.profiler
    def task(x):
        return x + 1
    task(1)
    print(json.dumps({"id": task.last_profile.id,
                      "sqlalchemy": "sqlalchemy" in sys.modules,
                      "numpy": "numpy" in sys.modules,
                      "pandas": "pandas" in sys.modules}))
""")


def probe(cli):
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=cli.workdir, env=cli.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.needs_native(reason="the psutil sampler holds its samples in numpy")
def test_the_first_profiler_call_stores_without_sqlalchemy_or_numpy(cli):
    store_known(cli)                         # the database exists at the current schema
    seen = probe(cli)
    assert seen == {"id": seen["id"], "sqlalchemy": False, "numpy": False, "pandas": False}
    history = cli("history", check=0).stdout
    assert seen["id"][:12] in history
    stored = {p.id: p for p in cli.profiles()}[seen["id"]]
    assert stored.process_name == "__main__.task" and stored.status == "ok"
    stored.validate()


def test_a_new_database_or_a_waiting_spool_goes_through_profilerepo(cli):
    seen = probe(cli)                        # no database yet: ProfileRepo creates it
    assert seen["sqlalchemy"] is True
    assert seen["id"] in {p.id for p in cli.profiles()}
    from dprof.record import Profile
    spooled = cli.profiles()[0]
    data = spooled.to_dict()
    data["id"] = "feed" * 8
    repo = cli.repo()
    repo.spool.append([Profile.from_dict(data)])
    repo.close()
    # a spool waits: history moves it in first (ProfileRepo), then lists it
    assert ("feed" * 8)[:12] in cli("history", check=0).stdout
    seen = probe(cli)
    assert seen["sqlalchemy"] is False       # the spool is empty again


def test_host_and_python_version_are_what_socket_and_platform_say():
    import platform
    import socket
    from dprof.record import this_host, this_python
    assert this_host() == socket.gethostname()
    assert this_python() == platform.python_version()
