"""The FastAPI application: HTTP in front of the jobs (docs at /docs and /redoc).

It validates, predicts, stores and dispatches; it never runs a client's code (a job
names a registered algorithm) and, in the Celery mode, never runs a job. Errors are
JSON ``{"detail": ..., "errors": [{"field": ..., "message": ...}]}``: 4xx naming the
field, 401 without the token, 404 for an unknown id, 503 naming the dependency that is
down (the service recovers when it returns; nothing needs restarting).
"""
from __future__ import annotations

import contextlib
import hmac
import json
import logging
import time
import uuid
from typing import Any, Dict, List, Optional

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from dprof import __version__
from dprof.service import algorithms_port as port
from dprof.service import config as config_mod
from dprof.service import metrics
from dprof.service.dispatch import Service, Unavailable
from dprof.service.logs import correlation_id as cid_var, new_correlation_id
from dprof.service.schemas import CompareCreate, JobCreate
from dprof.service.store import STATUSES, job_view

__all__ = ["create_app", "ApiError"]
log = logging.getLogger("dprof.service.api")
API = "/api/v1"


class ApiError(Exception):
    def __init__(self, status: int, detail: str, field: Optional[str] = None,
                 headers: Optional[Dict[str, str]] = None):
        super().__init__(detail)
        self.status, self.detail, self.field, self.headers = status, detail, field, headers


