"""Operator alerts: a source that keeps failing, hits a bot wall or leaves its layout, and a
page the sanity gate held back for review (once per held page: a run that reads the same
page again adds nothing to review, and says nothing new).

One alert per outage and one recovery note when the source next succeeds.  An outage is a
run of consecutive failed runs of a source; it is alerted when it crosses a configured
trigger (`failures_in_a_row`, or at once for `blocked` / `layout_drift`), and the source's
`operator_alerts` row remembers that it was, so the later failed runs of the same outage
stay quiet.  An outage that ends before any trigger was crossed ends without mail.

All of it is read from what is stored, so that what a run stored and died before telling (a
kill, a Ctrl-C) is told by the next stage: the held pages come from the alert watermark, the
outages from source_health, compared with the last failure and success the row took into
account.  Of failures that began and ended between two stages only the last is known: the
operator hears of them once, as a failure since recovered, when that failure alone would have
crossed a trigger.
"""

from __future__ import annotations

from dataclasses import replace
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


def _held_alert(session: Session, settings: AlertSettings, held: Observation, now: datetime) -> int:
    return _mail(session, settings, kind="held", now=now,
                 subject=f"pricewatch operator: {held.source_id} held for review",
                 text=(f"The sanity gate held back observation {held.id} of {held.source_id} "
                       f"({_when(held.observed_at)}): {visible(held.status_reason or '')}\n\n"
                       "Its prices are kept but not published, and no event comes from them, until you "
                       f"decide: `pricewatch quarantine release {held.id}` publishes them, "
                       f"`pricewatch quarantine reject {held.id}` keeps them unpublished for good.\n"
                       "Runs that read the same page again add nothing to review.\n"))


def _failure(health: SourceHealth) -> str:
    """The source's last failure as recorded (its message names the source first: dropped here)."""
    message = (health.last_failure_message or "").removeprefix(f"{health.source_id}: ")
    return f"[{health.last_failure_reason}] {visible(message)}"


def _follow(session: Session, settings: AlertSettings, health: SourceHealth, told: OperatorAlert,
            now: datetime) -> int:
    """Bring the source's row up to its health, queueing what the operator has not been told."""
    source, reason = health.source_id, health.last_failure_reason
    failing = health.consecutive_failures > 0
    failed_since = health.last_failure_at is not None and health.last_failure_at != told.seen_failure_at
    succeeded_since = health.last_success_at is not None and health.last_success_at != told.seen_success_at
    ended = told.outage_started_at is not None and (succeeded_since or not failing)
    queued = 0
    if ended and told.alerted_at is not None:
        queued += _mail(session, settings, kind="recovery", now=now,
                        subject=f"pricewatch operator: {source} recovered",
                        text=(f"Source {source} succeeded again ({_when(health.last_success_at)}).\n\n"
                              f"It had been failing since {_when(told.outage_started_at)} "
                              f"(alerted {_when(told.alerted_at)}, reason: {told.reason}).\n"))
    elif failed_since and not failing and _triggered(settings, reason, 1):
        queued += _mail(session, settings, kind="outage", now=now,
                        subject=f"pricewatch operator: {source} failed ({(reason or 'error').replace('_', ' ')}), "
                                "recovered since",
                        text=(f"Source {source} failed: {_failure(health)}\n\n"
                              f"Last failure: {_when(health.last_failure_at)}; it has succeeded again since "
                              f"({_when(health.last_success_at)}).  The runs that saw the failure stopped before "
                              "their alert stage, so this comes late, and only their last failure is known.\n"
                              "See `pricewatch status`.\n"))
    if ended:
        told.outage_started_at = told.reason = told.alerted_at = None
    if failing:
        if told.outage_started_at is None:
            told.outage_started_at, told.reason = health.last_failure_at or now, reason
        failures = health.consecutive_failures
        if told.alerted_at is None and settings.operator.recipients and _triggered(settings, reason, failures):
            queued += _mail(session, settings, kind="outage", now=now,
                            subject=f"pricewatch operator: {source} failing ({(reason or 'error').replace('_', ' ')}, "
                                    f"{failures} run{'s' if failures != 1 else ''} in a row)",
                            text=(f"Source {source} failed: {_failure(health)}\n\n"
                                  f"Failed runs in a row: {failures}, since {_when(told.outage_started_at)}.\n"
                                  f"Last success: {_when(health.last_success_at)}.\n"
                                  "No prices or events are derived from a failed run; the previous prices stay "
                                  "as they were.\nThis is the only alert for this outage; a note follows when "
                                  "the source recovers.  See `pricewatch status`.\n"))
            told.alerted_at, told.reason = now, reason
    told.seen_failure_at, told.seen_success_at = health.last_failure_at, health.last_success_at
    return queued


def queue_operator_alerts(session: Session, settings: AlertSettings, held: list[Observation], now: datetime,
                          sources: list[str]) -> int:
    """Queue the alerts due for the pages newly `held` and for the health of `sources` (those in the
    config: one removed long ago is no outage to report); return how many.  With alerts off, or
    no operator recipient, nobody is told but the rows move all the same: held pages and ended
    outages are past news by the time someone can be told; an outage still in progress is told then."""
    if not settings.enabled:  # take stock all the same, telling nobody
        settings = replace(settings, operator=replace(settings.operator, recipients=()))
    queued = 0
    if settings.operator.held:
        for observation in held:
            queued += _held_alert(session, settings, observation, now)
    told = {row.source_id: row for row in session.scalars(select(OperatorAlert))}
    for health in session.scalars(select(SourceHealth).where(SourceHealth.source_id.in_(sources))
                                  .order_by(SourceHealth.source_id)):
        if health.source_id not in told:
            told[health.source_id] = OperatorAlert(source_id=health.source_id)
            session.add(told[health.source_id])
        queued += _follow(session, settings, health, told[health.source_id], now)
    session.flush()
    return queued
