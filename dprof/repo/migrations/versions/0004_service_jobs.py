"""Revision 4: the service's jobs table (dprof/service/store.py).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("algorithm", sa.String(255), nullable=False),
        sa.Column("input_size", sa.BigInteger, nullable=False),
        sa.Column("iterations", sa.Integer, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("comparison_id", sa.String(64)),
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("predicted_seconds", sa.Float),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("started_us", sa.BigInteger),
        sa.Column("finished_us", sa.BigInteger),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("worker", sa.String(255)),
        sa.Column("worker_host", sa.String(255)),
        sa.Column("error", sa.Text),
        sa.Column("profile_id", sa.String(64)),
        sa.Column("result", sa.Text),
    )
    op.create_index("ix_service_jobs_status", "service_jobs", ["status"])
    op.create_index("ix_service_jobs_created_us", "service_jobs", ["created_us"])
    op.create_index("ix_service_jobs_comparison_id", "service_jobs", ["comparison_id"])


def downgrade() -> None:
    op.drop_table("service_jobs")
