"""Revision 2: tags on profiles; resource series and stack profiles, one blob row each.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written by revision 1 had no tags: they get an empty JSON object.
    op.add_column("profiles", sa.Column("tags", sa.Text, nullable=False, server_default="{}"))
    op.create_table(
        "profile_resources",
        sa.Column("profile_id", sa.String(64),
                  sa.ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("n_samples", sa.Integer, nullable=False),
        sa.Column("encoding", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "profile_stacks",
        sa.Column("profile_id", sa.String(64),
                  sa.ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("encoding", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("profile_stacks")
    op.drop_table("profile_resources")
    with op.batch_alter_table("profiles") as batch:
        batch.drop_column("tags")
