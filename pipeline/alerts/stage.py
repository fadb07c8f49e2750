"""The alert stage of a run: queue the digests and operator alerts, then flush the outbox.

The stage works from what is stored, not from what its own run did: the events and held pages
committed since the stage last looked (the watermark), and the health of every source against
what the operator has been told.  So a run that dies between its store and its alert stage (a
kill, or a Ctrl-C, which lets the source in flight commit) loses no mail: the next run's stage
tells it.  The queueing is one transaction, so a crash leaves either all of it queued or none.
Delivery comes after and may fail without harm: the messages wait in the outbox for the next
run or `pricewatch alerts flush`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import AlertWatermark, Event, Observation
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


def _new_events(session: Session, mark: AlertWatermark) -> list[int]:
    """Events committed since the stage last looked, by any run; the watermark moves past them.

    Writers commit one at a time and an event id is never reused, so every event above the
    watermark is one no stage has looked at yet."""
    new = list(session.scalars(select(Event.id).where(Event.id > mark.last_event_id).order_by(Event.id)))
    if new:
        mark.last_event_id = new[-1]
    return new


def _new_holds(session: Session, mark: AlertWatermark) -> list[Observation]:
    """Observations held for review since the stage last looked and still held; the watermark
    moves past every observation since.  Observations are never deleted, so their ids only grow."""
    newest = session.scalar(select(func.max(Observation.id))) or 0
    held = list(session.scalars(select(Observation).where(Observation.id > mark.last_observation_id,
                                                          Observation.id <= newest,
                                                          Observation.status == "quarantined")
                                .order_by(Observation.id)))
    mark.last_observation_id = max(mark.last_observation_id, newest)
    return held


def after_run(config: Config, db: Database, *, live: bool = True) -> AlertOutcome | None:
    """Alerts for what the run stored, and for whatever runs that died before their alert stage
    stored: all of it lies above the watermarks.  None when alerts are disabled.

    With alerts disabled the stage still takes stock, telling no one, so that switching alerts on
    mails what happens from then on, not the archive's past.  An import (not `live`) mails its
    events but never an outage, a recovery or a held page: a backfilled page, good or bad, says
    nothing of the source today, and those wait for the next live run's stage."""
    settings = alert_settings(config)
    now = datetime.now(timezone.utc)
    with db.transaction() as session:
        mark = session.get(AlertWatermark, 1)
        event_ids = _new_events(session, mark)
        queued = 0
        if settings.enabled:
            from pipeline.alerts.digest import queue_digests  # its templates and charts load only when alerts are on

            queued = queue_digests(session, config, settings, event_ids, now)
        if live:
            queued += queue_operator_alerts(session, settings, _new_holds(session, mark), now, list(config.sources))
    return AlertOutcome(queued, flush(db, settings)) if settings.enabled else None
