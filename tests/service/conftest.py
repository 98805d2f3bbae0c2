"""The service tests' fixtures; they live in service_fixtures.py with the helpers."""
from service_fixtures import (celery_stack, embedded_stack, pg_server,  # noqa: F401
                              redis_server)
