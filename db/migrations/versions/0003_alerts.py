"""Change alerts: the outbox, the alert log and the operator's outage state.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

import db.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("server_reply", sa.Text(), nullable=True),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handed_over_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_outbox_status", "outbox", ["status"])
    op.create_table(
        "alert_log",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["outbox.message_id"]),
        sa.PrimaryKeyConstraint("event_id", "recipient"),
    )
    op.create_table(
        "operator_alerts",
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("outage_started_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("alerted_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source_id"),
    )


def downgrade() -> None:
    op.drop_table("operator_alerts")
    op.drop_table("alert_log")
    op.drop_index("ix_outbox_status", table_name="outbox")
    op.drop_table("outbox")
