"""Helpers for the command-line tests (imported as ``cli_helpers``; pytest puts this
directory on sys.path): run ``python -m dprof`` as a real subprocess.

The command is built from ``sys.executable`` and the dprof that pytest imported (the
installed package in CI, the source tree with its built extension locally), so the
tests do not depend on the current directory or on a ``dprof`` script on PATH. Every
run gets its own SQLite file and spool directory; the user's default database is
never touched.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Optional

import dprof

# the directory holding the dprof package that this pytest imported
_PACKAGE_ROOT = str(Path(dprof.__file__).resolve().parent.parent)

ANSI_ESCAPE = "\x1b["


def dprof_env(db_url: str, spool_dir: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    env["DPROF_DATABASE_URL"] = db_url
    env["DPROF_SPOOL_DIR"] = str(spool_dir)
    env.pop("COLUMNS", None)
    return env


def dprof_command(*args: str) -> List[str]:
    return [sys.executable, "-m", "dprof", *args]


class Cli:
    """Runs ``dprof`` against one database, from one working directory."""

    def __init__(self, db_url: str, workdir: Path):
        self.db_url = db_url
        self.workdir = workdir
        self.env = dprof_env(db_url, workdir / "spool")

    def __call__(self, *args: str, timeout: float = 120,
                 check: Optional[int] = None) -> subprocess.CompletedProcess:
        done = subprocess.run(dprof_command(*args), cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        if check is not None:
            assert done.returncode == check, (
                f"dprof {' '.join(args)} exited {done.returncode}, expected {check}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
        return done

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(dprof_command(*args), cwd=self.workdir, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def repo(self):
        from dprof.repo import ProfileRepo
        return ProfileRepo(self.db_url, spool_dir=self.workdir / "spool")

    def profiles(self):
        """Every stored Profile, oldest first."""
        repo = self.repo()
        try:
            return [repo.get(i) for i in repo.query()["id"]]
        finally:
            repo.close()


def make_cli(tmp: Path) -> Cli:
    tmp.mkdir(parents=True, exist_ok=True)
    return Cli(f"sqlite:///{tmp / 'profiles.db'}", tmp)


# -- a known set of stored profiles ------------------------------------------------------
NOW = datetime.now(timezone.utc)

# id -> (process, stage, env, status, started this long ago, runtime s, peak MB)
KNOWN = {
    "aaaa1111000000000000000000000001": ("load", "extract", "prod", "ok",
                                         timedelta(hours=1), 1.5, 100.0),
    "aaaa2222000000000000000000000002": ("load", "extract", "dev", "failed",
                                         timedelta(days=2), 2.5, 300.0),
    "bbbb3333000000000000000000000003": ("report", "publish", "prod", "ok",
                                         timedelta(days=10), 4.0, 50.0),
    "cccc4444000000000000000000000004": ("report", "publish", "prod", "ok",
                                         timedelta(minutes=5), 6.0, 70.0),
}


def known_profiles():
    from dprof.record import Profile
    out = []
    for pid, (process, stage, env, status, ago, runtime, peak) in KNOWN.items():
        start = NOW - ago
        out.append(Profile(
            id=pid, process_name=process, stage=stage, env=env, status=status,
            exception_type="ValueError" if status == "failed" else None,
            exception_message="bad row" if status == "failed" else None,
            task_start_time=start, task_end_time=start + timedelta(seconds=runtime),
            runtime_seconds=runtime, memory_usage_peak_mb=peak, cpu_cores=2.0,
            cpu_user_utilization=0.25, cpu_system_utilization=0.05,
            file_read_bytes=1000, file_write_bytes=2000,
            parameters={"day": "2026-11-01"}, tags={"team": "data"}))
    return out


def store_known(cli: Cli) -> None:
    repo = cli.repo()
    try:
        repo.add_many(known_profiles())
    finally:
        repo.close()
