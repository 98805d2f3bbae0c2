"""Bad input gets a 4xx naming the field; the token guards creating and cancelling."""
from __future__ import annotations

import pytest

from service_fixtures import Stack, service_env

pytestmark = pytest.mark.slow
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-input")
    stack = Stack(tmp, service_env(tmp, DPROF_DATABASE_URL=f"sqlite:///{tmp / 'jobs.db'}",
                                   DPROF_API_TOKEN=TOKEN, DPROF_MAX_PREDICTED_SECONDS="30"))
    yield stack.start_api()
    stack.close()


def _post(client, body, path="/api/v1/jobs", **kw):
    return client.post(path, json=body, headers=AUTH, **kw)


def _field(r) -> str:
    return r.json()["errors"][0]["field"]


GOOD = {"algorithm_name": "quick_sort", "input_size": 100}


@pytest.mark.parametrize("change, field", [
    ({"algorithm_name": "bogo_sort"}, "algorithm_name"),
    ({"algorithm_name": ""}, "algorithm_name"),
    ({"input_size": -5}, "input_size"),
    ({"input_size": 0}, "input_size"),
    ({"input_size": 10 ** 12}, "input_size"),
    ({"input_size": "many"}, "input_size"),
    ({"iterations": 0}, "iterations"),
    ({"iterations": 10 ** 6}, "iterations"),
    ({"priority": 10}, "priority"),
    ({"seed": -1}, "seed"),
    ({"distribution": "zipf"}, "distribution"),
    ({"kind": "complex"}, "kind"),
    ({"kind": "str", "algorithm_name": "counting_sort"}, "kind"),
    ({"parameters": {"pivot_strategy": "middle"}}, "parameters.pivot_strategy"),
    ({"parameters": {"depth": 3}}, "parameters.depth"),
    ({"parameters": [1, 2]}, "parameters"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_job_fields_are_refused_naming_the_field(client, change, field):
    r = _post(client, dict(GOOD, **change))
    assert r.status_code == 422, r.text
    assert _field(r) == field, r.json()
    assert field.split(".")[0] in r.json()["detail"] or field == "algorithm_name"


def test_missing_required_fields_are_named(client):
    r = _post(client, {"input_size": 10})
    assert r.status_code == 422 and _field(r) == "algorithm_name"
    r = _post(client, {"algorithm_name": "quick_sort"})
    assert r.status_code == 422 and _field(r) == "input_size"


def test_malformed_json_is_a_400_naming_the_body(client):
    r = client.post("/api/v1/jobs", content=b'{"algorithm_name": "quick', headers=dict(
        AUTH, **{"Content-Type": "application/json"}))
    assert r.status_code == 400 and _field(r) == "body"
    assert "malformed JSON" in r.json()["detail"]


def test_a_job_predicted_to_run_for_hours_is_refused_up_front(client):
    r = _post(client, {"algorithm_name": "bubble_sort", "input_size": 10 ** 7})
    assert r.status_code == 422 and _field(r) == "input_size"
    assert "refused: predicted to run" in r.json()["detail"] and "hours" in r.json()["detail"]
    assert client.get("/api/v1/jobs").json()["total"] == 0


def test_unknown_job_ids_are_404(client):
    for r in (client.get("/api/v1/jobs/nope"), client.get("/api/v1/jobs/nope/results"),
              client.delete("/api/v1/jobs/nope", headers=AUTH),
              client.get("/api/v1/compare/nope")):
        assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_bad_list_filters_and_pagination(client):
    r = client.get("/api/v1/jobs", params={"status": "sleeping"})
    assert r.status_code == 422 and _field(r) == "status"
    r = client.get("/api/v1/jobs", params={"limit": 0})
    assert r.status_code == 422 and _field(r) == "limit"
    r = client.get("/api/v1/jobs", params={"offset": -1})
    assert r.status_code == 422 and _field(r) == "offset"


@pytest.mark.parametrize("query, body, field", [
    ("", {"algorithms": ["quick_sort"]}, "input_size"),
    ("?input_size=100", {"algorithms": []}, "algorithms"),
    ("?input_size=100", {"algorithms": ["quick_sort", "nope_sort"]}, "algorithms.1"),
    ("?input_size=100", {"algorithms": ["quick_sort", "quick_sort"]}, "algorithms"),
    ("?input_size=-1", {"algorithms": ["quick_sort"]}, "input_size"),
    ("?input_size=100&iterations=0", {"algorithms": ["quick_sort"]}, "iterations"),
    ("", {"algorithms": ["quick_sort"], "sizes": [100, 0]}, "sizes.1"),
    ("?input_size=100", {"algorithms": ["quick_sort"],
                         "parameters": {"heap_sort": {}}}, "parameters.heap_sort"),
    ("?input_size=100", {"algorithms": ["quick_sort"],
                         "parameters": {"quick_sort": {"pivot_strategy": "x"}}},
     "parameters.quick_sort.pivot_strategy"),
    ("?input_size=100", {"algorithms": ["quick_sort"], "extra": 1}, "extra"),
])
def test_bad_comparisons_are_refused_naming_the_field(client, query, body, field):
    r = _post(client, body, path=f"/api/v1/compare{query}")
    assert r.status_code == 422, r.text
    assert _field(r) == field, r.json()


def test_the_token_guards_creating_and_cancelling(client):
    r = client.post("/api/v1/jobs", json=GOOD)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    r = client.post("/api/v1/jobs", json=GOOD, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = client.post("/api/v1/jobs", json=GOOD, headers={"Authorization": TOKEN})
    assert r.status_code == 401                     # no scheme
    r = client.post("/api/v1/compare?input_size=10", json={"algorithms": ["quick_sort"]})
    assert r.status_code == 401
    r = _post(client, GOOD)
    assert r.status_code == 202
    job = r.json()["id"]
    assert client.delete(f"/api/v1/jobs/{job}").status_code == 401
    # reading needs no token
    assert client.get(f"/api/v1/jobs/{job}").status_code == 200
    assert client.get("/api/v1/algorithms").status_code == 200


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/results",
                 "/api/v1/compare", "/api/v1/algorithms", "/api/v1/workers", "/health",
                 "/metrics"):
        assert path in spec["paths"], path
