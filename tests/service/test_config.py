"""Settings from the environment, and the import boundary of the service extra."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dprof.service import config

pytestmark = pytest.mark.core


def test_the_seed_names_work_and_dprof_names_win():
    s = config.load({"REDIS_URL": "redis://r:6379/0", "DATABASE_URL": "postgresql://u@h/db"})
    assert s.broker_url == "redis://r:6379/0" and s.mode == "celery"
    assert s.database_url == "postgresql+psycopg://u@h/db"
    s = config.load({"REDIS_URL": "redis://r/0", "DPROF_BROKER_URL": "redis://d/1",
                     "DATABASE_URL": "sqlite:///a.db", "DPROF_DATABASE_URL": "sqlite:///b.db"})
    assert s.broker_url == "redis://d/1" and s.database_url == "sqlite:///b.db"


def test_nothing_set_is_the_embedded_mode_on_the_default_database(tmp_path):
    s = config.load({"XDG_DATA_HOME": str(tmp_path)})
    assert s.embedded and s.broker_url is None
    assert s.database_url.startswith("sqlite:///")
    assert s.api_token is None


def test_time_limits_and_visibility_timeout_defaults_keep_the_order():
    s = config.load({"DPROF_JOB_TIME_LIMIT": "100"})
    assert s.soft_time_limit == 90 and s.time_limit == 100
    assert s.visibility_timeout > s.time_limit and s.max_predicted_seconds == 100


@pytest.mark.parametrize("env, name", [
    ({"DPROF_JOB_TIME_LIMIT": "ten"}, "DPROF_JOB_TIME_LIMIT"),
    ({"DPROF_JOB_TIME_LIMIT": "-1"}, "DPROF_JOB_TIME_LIMIT"),
    ({"DPROF_JOB_TIME_LIMIT": "10", "DPROF_JOB_SOFT_TIME_LIMIT": "20"},
     "DPROF_JOB_SOFT_TIME_LIMIT"),
    ({"DPROF_EMBEDDED_THREADS": "1.5"}, "DPROF_EMBEDDED_THREADS"),
    ({"DPROF_VISIBILITY_TIMEOUT": "0"}, "DPROF_VISIBILITY_TIMEOUT"),
])
def test_bad_values_name_the_variable(env, name):
    with pytest.raises(config.ConfigError, match=name):
        config.load(env)


def _env():
    from service_fixtures import PACKAGE_ROOT
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p))


def test_import_dprof_and_other_verbs_do_not_import_the_service_stack(tmp_path):
    code = ("import sys, dprof, dprof.cli\n"
            "dprof.cli.build_parser()\n"
            "import dprof.service, dprof.service.config\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'starlette', "
            "'celery', 'kombu', 'uvicorn', 'prometheus_client', 'redis', 'pydantic'})\n"
            "print(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_verbs_are_registered_and_say_what_is_missing(tmp_path):
    from dprof.cli import build_parser
    parser = build_parser()
    args = parser.parse_args(["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert (args.host, args.port) == ("0.0.0.0", 8123)
    assert parser.parse_args(["worker", "--concurrency", "3"]).concurrency == 3
    assert parser.parse_args(["beat"]).verb == "beat"
    env = {k: v for k, v in _env().items() if k not in ("DPROF_BROKER_URL", "REDIS_URL")}
    out = subprocess.run([sys.executable, "-m", "dprof", "worker"], capture_output=True,
                         text=True, env=env, timeout=120, cwd=tmp_path)
    assert out.returncode == 2 and "DPROF_BROKER_URL" in out.stderr
