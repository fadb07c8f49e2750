"""robots.txt kept between runs for a day (db.models.RobotsFile).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import db.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robots_files",
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("fetched_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("origin"),
    )


def downgrade() -> None:
    op.drop_table("robots_files")
