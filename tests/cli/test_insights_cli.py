"""``dprof insights`` and ``dprof diff --fail-on-regression`` as real subprocesses over
a real SQLite file."""
import json
import sys
from pathlib import Path

import pytest

from cli_helpers import make_cli

pytestmark = pytest.mark.core

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "insights"))
from histories import profile, stacks, step_runtimes  # noqa: E402


@pytest.fixture
def cli(tmp_path):
    return make_cli(tmp_path)


def _store(cli, step):
    runs = []
    for i, r in enumerate(step_runtimes(30, 15, step, 0.03, seed=4)):
        runs.append(profile(i, float(r), stack=stacks(float(r) * 0.6, float(r) * 0.4)))
    repo = cli.repo()
    try:
        repo.add_many(runs)
        return repo.query()["id"].tolist()
    finally:
        repo.close()


def test_insights_text_json_and_fail_on_regression(cli):
    _store(cli, 0.25)
    out = cli("insights", check=0).stdout
    assert "REGRESSION (current): etl [stage=load, env=prod] runtime" in out
    data = json.loads(cli("insights", "--format", "json", check=0).stdout)
    assert data["regressions"][0]["run_index"] == 15
    done = cli("insights", "--fail-on-regression", check=1)
    assert "significant regression: etl" in done.stderr
    cli("insights", "--process", "other", "--fail-on-regression", check=0)


def test_no_regression_exits_0_with_fail_on_regression(cli):
    _store(cli, 0.0)
    cli("insights", "--fail-on-regression", check=0)


def test_k8s_and_compose_blocks_parse(cli):
    _store(cli, 0.0)
    k8s = cli("insights", "--format", "k8s", check=0).stdout
    compose = cli("insights", "--format", "compose", check=0).stdout
    try:
        import yaml
    except ImportError:                     # structurally, without a YAML parser
        assert "resources:\n  requests:\n    cpu: \"" in k8s
        assert "    deploy:\n      resources:\n        limits:\n" in compose
        return
    (doc,) = list(yaml.safe_load_all(k8s))
    assert doc["resources"]["requests"]["cpu"].endswith("m")
    assert doc["resources"]["limits"]["memory"].endswith("Mi")
    svc = yaml.safe_load(compose)["services"]["etl-load-prod"]["deploy"]["resources"]
    assert float(svc["limits"]["cpus"]) >= float(svc["reservations"]["cpus"]) > 0


def test_prices_file_and_bad_prices(cli, tmp_path):
    _store(cli, 0.0)
    prices = tmp_path / "prices.json"
    prices.write_text('{"cpu_hour": 0.05, "currency": "EUR"}')
    out = cli("insights", "--prices", str(prices), "--per", "day", check=0).stdout
    assert "EUR" in out and "per day" in out
    prices.write_text('{"cpu_hour": "free"}')
    done = cli("insights", "--prices", str(prices), check=2)
    assert "cpu_hour" in done.stderr
    cli("insights", "--cpu-target", "3", check=2)


def test_diff_fails_on_a_significant_regression_only(cli):
    ids = _store(cli, 0.0)
    repo = cli.repo()
    try:
        repo.add(profile(100, 100.0, stack=stacks(60.0, 40.0, extra_s=30.0)))
        slow = repo.query()["id"].tolist()[-1]
    finally:
        repo.close()
    done = cli("diff", ids[0], slow, "--fail-on-regression", check=1)
    assert "significant regression" in done.stderr and "etl.py:30" in done.stderr
    cli("diff", ids[0], ids[1], "--fail-on-regression", check=0)   # 3% noise, under 10%
    cli("diff", ids[0], slow, check=0)                              # not asked
