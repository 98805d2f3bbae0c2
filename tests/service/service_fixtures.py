"""Helpers and fixtures of the service tests: real Redis and PostgreSQL servers, real
``dprof serve`` and ``dprof worker`` processes. (A module of its own, not conftest.py:
test modules import the helpers, and ``conftest`` is a name every test folder uses.
benchmarks/service_load.py uses the same servers.)

Redis comes from Debian's ``redis-server`` (no persistence, a free port, a temporary
folder); PostgreSQL from the storage tests' fixture (tests/repo/conftest.py), with
``pause``/``resume`` for the outage test. Without the binaries the tests that need
them are skipped, except on CI (``CI=true``), where that is a failure.

Each test gets its own database and Redis database number, so workers of one test
never see another's jobs. Timeouts are small for the tests (visibility timeout 3 s,
heartbeat 0.5 s) and every wait polls with a generous deadline: nothing depends on a
loaded machine being fast.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
import dprof  # noqa: E402
# the directory holding the dprof that this pytest imported (installed in CI, the
# built source tree locally): subprocesses get that one, and run from a folder where
# no other dprof can be picked up
PACKAGE_ROOT = str(Path(dprof.__file__).resolve().parent.parent)
_spec = importlib.util.spec_from_file_location("dprof_tests_repo_conftest",
                                               ROOT / "tests" / "repo" / "conftest.py")
repo_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(repo_conftest)

pytest.importorskip("fastapi")
pytest.importorskip("celery")
httpx = pytest.importorskip("httpx")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing(what: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI=true: CI installs it, so this is an error)")
    pytest.skip(what)


class RedisServer:
    def __init__(self):
        self.binary = shutil.which("redis-server")
        self.root = tempfile.mkdtemp(prefix="dprof-redis-")
        self.port = free_port()
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.root, "--databases", "64"],
            stdout=open(os.path.join(self.root, "redis.log"), "a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class PgServer(repo_conftest.PgServer):
    """The storage tests' server, plus stop/start that keep the data (outage test)."""

    def pause(self) -> None:
        self._run(f"{self.bin_dir}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def resume(self) -> None:
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(f"{self.bin_dir}/pg_ctl", "-D", self.data, "-l", self.log, "-o", opts,
                  "-w", "-t", "60", "start")


@pytest.fixture(scope="session")
def redis_server():
    if shutil.which("redis-server") is None:
        _missing("redis-server not found (apt-get install redis-server)")
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg_server():
    bin_dir = repo_conftest._pg_bin_dir()
    if bin_dir is None:
        _missing("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")
    server = PgServer(bin_dir)
    server.start()
    yield server
    server.stop()


_redis_db = itertools.count(1)


class Proc:
    """A dprof subprocess in its own session (so a SIGKILL takes its children too)."""

    def __init__(self, args, env, log_path: Path):
        self.log_path = log_path
        self.proc = subprocess.Popen([sys.executable, "-m", "dprof"] + args, env=env,
                                     stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=str(log_path.parent))

    @property
    def pid(self):
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig=signal.SIGKILL) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1, what: str = ""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}; "
                         f"last: {last!r}")


class Stack:
    """An API and workers sharing a broker and a database, as separate processes."""

    def __init__(self, tmp: Path, env: dict):
        self.tmp = tmp
        self.env = env
        self.procs = []
        self.api = None
        self.port = None
        self.workers = {}

    def start_api(self, processes: int = 1, **extra_env) -> "httpx.Client":
        self.port = free_port()
        env = dict(self.env, **extra_env)
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if processes > 1:
            args += ["--workers", str(processes)]
        self.api = Proc(args, env, self.tmp / "api.log")
        self.procs.append(self.api)
        client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        wait_for(lambda: client.get("/health").status_code in (200, 503), 60,
                 what="the API to answer")
        self.client = client
        return client

    def start_worker(self, name: str, concurrency: int = 1, metrics_port=None,
                     **extra_env) -> Proc:
        env = dict(self.env, **extra_env)
        args = ["worker", "--concurrency", str(concurrency), "--name", f"{name}@test"]
        if metrics_port:
            args += ["--metrics-port", str(metrics_port)]
        proc = Proc(args, env, self.tmp / f"worker-{name}.log")
        self.procs.append(proc)
        self.workers[f"{name}@test"] = proc
        return proc

    def start_beat(self, **extra_env) -> Proc:
        proc = Proc(["beat"], dict(self.env, **extra_env), self.tmp / "beat.log")
        self.procs.append(proc)
        return proc

    def wait_workers(self, n: int) -> None:
        wait_for(lambda: len(self.client.get("/api/v1/workers").json()["workers"]) >= n, 90,
                 what=f"{n} live workers")

    def wait_job(self, job_id: str, statuses=("succeeded", "failed", "cancelled"),
                 timeout: float = 90.0) -> dict:
        return wait_for(lambda: (lambda j: j if j["status"] in statuses else None)(
            self.client.get(f"/api/v1/jobs/{job_id}").json()), timeout,
            what=f"job {job_id} to reach {statuses}")

    def close(self) -> None:
        for p in reversed(self.procs):
            p.stop()


def service_env(tmp: Path, **values) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DPROF_") and k not in ("REDIS_URL", "DATABASE_URL",
                                                       "PROMETHEUS_MULTIPROC_DIR")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH"))
                                        if p)
    env["XDG_DATA_HOME"] = str(tmp / "data")
    env["DPROF_SPOOL_DIR"] = str(tmp / "spool")
    env.update({k: str(v) for k, v in values.items()})
    return env


@pytest.fixture
def celery_stack(tmp_path, redis_server, pg_server):
    """A Stack on PostgreSQL + Redis with test-sized timeouts; start its parts."""
    db = next(_redis_db) % 64
    env = service_env(tmp_path,
                      DPROF_BROKER_URL=f"redis://127.0.0.1:{redis_server.port}/{db}",
                      DPROF_DATABASE_URL=pg_server.create_database(),
                      DPROF_VISIBILITY_TIMEOUT=3, DPROF_HEARTBEAT_INTERVAL=0.5,
                      DPROF_JOB_TIME_LIMIT=60, DPROF_JOB_SOFT_TIME_LIMIT=50)
    stack = Stack(tmp_path, env)
    stack.redis, stack.pg = redis_server, pg_server
    yield stack
    stack.close()


@pytest.fixture
def embedded_stack(tmp_path):
    env = service_env(tmp_path, DPROF_DATABASE_URL=f"sqlite:///{tmp_path / 'jobs.db'}")
    stack = Stack(tmp_path, env)
    yield stack
    stack.close()


def log_lines(text: str):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue
