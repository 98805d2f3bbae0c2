"""Revision 0005: the sampled allocation profile of a run, one row per profile.

Revision ID: 0005
Revises: 0004 (the service's jobs)
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profile_memory",
        sa.Column("profile_id", sa.String(64), sa.ForeignKey("profiles.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("encoding", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("profile_memory")