def _error(status: int, detail: str, errors: List[Dict[str, str]],
           headers: Optional[Dict[str, str]] = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": errors}, status_code=status,
                        headers=headers)


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def create_app(settings: Optional[config_mod.Settings] = None) -> FastAPI:
    settings = settings or config_mod.load()
    holder: Dict[str, Service] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        holder["service"] = Service(settings)
        log.info("service started", extra={"mode": settings.mode})
        try:
            yield
        finally:
            holder.pop("service").close()

    app = FastAPI(title="dprof service", version=__version__, lifespan=lifespan,
                  description="Profiling jobs over HTTP: submit, follow, compare. "
                              "See docs/service.md.")

    def service() -> Service:
        return holder["service"]

    collector = metrics.ServiceCollector(
        queue_depth=lambda: service().queue_depth(),
        live_workers=lambda: len(service().workers()),
        job_counts=lambda: service().store.counts())

    # -- middleware and errors ------------------------------------------------------
    app.add_middleware(_Correlate)

    @app.exception_handler(ApiError)
    async def _api_error(_request, exc: ApiError):
        errors = [{"field": exc.field, "message": exc.detail}] if exc.field else []
        detail = f"{exc.field}: {exc.detail}" if exc.field else exc.detail
        return _error(exc.status, detail, errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        errors = []
        status = 422
        for e in exc.errors():
            if e.get("type") == "json_invalid":
                status = 400
                errors.append({"field": "body", "message": f"malformed JSON: "
                                                           f"{e.get('msg')}"})
                continue
            errors.append({"field": _field(e.get("loc", ())), "message": e.get("msg", "")})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return _error(status, detail, errors)

    @app.exception_handler(Unavailable)
    async def _unavailable(_request, exc: Unavailable):
        return _error(503, str(exc), [{"field": exc.part, "message": exc.detail}],
                      {"Retry-After": "5"})

    @app.exception_handler(SQLAlchemyError)
    async def _db_down(_request, exc: SQLAlchemyError):
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        detail = text[0][:300] if text else type(exc).__name__
        return _error(503, f"database unavailable: {detail}",
                      [{"field": "database", "message": detail}], {"Retry-After": "5"})

    def require_token(request: Request) -> None:
        expected = settings.api_token
        if not expected:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), expected.encode()):
            raise ApiError(401, "a valid bearer token is required (Authorization: Bearer "
                                "<DPROF_API_TOKEN>)", "Authorization",
                           {"WWW-Authenticate": "Bearer"})

    # -- operations ---------------------------------------------------------------
    @app.get("/health", tags=["operations"])
    def health():
        """Database, broker and workers, each with its status and latency; 503 when the
        database or (Celery mode) the broker is down. No live worker is "degraded":
        jobs are accepted and wait in the queue."""
        s = service()
        checks = {"database": s.check_database(), "broker": s.check_broker()}
        checks["workers"] = s.check_workers() if checks["broker"]["status"] != "down" else \
            {"status": "unknown", "count": None, "error": "the broker is down"}
        down = [name for name in ("database", "broker") if checks[name]["status"] == "down"]
        status = "down" if down else ("degraded" if checks["workers"]["status"] != "up"
                                      else "ok")
        body = {"status": status, "mode": settings.mode, "version": __version__,
                "down": down, "checks": checks}
        return JSONResponse(body, status_code=503 if down else 200)

    @app.get("/metrics", tags=["operations"])
    def prometheus_metrics():
        """Prometheus text format."""
        return Response(metrics.render(collector), media_type=metrics.CONTENT_TYPE_LATEST)

    # -- jobs ---------------------------------------------------------------------
    def _checked(spec: port.JobSpec, field_prefix: str = "") -> port.JobSpec:
        try:
            spec = port.check_spec(spec)
        except port.FieldError as exc:
            raise ApiError(422, exc.message, field_prefix + exc.field) from None
        return spec

    def _predict(spec: port.JobSpec) -> float:
        try:
            seconds, how = port.predict_seconds(spec)
        except Exception as exc:
            raise ApiError(422, f"the algorithm failed on a probe input: "
                                f"{type(exc).__name__}: {exc}", "algorithm_name") from None
        if seconds > settings.max_predicted_seconds:
            raise ApiError(422, f"refused: predicted to run {_duration(seconds)} ({how}); "
                                f"the limit is {settings.max_predicted_seconds:g} s per job "
                                f"(DPROF_MAX_PREDICTED_SECONDS)", "input_size")
        return seconds

    @app.post(f"{API}/jobs", status_code=202, tags=["jobs"],
              dependencies=[Depends(require_token)])
    def create_job(body: JobCreate):
        """Queue a job; 202 with the job. Refused (422, field input_size) when it is
        predicted to run longer than the limit."""
        spec = _checked(port.JobSpec(body.algorithm_name, body.input_size, body.parameters,
                                     body.iterations, body.distribution, body.seed,
                                     body.kind))
        predicted = _predict(spec)
        row = service().submit([(spec, body.priority, predicted)], cid_var.get())[0]
        metrics.JOBS_CREATED.labels(spec.algorithm_name).inc()
        log.info("job created", extra={"job_id": row["id"], "algorithm": spec.algorithm_name})
        return JSONResponse(job_view(row), status_code=202,
                            headers={"Location": f"{API}/jobs/{row['id']}"})

    @app.get(f"{API}/jobs", tags=["jobs"])
    def list_jobs(status: Optional[str] = Query(None, description=", ".join(STATUSES)),
                  algorithm: Optional[str] = None, comparison_id: Optional[str] = None,
                  limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0)):
        if status is not None and status not in STATUSES:
            raise ApiError(422, f"unknown status {status!r}; use one of {', '.join(STATUSES)}",
                           "status")
        rows, total = service().store.list(status, algorithm, comparison_id, limit, offset)
        return {"items": [job_view(r) for r in rows], "total": total, "limit": limit,
                "offset": offset}

    def _job(job_id: str) -> Dict[str, Any]:
        row = service().store.get(job_id)
        if row is None:
            raise ApiError(404, f"no job with id {job_id!r}", "job_id")
        return row

    @app.get(f"{API}/jobs/{{job_id}}", tags=["jobs"])
    def get_job(job_id: str):
        return job_view(_job(job_id))

    @app.get(f"{API}/jobs/{{job_id}}/results", tags=["jobs"])
    def job_results(job_id: str):
        """The stored Profile of a succeeded job, with statistics of its resource series."""
        row = _job(job_id)
        if row["status"] != "succeeded":
            raise ApiError(409, f"job {job_id} is {row['status']}: it has no result"
                           + (f" ({row['error']})" if row["error"] else ""), "job_id")
        return _results(service(), row)

    @app.delete(f"{API}/jobs/{{job_id}}", tags=["jobs"],
                dependencies=[Depends(require_token)])
    def cancel_job(job_id: str):
        """Cancel a queued or running job (a running one is stopped)."""
        before = service().cancel(job_id)
        if before is None:
            raise ApiError(404, f"no job with id {job_id!r}", "job_id")
        if before not in ("queued", "running"):
            raise ApiError(409, f"job {job_id} already {before}", "job_id")
        return job_view(_job(job_id))

    # -- comparisons --------------------------------------------------------------
    @app.post(f"{API}/compare", status_code=202, tags=["compare"],
              dependencies=[Depends(require_token)])
    def create_comparison(body: CompareCreate,
                          input_size: Optional[int] = Query(None, ge=1, le=port.MAX_SIZE),
                          iterations: int = Query(3, ge=1, le=port.MAX_ITERATIONS)):
        """One job per algorithm and size, all on the inputs of one seed, spread over
        the workers; GET /api/v1/compare/{id} aggregates them."""
        for i, n in enumerate(body.sizes or ()):
            if not 1 <= n <= port.MAX_SIZE:
                raise ApiError(422, f"size {n} is outside 1..{port.MAX_SIZE:,}", f"sizes.{i}")
        sizes = sorted(set(body.sizes or ([input_size] if input_size else [])))
        if not sizes:
            raise ApiError(422, "give input_size (query) or sizes (body)", "input_size")
        if len(set(body.algorithms)) != len(body.algorithms):
            raise ApiError(422, "an algorithm is listed twice", "algorithms")
        for name in body.parameters:
            if name not in body.algorithms:
                raise ApiError(422, f"parameters for {name!r}, which is not compared",
                               f"parameters.{name}")
        jobs, total = [], 0.0
        for i, name in enumerate(body.algorithms):
            for n in sizes:
                spec = port.JobSpec(name, n, body.parameters.get(name, {}), iterations,
                                    body.distribution, body.seed, body.kind)
                try:
                    spec = port.check_spec(spec)
                except port.FieldError as exc:
                    field = f"algorithms.{i}" if exc.field == "algorithm_name" else exc.field
                    if field.startswith("parameters."):
                        field = f"parameters.{name}.{field.split('.', 1)[1]}"
                    raise ApiError(422, exc.message, field) from None
                predicted = _predict(spec)
                total += predicted
                jobs.append((spec, body.priority, predicted))
        comparison_id = uuid.uuid4().hex[:16]
        rows = service().submit(jobs, cid_var.get(), comparison_id=comparison_id)
        for spec, _, _ in jobs:
            metrics.JOBS_CREATED.labels(spec.algorithm_name).inc()
        return JSONResponse({"comparison_id": comparison_id, "algorithms": body.algorithms,
                             "sizes": sizes, "iterations": iterations,
                             "predicted_seconds": total,
                             "jobs": [job_view(r) for r in rows]}, status_code=202,
                            headers={"Location": f"{API}/compare/{comparison_id}"})

    @app.get(f"{API}/compare/{{comparison_id}}", tags=["compare"])
    def get_comparison(comparison_id: str):
        """Its jobs' states and, once all succeeded, the aggregate: per algorithm and
        size the runtimes and counts, the ranking, and complexity with several sizes."""
        rows, total = service().store.list(comparison_id=comparison_id, limit=10000)
        if not total:
            raise ApiError(404, f"no comparison with id {comparison_id!r}", "comparison_id")
        states = {}
        for r in rows:
            states[r["status"]] = states.get(r["status"], 0) + 1
        done = all(r["status"] == "succeeded" for r in rows)
        failed = [r for r in rows if r["status"] in ("failed", "cancelled")]
        out: Dict[str, Any] = {"comparison_id": comparison_id,
                               "status": "succeeded" if done else
                               ("failed" if failed and all(
                                   r["status"] in ("succeeded", "failed", "cancelled")
                                   for r in rows) else "running"),
                               "jobs": states,
                               "workers": sorted({r["worker"] for r in rows if r["worker"]})}
        if done:
            records = [{"algorithm": r["algorithm"], "size": r["input_size"],
                        "iterations": json.loads(_profile_parameters(service(), r["id"]))
                        .get("iterations", [])} for r in rows]
            out.update(port.aggregate(records))
        return out

    # -- catalogue ----------------------------------------------------------------
    @app.get(f"{API}/algorithms", tags=["catalogue"])
    def list_algorithms():
        """The registered algorithms (built-ins and installed entry points) of this
        process; workers run the ones installed where they run."""
        return {"algorithms": port.describe_algorithms()}

    @app.get(f"{API}/workers", tags=["catalogue"])
    def list_workers():
        s = service()
        try:
            found = s.workers()
        except Exception as exc:
            raise Unavailable("broker", str(exc)) from None
        running, _ = s.store.list(status="running", limit=1000)
        for w in found:
            w["running_jobs"] = [r["id"] for r in running if r["worker"] == w["name"]]
        return {"mode": settings.mode, "workers": found}

    return app


