"""Operator alerts: a source that keeps failing, hits a bot wall or leaves its layout, and a
page the sanity gate held back for review (once per held page: a run that reads the same
page again adds nothing to review, and says nothing new).

One alert per outage and one recovery note when the source next succeeds.  An outage is a
run of consecutive failed runs of a source; it is alerted when it crosses a configured
trigger (`failures_in_a_row`, or at once for `blocked` / `layout_drift`), and the
`operator_alerts` row remembers that it was, so the later failed runs of the same outage
stay quiet.  An outage that ends before any trigger was crossed ends without mail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Observation, OperatorAlert, SourceHealth
from pipeline.alerts.config import AlertSettings
from pipeline.alerts.message import compose, new_message_id
from pipeline.alerts.outbox import enqueue
from pipeline.output import visible


def _triggered(settings: AlertSettings, reason: str | None, failures: int) -> bool:
    operator = settings.operator
    if reason == "blocked" and operator.blocked:
        return True
    if reason == "layout_drift" and operator.layout_drift:
        return True
    return bool(operator.failures_in_a_row) and failures >= operator.failures_in_a_row


def _mail(session: Session, settings: AlertSettings, *, kind: str, subject: str, text: str, now: datetime) -> int:
    for recipient in settings.operator.recipients:
        mid = new_message_id(f"operator-{kind}", settings.sender_domain)
        content = compose(sender=settings.sender, recipient=recipient, subject=subject, message_id=mid, date=now,
                          text=text)
        enqueue(session, kind="operator", message_id=mid, sender=settings.sender, recipient=recipient,
                subject=subject, content=content, at=now)
    return len(settings.operator.recipients)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _held_alert(session: Session, settings: AlertSettings, source_id: str, now: datetime) -> int:
    held = session.scalars(select(Observation).where(Observation.source_id == source_id,
                                                     Observation.status == "quarantined")
                           .order_by(Observation.observed_at.desc()).limit(1)).first()
    return _mail(session, settings, kind="held", now=now,
                 subject=f"pricewatch operator: {source_id} held for review",
                 text=(f"The sanity gate held back observation {held.id} of {source_id} "
                       f"({_when(held.observed_at)}): {visible(held.status_reason or '')}\n\n"
                       "Its prices are kept but not published, and no event comes from them, until you "
                       f"decide: `pricewatch quarantine release {held.id}` publishes them, "
                       f"`pricewatch quarantine reject {held.id}` keeps them unpublished for good.\n"
                       "Runs that read the same page again add nothing to review.\n"))


def queue_operator_alerts(session: Session, settings: AlertSettings, results, now: datetime) -> int:
    """Update each run source's outage state from its result; queue the alerts due; return how many."""
    if not settings.operator.recipients:
        return 0
    queued = 0
    for result in results:
        if result.status not in ("ok", "failed"):
            continue
        outage = session.get(OperatorAlert, result.source)
        if result.hold == "new" and settings.operator.held:
            queued += _held_alert(session, settings, result.source, now)
        if result.status == "ok":
            if outage is not None and outage.alerted_at is not None:
                health = session.get(SourceHealth, result.source)
                queued += _mail(session, settings, kind="recovery", now=now,
                                subject=f"pricewatch operator: {result.source} recovered",
                                text=(f"Source {result.source} succeeded again: {result.line()}\n\n"
                                      f"It had been failing since {_when(outage.outage_started_at)} "
                                      f"(alerted {_when(outage.alerted_at)}, reason: {outage.reason}).\n"
                                      f"Last success now: {_when(health.last_success_at if health else None)}.\n"))
            if outage is not None:
                session.delete(outage)
            continue
        health = session.get(SourceHealth, result.source)
        failures = health.consecutive_failures if health else 1
        if outage is None:
            started = health.last_failure_at if health and health.last_failure_at else now
            outage = OperatorAlert(source_id=result.source, outage_started_at=started, reason=result.reason)
            session.add(outage)
            session.flush()
        if outage.alerted_at is None and _triggered(settings, result.reason, failures):
            reason = (result.reason or "error").replace("_", " ")
            queued += _mail(session, settings, kind="outage", now=now,
                            subject=f"pricewatch operator: {result.source} failing ({reason}, "
                                    f"{failures} run{'s' if failures != 1 else ''} in a row)",
                            text=(f"Source {result.source} failed: [{result.reason}] {result.message}\n\n"
                                  f"Failed runs in a row: {failures}, since {_when(outage.outage_started_at)}.\n"
                                  f"Last success: {_when(health.last_success_at if health else None)}.\n"
                                  "No prices or events are derived from a failed run; the previous prices stay "
                                  "as they were.\nThis is the only alert for this outage; a note follows when "
                                  "the source recovers.  See `pricewatch status`.\n"))
            outage.alerted_at, outage.reason = now, result.reason
    session.flush()
    return queued
