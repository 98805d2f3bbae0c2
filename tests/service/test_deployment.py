"""The deployment files parse and agree with the code: ports, commands, env names."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

from dprof.cli import build_parser
from dprof.cli.service import DEFAULT_METRICS_PORT
from dprof.service import config

pytestmark = pytest.mark.core
ROOT = Path(__file__).resolve().parents[2]
API_PORT = 8000
# every DPROF_* name the service reads (config.py, beat.py, logs.py, the repo)
KNOWN_ENV = set(config.ENV_BROKER) | set(config.ENV_DATABASE) | {
    config.ENV_TOKEN, "DPROF_JOB_TIME_LIMIT", "DPROF_JOB_SOFT_TIME_LIMIT",
    "DPROF_VISIBILITY_TIMEOUT", "DPROF_MAX_PREDICTED_SECONDS", "DPROF_EMBEDDED_THREADS",
    "DPROF_RETENTION_DAYS", "DPROF_HEARTBEAT_INTERVAL", "DPROF_QUEUE",
    "DPROF_SCHEDULED_COMPARISONS", "DPROF_LOG_LEVEL", "DPROF_SPOOL_DIR"}


def _source_env_names():
    names = set()
    for path in (ROOT / "dprof" / "service").glob("*.py"):
        names |= set(re.findall(r'"(DPROF_[A-Z_]+)"', path.read_text()))
    return names


def test_known_env_names_are_the_ones_the_code_reads():
    assert _source_env_names() - {"DPROF_DATABASE_URL", "DPROF_BROKER_URL"} <= KNOWN_ENV
    for name in KNOWN_ENV - {"DPROF_SPOOL_DIR", "DPROF_DATABASE_URL"}:
        assert name in _source_env_names() or name in ("REDIS_URL", "DATABASE_URL"), name


def _parses(command):
    """The dprof command parses with the real CLI parser; its namespace."""
    assert command[0] == "dprof", command
    return build_parser().parse_args(command[1:])


def _dprof_env(env):
    return {k for k in env if k.startswith("DPROF_") or k in ("REDIS_URL", "DATABASE_URL")}


def test_docker_compose_has_the_five_services_and_agrees_with_the_code():
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = doc["services"]
    assert set(services) == {"api", "worker", "beat", "redis", "postgres"}
    for name in ("api", "worker", "redis", "postgres"):
        assert services[name]["healthcheck"]["test"], name
    api = _parses(services["api"]["command"])
    assert api.verb == "serve" and api.host == "0.0.0.0" and api.port == API_PORT
    assert f"{API_PORT}:{API_PORT}" in services["api"]["ports"]
    assert f"http://127.0.0.1:{API_PORT}/health" in services["api"]["healthcheck"]["test"]
    worker = _parses(services["worker"]["command"])
    assert worker.verb == "worker" and worker.metrics_port == DEFAULT_METRICS_PORT
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert _parses(services["beat"]["command"]).verb == "beat"
    for name in ("api", "worker", "beat"):
        env = services[name]["environment"]
        assert _dprof_env(env) <= KNOWN_ENV, name
        assert env["DPROF_BROKER_URL"].startswith("redis://redis:6379")
        assert "@postgres:5432/" in env["DPROF_DATABASE_URL"]
    pg = services["postgres"]["environment"]
    assert f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}" \
        in services["api"]["environment"]["DPROF_DATABASE_URL"]


def _k8s():
    docs = []
    for path in sorted((ROOT / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def _container(doc):
    return doc["spec"]["template"]["spec"]["containers"][0]


def test_k8s_manifests_agree_with_the_code():
    k = _k8s()
    cm = k[("ConfigMap", "dprof-config")]["data"]
    secret = k[("Secret", "dprof-secrets")]["stringData"]
    assert "POSTGRES_PASSWORD" in secret and "POSTGRES_PASSWORD" not in cm
    assert _dprof_env(cm) <= KNOWN_ENV
    pvc = k[("PersistentVolumeClaim", "dprof-postgres-data")]
    pg = k[("Deployment", "dprof-postgres")]["spec"]["template"]["spec"]
    assert pg["volumes"][0]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    api = _container(k[("Deployment", "dprof-api")])
    args = _parses(api["command"])
    assert args.verb == "serve" and args.port == API_PORT and args.host == "0.0.0.0"
    assert api["ports"][0]["containerPort"] == API_PORT
    for probe in ("readinessProbe", "livenessProbe"):
        assert api[probe]["httpGet"] == {"path": "/health", "port": API_PORT}
    assert k[("Service", "dprof-api")]["spec"]["ports"][0]["targetPort"] == API_PORT
    worker_dep = k[("Deployment", "dprof-worker")]
    assert worker_dep["spec"]["replicas"] >= 2
    worker = _container(worker_dep)
    assert _parses(worker["command"]).metrics_port == worker["ports"][0]["containerPort"]
    assert _parses(_container(k[("Deployment", "dprof-beat")])["command"]).verb == "beat"
    assert k[("Deployment", "dprof-beat")]["spec"]["replicas"] == 1
    for name in ("dprof-api", "dprof-worker", "dprof-beat"):
        c = _container(k[("Deployment", name)])
        env = {e["name"]: e for e in c["env"]}
        assert _dprof_env(env) <= KNOWN_ENV
        assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "dprof-secrets"
        assert env["DPROF_DATABASE_URL"]["value"].startswith("postgresql://")
        # every $(VAR) the URL uses is defined before it
        for var in re.findall(r"\$\((\w+)\)", env["DPROF_DATABASE_URL"]["value"]):
            assert var in cm or var in env, var
    redis_svc = k[("Service", "dprof-redis")]["spec"]["ports"][0]["port"]
    assert cm["DPROF_BROKER_URL"] == f"redis://dprof-redis:{redis_svc}/0"


def test_dockerfile_and_makefile_agree_with_the_code():
    docker = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {API_PORT}" in docker
    cmd = re.search(r'^CMD (\[.*\])', docker, re.M).group(1)
    args = _parses(yaml.safe_load(cmd))
    assert args.verb == "serve" and args.port == API_PORT
    assert f"http://127.0.0.1:{API_PORT}/health" in docker
    assert '"dprof[service]"' in docker
    make = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z]+):", make, re.M))
    assert {"up", "down", "health", "test", "logs"} <= targets
    assert f"API_PORT ?= {API_PORT}" in make and "/health" in make
    assert "tests/service" in make