class _Correlate:
    """Pure ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware): sets the
    correlation id for the request (from ``X-Correlation-ID`` or new), returns it in
    the response, observes the request duration and logs one line per request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cid = None
        for key, value in scope.get("headers") or ():
            if key == b"x-correlation-id":
                cid = value.decode("latin-1")[:64]
                break
        cid = cid or new_correlation_id()
        token = cid_var.set(cid)
        start = time.perf_counter()
        status = [500]

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (b"x-correlation-id", cid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.REQUEST_DURATION.labels(scope["method"], path,
                                            str(status[0])).observe(elapsed)
            if path not in ("/metrics", "/health"):
                log.info("request", extra={"method": scope["method"], "path": path,
                                           "status": status[0],
                                           "ms": round(elapsed * 1000, 3)})
            cid_var.reset(token)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} hours"
    if seconds >= 60:
        return f"{seconds / 60:.3g} minutes"
    return f"{seconds:.3g} s"


def _profile_parameters(s: Service, profile_id: str) -> str:
    import sqlalchemy as sa
    from dprof.repo import schema
    return s.store._read(lambda conn: conn.execute(sa.select(schema.profiles.c.parameters)
                                                   .where(schema.profiles.c.id == profile_id))
                         .scalar()) or "{}"


def _results(s: Service, row: Dict[str, Any]) -> Dict[str, Any]:
    import sqlalchemy as sa
    from dprof.repo import codec, schema
    from dprof.repo.repository import _child_row
    pid = row["profile_id"]
    def read(conn):
        found = conn.execute(sa.select(schema.profiles).where(
            schema.profiles.c.id == pid)).mappings().first()
        if found is None:
            return None, None, None
        return (found, _child_row(conn, schema.profile_resources, pid),
                _child_row(conn, schema.profile_stacks, pid))
    prow, res, stk = s.store._read(read)
    if prow is None:
        raise ApiError(404, f"the profile {pid} of job {row['id']} is no longer stored "
                            f"(pruned?)", "job_id")
    profile = codec.profile_from_row(prow, res, stk)
    data = profile.to_dict()
    series = data.pop("resources", None)
    data.pop("stacks", None)
    stats = {}
    if profile.resources:
        import numpy as np
        for name, values in profile.resources.items():
            if name == "t":
                continue
            v = np.asarray(values, dtype=float)
            v = v[np.isfinite(v)]
            stats[name] = None if not len(v) else {
                "samples": int(len(v)), "min": float(v.min()), "mean": float(v.mean()),
                "p95": float(np.percentile(v, 95)), "max": float(v.max())}
    return {"job": job_view(row), "profile": data,
            "resources": {"samples": 0 if not profile.resources else
                          int(len(profile.resources.get("t", ()))),
                          "columns": stats, "missing": profile.resources_missing},
            "result": json.loads(row["result"]) if row["result"] else None,
            "series_stored": series is not None}
