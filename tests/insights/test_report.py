"""The whole report over a real SQLite repository: a known regression with its lines,
a leak, sizing, cost and where-to-look, and every rendering."""
import json

import pytest

import dprof.insights as insights
from histories import leaking_series, profile, stacks, step_runtimes

pytestmark = pytest.mark.core


def _history(repo, n=40, at=20):
    runtimes = step_runtimes(n, at, 0.20, 0.03, seed=11)
    runs = []
    for i, r in enumerate(runtimes):
        r = float(r)
        parse = r * 0.4
        # after the change, a new line etl.py:30 takes the extra time
        sp = stacks(read_s=r * 0.6, parse_s=parse / 1.2 if i >= at else parse,
                    extra_s=parse - parse / 1.2 if i >= at else 0.0)
        runs.append(profile(i, r, stack=sp, tags={"memory_request_mb": "4096"},
                            resources=leaking_series(2, 40, interval=5) if i == n - 1 else None))
    runs += [profile(i, 30.0, process="quiet", peak_mb=100.0 + i % 3) for i in range(30)]
    repo.add_many(runs)
    return runtimes


def test_report_finds_the_regression_its_lines_and_the_leak(repo):
    _history(repo)
    rep = insights.report(repo)
    reg = rep.regressions
    runtime = reg[reg["metric"] == "runtime_seconds"].iloc[0]
    assert runtime["kind"] == "regression" and runtime["current"]
    assert runtime["run_index"] == 20
    ids = repo.query(process="etl")["id"].tolist()
    assert runtime["run_id"] == ids[20]
    assert runtime["before_ids"] == ids[:20] and runtime["after_ids"] == ids[20:]
    assert runtime["change_low"] < 0.2 < runtime["change_high"]
    lines = [ln["line"] for ln in runtime["lines"]]
    assert any(line.endswith("etl.py:30 validate") for line in lines)
    assert set(reg["process_name"]) == {"etl"}           # nothing on the quiet task
    assert rep.has_regression
    (leak,) = rep.drift.to_dict("records")
    assert leak["series"] == "RSS" and abs(leak["slope_per_hour"] - 40) < 8
    look = rep.where_to_look.set_index("process_name").loc["etl"]
    assert look["basis"] == "stacks" and look["classification"] == "io-bound"
    assert look["wait_lines"][0]["line"].endswith("etl.py:10")
    assert look["cpu_native_share"] == pytest.approx(0.1 * look["cpu_python_share"] / 0.9,
                                                     rel=0.2)
    assert any("no prices are set" in n for n in rep.notes)


def test_the_python_functions_return_the_report_frames(repo):
    _history(repo)
    r = insights.regressions(repo, process="etl", lines=False)
    assert set(r["metric"]) >= {"runtime_seconds"} and r["lines"].isna().all()
    assert insights.rightsizing(repo, process="quiet")["process_name"].tolist() == ["quiet"]
    assert len(insights.where_to_look(repo)) == 2
    assert insights.regressions(repo, process="nobody").empty


def test_renderings_parse(repo):
    _history(repo)
    rep = insights.report(repo, prices=insights.Prices(cpu_hour=0.04, currency="EUR"))
    data = json.loads(rep.to_json())
    assert data["profiles"] == 70 and data["regressions"][0]["process_name"] == "etl"
    html = rep.to_html()
    assert html.startswith("<!DOCTYPE html>") and "REGRESSION" in html
    assert "<script" not in html and rep._repr_html_().startswith("<style>")
    text = rep.to_text()
    assert "REGRESSION (current): etl" in text and "EUR" in text
    yaml = pytest.importorskip("yaml")
    docs = list(yaml.safe_load_all(rep.k8s()))
    assert {d["resources"]["requests"]["cpu"] for d in docs} <= {r for r in
                                                                 _k8s_cpus(rep)}
    compose = yaml.safe_load(rep.compose())
    svc = compose["services"]["etl-load-prod"]["deploy"]["resources"]
    assert float(svc["reservations"]["cpus"]) == pytest.approx(
        rep.rightsizing.set_index("process_name").loc["etl", "cpu_request"])
    assert svc["limits"]["memory"].endswith("M")


def _k8s_cpus(rep):
    return [f"{int(round(c * 1000))}m" for c in rep.rightsizing["cpu_request"]]


def test_a_dataframe_source_works_without_attachments(repo):
    _history(repo)
    rep = insights.report(repo.query())
    assert rep.has_regression and rep.drift.empty
    assert any("need the repository" in n for n in rep.notes)
