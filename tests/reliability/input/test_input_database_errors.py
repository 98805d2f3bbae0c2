"""Every read verb, given a database it cannot open, prints one line naming the URL
and the reason and exits 2 (before: a 125-138 line SQLAlchemy traceback, exit 1)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import dprof

pytestmark = pytest.mark.core
ENV = dict(os.environ, PYTHONPATH=str(Path(dprof.__file__).resolve().parent.parent))
VERBS = [["history"], ["show", "abc"], ["stats"], ["export"], ["view", "last"],
         ["diff", "a", "b"], ["insights"], ["rm", "abc"], ["prune", "--older-than", "1d"],
         ["bench", "list"]]


def not_a_database(tmp_path) -> str:
    path = tmp_path / "junk.db"
    path.write_bytes(os.urandom(4096))
    return str(path)


@pytest.mark.parametrize("verb", VERBS, ids=[v[0] for v in VERBS])
@pytest.mark.parametrize("kind", ["garbage file", "directory", "refused server"])
def test_read_verbs_say_one_line_naming_the_database(tmp_path, capsys, monkeypatch, verb, kind):
    from dprof.cli import main
    monkeypatch.setenv("DPROF_SPOOL_DIR", str(tmp_path / "spool"))
    db, reason = {
        "garbage file": (not_a_database(tmp_path), "file is not a database"),
        "directory": (str(tmp_path), "unable to open database file"),
        "refused server": ("postgresql://u:secret@127.0.0.1:1/x", "Connection refused"),
    }[kind]
    assert main(["--db", db, *verb]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"dprof {verb[0]}: "), err
    assert reason in err and "secret" not in err     # the reason, and no password
    shown = db if kind == "refused server" else os.path.abspath(db)
    assert shown.split("://")[-1].replace("secret", "***") in err


def test_in_a_real_process_there_is_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "dprof", "--db", not_a_database(tmp_path),
                           "history"], capture_output=True, text=True, timeout=120,
                          env=dict(ENV, DPROF_SPOOL_DIR=str(tmp_path / "spool")))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("dprof history: cannot open the profile database sqlite:///")
