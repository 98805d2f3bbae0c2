# The seed's targets for the dprof service (docker compose), plus the tests.
#   make up       build the image and start api, worker, beat, redis, postgres
#   make health   ask the API how it is (database, broker, workers)
#   make logs     follow the JSON logs;  make down   stop and remove the containers
#   make test     the service tests (real Redis, PostgreSQL and workers; no Docker)
COMPOSE ?= docker compose
API_PORT ?= 8000
PYTHON ?= python3

.PHONY: up down health test logs

up:
	$(COMPOSE) up --build -d

down:
	$(COMPOSE) down

health:
	curl -fsS http://127.0.0.1:$(API_PORT)/health

test:
	$(PYTHON) -m pytest -q tests/service

logs:
	$(COMPOSE) logs -f --tail=100
