# The dprof service image: API (`dprof serve`), worker (`dprof worker`) and beat
# (`dprof beat`) run from it with different commands (see docker-compose.yml, k8s/).
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY csrc ./csrc
COPY dprof ./dprof
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[service]"

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 dprof
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "dprof[service]" \
    && rm -rf /wheels
USER dprof
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/health || exit 1
CMD ["dprof", "serve", "--host", "0.0.0.0", "--port", "8000"]
