"""Helpers for the "nothing lost without a word" tests (imported as ``lost_helpers``;
pytest puts this directory on sys.path): run ``python -m dprof`` as a real process,
and real faults: a small tmpfs that can be filled (disk full) or remounted
read-only. Mounting needs root; without it the tests that need a mount skip and
say why.
"""
from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

import dprof
from dprof.record import Profile

PACKAGE_ROOT = str(Path(dprof.__file__).resolve().parent.parent)


def dprof_env(db_url: str, spool_dir: Path, **extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    env["DPROF_DATABASE_URL"] = db_url
    env["DPROF_SPOOL_DIR"] = str(spool_dir)
    env.pop("DPROF_RUN_WATCH", None)
    env.update(extra)
    return env


def run_dprof(args: List, cwd: Path, env: Dict[str, str], timeout: float = 120,
              **popen) -> subprocess.CompletedProcess:
    """``python -m dprof ARGS`` (args may hold bytes: a path that is not UTF-8)."""
    return subprocess.run([sys.executable, "-m", "dprof", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=timeout, **popen)


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@contextlib.contextmanager
def tmpfs(directory: Path, size: str = "1m") -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted on ``directory`` (skips without root)."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (a real full or read-only file system)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                           str(directory)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True)


def remount(directory: Path, mode: str) -> None:
    """``mode``: "ro" or "rw"."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(directory)], check=True)


def fill(directory: Path) -> Path:
    """Fill the file system holding ``directory`` until ENOSPC; returns the filler."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    with open(filler, "ab", buffering=0) as fh:   # and the last few bytes
        for size in (4096, 512, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                pass
    return filler


def a_profile(name: str = "task", **fields) -> Profile:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=len(name))
    base = dict(process_name=name, task_start_time=start,
                task_end_time=start + timedelta(seconds=1), runtime_seconds=1.0,
                id=uuid.uuid4().hex)
    base.update(fields)
    return Profile(**base)


def stored_profiles(db_url: str, spool_dir: Path) -> List[Profile]:
    from dprof.repo import ProfileRepo
    repo = ProfileRepo(db_url, spool_dir=spool_dir)
    try:
        frame = repo.query()
        return [repo.get(i) for i in frame["id"]]
    finally:
        repo.close()
