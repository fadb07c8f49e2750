"""The alert stage of a run: queue the digests and operator alerts, then flush the outbox.

The queueing is one transaction, so a crash leaves either all of a run's alerts queued or
none.  Delivery comes after and may fail without harm: the messages wait in the outbox for
the next run or `pricewatch alerts flush`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from db.session import Database
from pipeline.alerts.config import alert_settings
from pipeline.alerts.digest import queue_digests
from pipeline.alerts.operator import queue_operator_alerts
from pipeline.alerts.outbox import FlushReport, flush
from pipeline.config import Config


@dataclass
class AlertOutcome:
    queued: int
    delivery: FlushReport

    @property
    def mail_pending(self) -> bool:
        return self.delivery.pending > 0


def after_run(config: Config, db: Database, results) -> AlertOutcome | None:
    """Alerts for the `results` of one run (SourceResults); None when alerts are disabled."""
    settings = alert_settings(config)
    if not settings.enabled:
        return None
    now = datetime.now(timezone.utc)
    event_ids = [event_id for result in results if result.status == "ok" for event_id in result.events]
    with db.transaction() as session:
        queued = queue_digests(session, config, settings, event_ids, now)
        queued += queue_operator_alerts(session, settings, results, now)
    return AlertOutcome(queued, flush(db, settings))
