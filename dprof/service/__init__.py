"""The dprof service: profiling jobs over HTTP, run by Celery workers or in-process.

Modules, one purpose each (the API, the Celery app and the job runner stay apart, so
that the runner is the same code in both modes):
  config           Settings from the environment (broker, database, limits, token)
  algorithms_port  the one boundary to dprof.algorithms (names, checks, prediction, runs)
  store            the jobs table: create, claim, finish (idempotent), list, cancel
  runner           runs one job and stores its Profile; used by both modes
  celery_app       the Celery app (JSON only, late acks) and its task
  embedded         the in-process mode: a thread pool over the same runner
  dispatch         submit / cancel / health of whichever mode is configured
  heartbeat        live workers: each worker refreshes a key in Redis
  metrics          Prometheus metrics (multiprocess-safe)
  logs             structured JSON logs with a correlation id
  api              the FastAPI application
  beat             periodic work: retention pruning, scheduled comparisons

Nothing here is imported by ``import dprof`` or by the CLI's other verbs: FastAPI and
Celery come with the ``service`` extra (``pip install "dprof[service]"``). The guide
is docs/service.md.
"""
