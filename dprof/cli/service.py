"""Verbs of the service: ``dprof serve``, ``dprof worker``, ``dprof beat``.

FastAPI, uvicorn and Celery are imported when a verb runs, never when the parser is
built, so that the other verbs work without the ``service`` extra.
"""
from __future__ import annotations

import os
import socket
import tempfile

from dprof.cli.errors import CliError

DEFAULT_PORT = 8000
DEFAULT_METRICS_PORT = 9808


def add_parsers(verbs) -> None:
    p = verbs.add_parser(
        "serve", help="run the REST API (jobs in-process without a broker)",
        description="Run the dprof REST API. With DPROF_BROKER_URL (or REDIS_URL) set, jobs "
                    "go to Celery workers (`dprof worker`); without, they run in this "
                    "process on the database of DPROF_DATABASE_URL (or DATABASE_URL, else "
                    "the default SQLite file).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                                                       "127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--workers", type=int, default=1,
                   help="API processes (Celery mode only; metrics use multiprocess mode)")
    p.set_defaults(handler=cmd_serve)

    p = verbs.add_parser(
        "worker", help="run a Celery worker that runs profiling jobs",
        description="Run a Celery worker for the jobs of DPROF_BROKER_URL (or REDIS_URL), "
                    "storing results in DPROF_DATABASE_URL (or DATABASE_URL).")
    p.add_argument("--concurrency", type=int, default=None,
                   help="job processes (default: the number of CPUs)")
    p.add_argument("--name", default=None, help="node name (default dprof-PID@HOST)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help=f"serve this worker's Prometheus metrics on this port (e.g. "
                        f"{DEFAULT_METRICS_PORT}); off by default")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(handler=cmd_worker)

    p = verbs.add_parser(
        "beat", help="run periodic work: retention pruning, scheduled comparisons",
        description="Run the periodic work (Celery beat with a broker, a loop without).")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(handler=cmd_beat)


def _settings(args):
    from dprof.service import config
    if getattr(args, "db", None):
        os.environ["DPROF_DATABASE_URL"] = args.db
    try:
        return config.load()
    except config.ConfigError as exc:
        raise CliError(str(exc)) from None


def _need_service_extra():
    try:
        import celery  # noqa: F401
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise CliError(f"{exc.name} is not installed; install the service extra: "
                       f"pip install \"dprof[service]\"") from None


def cmd_serve(args) -> int:
    _need_service_extra()
    settings = _settings(args)
    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a TCP port")
    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    if args.workers > 1 and settings.embedded:
        raise CliError("--workers > 1 needs a broker (DPROF_BROKER_URL): in the embedded "
                       "mode the jobs run inside the single API process")
    if args.workers > 1:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                              tempfile.mkdtemp(prefix="dprof-api-metrics-"))
    import uvicorn
    from dprof.service import logs
    logs.setup("api")
    if args.workers > 1:
        uvicorn.run("dprof.service.asgi:app", host=args.host, port=args.port,
                    workers=args.workers, log_config=None, access_log=False)
    else:
        from dprof.service.api import create_app
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None,
                    access_log=False)
    return 0


def cmd_worker(args) -> int:
    _need_service_extra()
    settings = _settings(args)
    if settings.embedded:
        raise CliError("no broker configured: set DPROF_BROKER_URL (or REDIS_URL) to a "
                       "redis:// URL; without one `dprof serve` runs jobs itself")
    if args.concurrency is not None and args.concurrency < 1:
        raise CliError("--concurrency must be at least 1")
    if args.metrics_port is not None:
        # before prometheus_client is imported: the pool children write their values
        # to files there, and this process serves their sum
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                              tempfile.mkdtemp(prefix="dprof-worker-metrics-"))
    from dprof.service import logs
    logs.setup("worker", args.loglevel)
    from dprof.service.celery_app import get_app
    app = get_app()
    if args.metrics_port is not None:
        from prometheus_client import start_http_server
        from dprof.service.metrics import registry
        start_http_server(args.metrics_port, registry=registry())
    name = args.name or f"dprof-{os.getpid()}@{socket.gethostname()}"
    argv = ["worker", f"--loglevel={args.loglevel}", "-n", name, "-Q", settings.queue,
            "--without-gossip", "--without-mingle", "-P", "prefork"]
    if args.concurrency:
        argv.append(f"--concurrency={args.concurrency}")
    app.worker_main(argv)
    return 0


def cmd_beat(args) -> int:
    settings = _settings(args)
    from dprof.service import logs
    logs.setup("beat", args.loglevel)
    if settings.embedded:
        from dprof.service import beat
        try:
            beat.run_loop(settings)
        except KeyboardInterrupt:
            pass
        return 0
    _need_service_extra()
    from dprof.service.celery_app import get_app
    from dprof.repo.url import data_dir
    # Celery beat remembers when each entry last ran, so a restart does not re-run
    # everything at once; the file lives beside dprof's default database
    schedule = data_dir() / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    get_app().start(["beat", f"--loglevel={args.loglevel}", "-s", str(schedule)])
    return 0
