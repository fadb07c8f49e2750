"""The alert stage works from what is stored, so that a run that dies before it loses no mail.

- `alert_watermark` always has its row, now also with the newest observation looked at (held
  pages are told from it).  Made at the archive's newest event and observation, so that an
  archive whose alerts were off does not mail its past when they are switched on.
- `operator_alerts` keeps one row per source: the last failure and success the stage has taken
  into account, seeded from source_health, so the upgrade retells nothing.
- On SQLite, `events` gets AUTOINCREMENT: without it, the id of a deleted newest event is handed
  out again, below the watermark, and the new event would never be mailed.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import db.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ALERT_LOG = sa.table("alert_log", sa.column("event_id"), sa.column("recipient"), sa.column("message_id"),
                     sa.column("created_at"))


def _rebuild_events(*, autoincrement: bool) -> None:
    """Recreate `events` on SQLite (the only way to change AUTOINCREMENT), keeping alert_log whole.

    Foreign keys are on and cannot be turned off inside the migration's transaction, so dropping
    the old table cascades to alert_log: its rows are put back once the new table has the name."""
    connection = op.get_bind()
    told = [dict(row) for row in connection.execute(sa.select(ALERT_LOG)).mappings()]
    with op.batch_alter_table("events", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass
    if told:
        connection.execute(ALERT_LOG.insert(), told)


def upgrade() -> None:
    connection = op.get_bind()
    newest_event = connection.scalar(sa.text("SELECT max(id) FROM events")) or 0
    newest_observation = connection.scalar(sa.text("SELECT max(id) FROM observations")) or 0
    last_event = connection.scalar(sa.text("SELECT last_event_id FROM alert_watermark WHERE id = 1"))
    last_event = newest_event if last_event is None else last_event
    op.drop_table("alert_watermark")
    watermark = op.create_table(
        "alert_watermark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("last_observation_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(watermark, [{"id": 1, "last_event_id": last_event, "last_observation_id": newest_observation}])

    with op.batch_alter_table("operator_alerts") as batch:
        batch.add_column(sa.Column("seen_failure_at", db.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("seen_success_at", db.models.UTCDateTime(timezone=True), nullable=True))
        batch.alter_column("outage_started_at", existing_type=db.models.UTCDateTime(timezone=True), nullable=True)
    op.execute("UPDATE operator_alerts SET "
               "seen_failure_at = (SELECT last_failure_at FROM source_health h "
               "WHERE h.source_id = operator_alerts.source_id), "
               "seen_success_at = (SELECT last_success_at FROM source_health h "
               "WHERE h.source_id = operator_alerts.source_id)")
    op.execute("INSERT INTO operator_alerts (source_id, seen_failure_at, seen_success_at) "
               "SELECT source_id, last_failure_at, last_success_at FROM source_health "
               "WHERE source_id NOT IN (SELECT source_id FROM operator_alerts)")

    if connection.dialect.name == "sqlite":
        _rebuild_events(autoincrement=True)
        # Ids up to the watermark may have been handed out and deleted since: none is handed out again.
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")
        connection.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', :seq)"),
                           {"seq": max(newest_event, last_event)})


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        _rebuild_events(autoincrement=False)
    op.execute("DELETE FROM operator_alerts WHERE outage_started_at IS NULL")
    with op.batch_alter_table("operator_alerts") as batch:
        batch.alter_column("outage_started_at", existing_type=db.models.UTCDateTime(timezone=True), nullable=False)
        batch.drop_column("seen_success_at")
        batch.drop_column("seen_failure_at")
    with op.batch_alter_table("alert_watermark") as batch:
        batch.drop_column("last_observation_id")
