"""The alert stage of a run: queue the digests and operator alerts, then flush the outbox.

The queueing is one transaction, so a crash leaves either all of a run's alerts queued or
none.  Delivery comes after and may fail without harm: the messages wait in the outbox for
the next run or `pricewatch alerts flush`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import AlertWatermark, Event
from db.session import Database
from pipeline.alerts.config import alert_settings
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


def _missed_events(session: Session, event_ids: list[int]) -> list[int]:
    """Events committed since the stage last looked, and move the watermark to the newest.

    A run that dies after storing but before its alert stage leaves events no one queued; the
    next run's stage finds them here.  The first time alerts run, only this run's events count:
    the archive's past is not mailed."""
    newest = session.scalar(select(func.max(Event.id))) or 0
    mark = session.get(AlertWatermark, 1)
    if mark is None:
        mark = AlertWatermark(id=1, last_event_id=min(event_ids) - 1 if event_ids else newest)
        session.add(mark)
    missed = list(session.scalars(select(Event.id).where(Event.id > mark.last_event_id, Event.id <= newest)))
    mark.last_event_id = max(mark.last_event_id, newest)
    return missed


def after_run(config: Config, db: Database, results, *, live: bool = True) -> AlertOutcome | None:
    """Alerts for the `results` of one run (SourceResults); None when alerts are disabled.
    An import (not `live`) mails its events but never an outage or a recovery: a backfilled
    page, good or bad, says nothing of the source today."""
    settings = alert_settings(config)
    if not settings.enabled:
        return None
    from pipeline.alerts.digest import queue_digests  # its templates and charts load only when alerts are on

    now = datetime.now(timezone.utc)
    event_ids = [event_id for result in results if result.status == "ok" for event_id in result.events]
    with db.transaction() as session:
        event_ids = sorted(set(event_ids) | set(_missed_events(session, event_ids)))
        queued = queue_digests(session, config, settings, event_ids, now)
        if live:
            queued += queue_operator_alerts(session, settings, results, now)
    return AlertOutcome(queued, flush(db, settings))
