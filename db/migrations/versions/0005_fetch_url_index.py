"""An index for each run's one read of the last good fetch of every URL (pipeline.run.last_good_fetches).

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_fetch_url_outcome", "fetches", ["url", "outcome", "id"])


def downgrade() -> None:
    op.drop_index("ix_fetch_url_outcome", table_name="fetches")
