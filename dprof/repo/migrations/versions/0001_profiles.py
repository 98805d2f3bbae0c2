"""Revision 1: the profiles table, one row per profiled run, with its indexes.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("process_name", sa.String(255), nullable=False),
        sa.Column("env", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("task_start_time_us", sa.BigInteger, nullable=False),
        sa.Column("task_end_time_us", sa.BigInteger, nullable=False),
        sa.Column("runtime_seconds", sa.Float),
        sa.Column("cpu_cores", sa.Float),
        sa.Column("cpu_user_utilization", sa.Float),
        sa.Column("cpu_system_utilization", sa.Float),
        sa.Column("memory_usage_peak_mb", sa.Float),
        sa.Column("memory_allocations", sa.BigInteger),
        sa.Column("file_read_bytes", sa.BigInteger),
        sa.Column("file_write_bytes", sa.BigInteger),
        sa.Column("io_wait_time_seconds", sa.Float),
        sa.Column("network_data_sent_bytes", sa.BigInteger),
        sa.Column("network_data_received_bytes", sa.BigInteger),
        sa.Column("exceptions_raised", sa.BigInteger),
        sa.Column("exception_type", sa.String(255)),
        sa.Column("exception_message", sa.Text),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("python_version", sa.String(32), nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("missing", sa.Text, nullable=False),
        sa.Column("sources", sa.Text, nullable=False),
    )
    for column in ("process_name", "stage", "env", "status", "task_start_time_us"):
        op.create_index(f"ix_profiles_{column}", "profiles", [column])


def downgrade() -> None:
    op.drop_table("profiles")
