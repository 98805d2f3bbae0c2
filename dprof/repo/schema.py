"""The tables at the newest schema revision, as SQLAlchemy Core objects.

Queries and inserts use these. The migrations in ``migrations/versions`` build the same
tables step by step and are frozen once released; ``tests/repo/test_migrations.py``
checks that upgrading gives exactly these columns.

Times are stored as integer microseconds since 1970-01-01T00:00:00Z: exact, the same on
every backend, and a DataFrame column is made from them without parsing strings.
Dicts are stored as JSON text. The resource series is one compressed blob per profile.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, Float, ForeignKey, Index, Integer, LargeBinary,
                        MetaData, String, Table, Text)

metadata = MetaData()

profiles = Table(
    "profiles", metadata,
    Column("id", String(64), primary_key=True),
    Column("process_name", String(255), nullable=False),
    Column("env", String(64), nullable=False),
    Column("stage", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("task_start_time_us", BigInteger, nullable=False),
    Column("task_end_time_us", BigInteger, nullable=False),
    Column("runtime_seconds", Float),
    Column("cpu_cores", Float),
    Column("cpu_user_utilization", Float),
    Column("cpu_system_utilization", Float),
    Column("memory_usage_peak_mb", Float),
    Column("memory_allocations", BigInteger),
    Column("file_read_bytes", BigInteger),
    Column("file_write_bytes", BigInteger),
    Column("io_wait_time_seconds", Float),
    Column("network_data_sent_bytes", BigInteger),
    Column("network_data_received_bytes", BigInteger),
    Column("exceptions_raised", BigInteger),
    Column("exception_type", String(255)),
    Column("exception_message", Text),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("python_version", String(32), nullable=False),
    Column("parameters", Text, nullable=False),    # JSON object
    Column("missing", Text, nullable=False),       # JSON object: metric -> reason
    Column("sources", Text, nullable=False),       # JSON object: metric -> source
    Column("tags", Text, nullable=False, server_default="{}"),  # JSON str -> str (rev. 2)
    Index("ix_profiles_process_name", "process_name"),
    Index("ix_profiles_stage", "stage"),
    Index("ix_profiles_env", "env"),
    Index("ix_profiles_status", "status"),
    Index("ix_profiles_task_start_time_us", "task_start_time_us"),
)

# One row per profile that has a series: the float64 columns, little-endian, one after
# the other, zlib-compressed; ``columns`` is the JSON list of their names; ``missing``
# the JSON object column -> why the sampler could not give it (revision 3).
profile_resources = Table(
    "profile_resources", metadata,
    Column("profile_id", String(64), ForeignKey("profiles.id", ondelete="CASCADE"),
           primary_key=True),
    Column("columns", Text, nullable=False),
    Column("n_samples", Integer, nullable=False),
    Column("encoding", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("missing", Text, nullable=False, server_default="{}"),
)

# One row per profile that has stacks: zlib-compressed JSON of StackProfile.to_dict().
profile_stacks = Table(
    "profile_stacks", metadata,
    Column("profile_id", String(64), ForeignKey("profiles.id", ondelete="CASCADE"),
           primary_key=True),
    Column("encoding", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# One row per profile with sampled allocations: zlib-compressed JSON of
# MemoryProfile.to_dict() (revision 0005).
profile_memory = Table(
    "profile_memory", metadata,
    Column("profile_id", String(64), ForeignKey("profiles.id", ondelete="CASCADE"),
           primary_key=True),
    Column("encoding", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

CHILD_TABLES = (profile_resources, profile_stacks, profile_memory)

# The service's jobs (revision 4, dprof/service/store.py): one row per submitted job;
# ``profile_id`` is the stored result (the profile's id is the job's id). Times are
# microseconds since 1970 as above; ``spec`` and ``result`` are JSON objects.
service_jobs = Table(
    "service_jobs", metadata,
    Column("id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("algorithm", String(255), nullable=False),
    Column("input_size", BigInteger, nullable=False),
    Column("iterations", Integer, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("spec", Text, nullable=False),
    Column("comparison_id", String(64)),
    Column("correlation_id", String(64), nullable=False),
    Column("predicted_seconds", Float),
    Column("created_us", BigInteger, nullable=False),
    Column("started_us", BigInteger),
    Column("finished_us", BigInteger),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("worker", String(255)),
    Column("worker_host", String(255)),
    Column("error", Text),
    Column("profile_id", String(64)),
    Column("result", Text),
    Index("ix_service_jobs_status", "status"),
    Index("ix_service_jobs_created_us", "created_us"),
    Index("ix_service_jobs_comparison_id", "comparison_id"),
)
