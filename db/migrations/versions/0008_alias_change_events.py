"""A price change of a moving alias (`mistral-large-latest`) is an `alias_change`, not a cut or raise.

The diff stage now derives them so (pipeline.diff).  The archive's recorded cuts and raises of
such aliases become `alias_change` in place, keeping their ids: re-deriving would otherwise
delete them and create new events, which the alert stage would mail as news.  Their verdicts
and evidence go, since an alias change is not weighed.  No stored price says which model an
alias served then, so every one of them is converted, as the diff stage now reads them; should
a page read again name the same model on both sides, the store turns the event back into a
cut in place, under the same id (pipeline.store._rekinded).

Revision ID: 0008
Revises: 0007
"""
import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# pipeline.diff.moving_alias as it stood when this was written: a migration keeps its meaning.
MOVING_ALIAS = re.compile(r"(?:^|[-_./:~])latest(?:$|[-_./:])", re.I)
EVENTS = sa.table("events", sa.column("id"), sa.column("kind"), sa.column("model"), sa.column("reversal"),
                  sa.column("verdict"), sa.column("evidence"))


def upgrade() -> None:
    connection = op.get_bind()
    priced = connection.execute(sa.select(EVENTS.c.id, EVENTS.c.model).where(EVENTS.c.kind.in_(("cut", "raise"))))
    aliased = [row.id for row in priced if MOVING_ALIAS.search(row.model)]
    for start in range(0, len(aliased), 500):
        connection.execute(EVENTS.update().where(EVENTS.c.id.in_(aliased[start:start + 500]))
                           .values(kind="alias_change", reversal=False, verdict=None, evidence=None))


def downgrade() -> None:
    """Back to what the older diff stage derived: a cut or raise by the direction of the change,
    and a tier change for an alias naming another model at the same price, unless the same
    moment already has one (its tier bounds moved too).  Lossy: verdicts are not restored, and
    such a dropped alias change takes its alert log rows with it."""
    op.execute("DELETE FROM events WHERE kind = 'alias_change' AND old_price = new_price AND EXISTS ("
               "SELECT 1 FROM events tier WHERE tier.kind = 'tier_change' AND tier.source_id = events.source_id "
               "AND tier.model = events.model AND tier.dimension = events.dimension "
               "AND tier.currency = events.currency AND tier.conditions_key = events.conditions_key "
               "AND tier.observed_at = events.observed_at)")
    op.execute("UPDATE events SET kind = CASE WHEN old_price = new_price THEN 'tier_change' "
               "WHEN CAST(new_price AS NUMERIC) < CAST(old_price AS NUMERIC) THEN 'cut' ELSE 'raise' END "
               "WHERE kind = 'alias_change'")
