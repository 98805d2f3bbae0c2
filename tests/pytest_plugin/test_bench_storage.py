"""What a run records about where it ran (real git, real /proc)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dprof.pytest_plugin import storage

pytestmark = pytest.mark.core


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_autosave_names_the_run_after_time_and_commit(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f.txt").write_text("x\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["add", "f.txt"], check=True)
    subprocess.run(git + ["commit", "-qm", "one"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    run = storage.new_run(None, autosave=True, rootdir=str(tmp_path))
    assert run.commit == head
    assert re.fullmatch(rf"auto-\d{{8}}T\d{{6}}Z-{head[:8]}", run.name)
    (tmp_path / "f.txt").write_text("changed\n")
    assert storage.git_commit(str(tmp_path)) == head + "+dirty"
    assert run.python and run.machine and len(run.run_id) == 16


def test_outside_git_the_commit_is_unknown_not_invented(tmp_path):
    run = storage.new_run("named", autosave=False, rootdir=str(tmp_path))
    assert run.commit is None and run.name == "named"
    assert "dprof.commit" not in storage.run_tags(run, None)
    assert storage.run_tags(run, "g")["dprof.group"] == "g"
