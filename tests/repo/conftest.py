"""Fixtures for the storage tests: a throwaway PostgreSQL server and a ``db_url``
fixture that runs each repo test on SQLite and on PostgreSQL.

The server comes from Debian's PostgreSQL binaries (``/usr/lib/postgresql/*/bin``).
They refuse to run as root, so as root they run as the ``postgres`` user via
``runuser``; data and socket live in a fresh temporary folder; auth is ``trust`` on
127.0.0.1 and a free port. Without the binaries the PostgreSQL tests are skipped,
except on CI (``CI=true``), where that is a failure.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest


def _pg_bin_dir():
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    for path in reversed(candidates):
        if os.path.exists(os.path.join(path, "initdb")) and os.path.exists(os.path.join(path, "pg_ctl")):
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, bin_dir: str) -> None:
        self.bin_dir = bin_dir
        self.root = tempfile.mkdtemp(prefix="dprof-pg-")
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pg = pwd.getpwnam("postgres")
            os.chown(self.root, pg.pw_uid, pg.pw_gid)
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=120)
        if proc.returncode != 0:
            log = open(self.log).read()[-3000:] if os.path.exists(self.log) else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{log}")

    def start(self) -> None:
        b = self.bin_dir
        self._run(f"{b}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(f"{b}/pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w",
                  "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run(f"{self.bin_dir}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        import psycopg

        name = "dprof_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server():
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: CI installs postgresql, so this is an error)")
        pytest.skip(reason)
    server = PgServer(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty PostgreSQL database for one test."""
    return pg_server.create_database()


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.core),
                        pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh database URL, once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'profiles.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def spool_dir(tmp_path):
    path = tmp_path / "spool"
    path.mkdir()
    return path


def build_profile(i: int = 0, *, process: str = "task", with_attachments: bool = False,
                  start=None, **overrides):
    """A Profile with every metric set to a value derived from ``i``."""
    from datetime import datetime, timedelta, timezone

    import numpy as np

    from dprof.record import Profile
    from dprof.stacks import Frame, StackProfile

    start = start or datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc) + timedelta(seconds=i)
    fields = dict(
        process_name=process, env="prod" if i % 2 else "dev", stage=f"stage{i % 3}",
        task_start_time=start, task_end_time=start + timedelta(seconds=1.5, microseconds=i),
        runtime_seconds=1.25 + i / 1000, cpu_cores=4.0, cpu_user_utilization=0.125,
        cpu_system_utilization=0.0625, memory_usage_peak_mb=100.5 + i,
        memory_allocations=1000 + i, file_read_bytes=2**40 + i, file_write_bytes=4096 * i,
        io_wait_time_seconds=0.01, network_data_sent_bytes=None,
        network_data_received_bytes=None, exceptions_raised=0,
        missing={"network_data_sent_bytes": "no per-process counters",
                 "network_data_received_bytes": "no per-process counters"},
        sources={"io_wait_time_seconds": "dstate_samples"},
        parameters={"i": i, "name": "x", "values": [1.5, None, True]}, tags={"team": "data"},
        host="worker-1", pid=4242, python_version="3.11.7",
    )
    if with_attachments:
        sp = StackProfile(requested_hz=100.0, effective_hz=97.5, duration_seconds=1.5)
        sp.add(101, [Frame("main.py", "main", 3), Frame("work.py", "crunch", 17)],
               "cpu_python", 0.75, 75)
        sp.add(102, [Frame("main.py", "main", 3)], "wait_io", 0.2, 20)
        sp.thread_names = {101: "MainThread", 102: "reader"}
        fields["stacks"] = sp
        t = np.arange(5, dtype=np.float64) * 0.01
        fields["resources"] = {"t": t, "rss_mb": np.array([10, 11.5, np.nan, 12, 1e300]),
                               "cpu": np.full(5, -0.0), "gpu_util_percent": np.full(5, np.nan)}
        fields["resources_missing"] = {"gpu_util_percent": "no NVIDIA GPU: ünïcode reason"}
    fields.update(overrides)
    return Profile(**fields)


@pytest.fixture
def make_profile():
    """``make_profile(i, process=..., with_attachments=..., **overrides)``."""
    return build_profile
