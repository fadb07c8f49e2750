"""Views for people with sqlite3 or Datasette: prices_current and price_history.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PRICE_HISTORY = """
CREATE VIEW price_history AS
SELECT i.id AS interval_id, i.source_id AS source, i.vendor, i.market, i.aggregator,
       i.model, i.canonical_model, i.dimension, i.conditions,
       i.price, i.currency, i.unit, i.list_price, i.promo,
       i.usd AS usd_at_first_seen, i.eur AS eur_at_first_seen, i.fx_date,
       i.first_seen, i.last_seen, i.snapshot_id, s.url AS snapshot_url, s.sha256 AS snapshot_sha256,
       i.parser_version
FROM price_intervals i JOIN snapshots s ON s.id = i.snapshot_id
"""

PRICES_CURRENT = """
CREATE VIEW prices_current AS
SELECT h.* FROM price_history h
JOIN (SELECT source_id, MAX(observed_at) AS last_observed
      FROM observations WHERE status = 'ok' GROUP BY source_id) latest
  ON latest.source_id = h.source AND h.last_seen = latest.last_observed
"""


def upgrade() -> None:
    op.execute(PRICE_HISTORY)
    op.execute(PRICES_CURRENT)


def downgrade() -> None:
    op.execute("DROP VIEW prices_current")
    op.execute("DROP VIEW price_history")
