"""Revision 3: why each missing resource column is missing, kept with the series.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Series stored by revision 2 kept no reasons: they get an empty JSON object.
    op.add_column("profile_resources",
                  sa.Column("missing", sa.Text, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("profile_resources") as batch:
        batch.drop_column("missing")
