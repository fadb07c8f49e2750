"""The durable outbox: every alert is stored first, then delivered, exactly once where SMTP allows.

A message moves `pending` → `sending` → `sent`, or to `rejected` on a 5xx reply or an
envelope smtplib cannot write (a non-ASCII address queued before the config refused those),
so that one message that can never go does not hold back those queued after it.  The
outbox records `sending` in the same breath as it hands the server the message's final
dot (see pipeline.alerts.smtp), and `sent` when the server's 250 comes back:

- a crash or an outage at any point before the final dot leaves the message `pending`;
  the server never committed it, so the next flush sends it once: no duplicate;
- the one unknowable case is a kill, or a lost connection, between `sending` and the
  recorded reply.  The message is then left in `sending`, and the next flush sends it again,
  byte for byte, under the same Message-ID.  The worst case is therefore one extra copy per
  such interruption, with the same Message-ID, which receivers can recognise as a duplicate;
  a message is never lost and never sent under two ids.  (Killed before the dot went out, the
  first attempt sent nothing, but the next flush cannot tell: it reports the message among
  those sent again.)
- a Ctrl-C in that span does not interrupt it: it waits for the server's reply (at most the
  SMTP timeout) and its record, then takes effect.  A second Ctrl-C interrupts at once.

Only one process delivers at a time (a lock beside the database, as for sources), so a
message found in `sending` by the lock holder belongs to a delivery that died.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parseaddr
from typing import Iterator

from sqlalchemy import func, select, update

from db.models import OutboxMessage
from db.session import Database
from pipeline.alerts.config import AlertSettings
from pipeline.alerts.smtp import SMTPSession
from pipeline.errors import ConfigError, DeliveryUncertain, MessageDeferred, MessageRejected, SMTPUnavailable
from pipeline.locks import source_lock

log = logging.getLogger("pricewatch.alerts")

PENDING, SENDING, SENT, REJECTED = "pending", "sending", "sent", "rejected"
UNSENT = (PENDING, SENDING)
OUTBOX_LOCK = "alerts:outbox"


@dataclass
class FlushReport:
    sent: int = 0
    resent: int = 0  # of `sent`: messages an earlier delivery left `sending` (the server may have had them)
    rejected: int = 0  # by the server, or unsendable as stored: never retried
    pending: int = 0  # still waiting when the flush ended
    error: str | None = None  # why delivery stopped early (server unreachable, credentials missing)

    def line(self) -> str:
        parts = [f"{self.sent} sent"]
        if self.resent:
            parts.append(f"{self.resent} of them sent again under the same Message-ID after a delivery interrupted "
                         "at the hand-over (a first copy may have arrived)")
        if self.rejected:
            parts.append(f"{self.rejected} rejected (`pricewatch alerts pending` says why)")
        parts.append(f"{self.pending} pending")
        return ", ".join(parts)


def enqueue(session, *, kind: str, message_id: str, sender: str, recipient: str, subject: str, content: bytes,
            at: datetime) -> None:
    """Store a message for delivery, in the caller's transaction."""
    session.add(OutboxMessage(message_id=message_id, kind=kind, sender=sender, recipient=recipient, subject=subject,
                              content=content, status=PENDING, attempts=0, created_at=at))
    session.flush()


def unsent_count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status.in_(UNSENT))) or 0


def listing(db: Database, *, include_sent: bool = False) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if not include_sent:
        query = query.where(OutboxMessage.status != SENT)
    with db.session() as session:
        return list(session.scalars(query))


@contextmanager
def _outbox_lock(db: Database, wait_seconds: float) -> Iterator[bool]:
    deadline = time.monotonic() + wait_seconds
    while True:
        with source_lock(db, OUTBOX_LOCK) as held:
            if held or time.monotonic() >= deadline:
                yield held
                return
        time.sleep(0.1)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _update(db: Database, message_id: int, **values) -> None:
    with db.transaction() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


class _Delivery:
    """One message through one session, recording each step in its own committed transaction.

    From the hand-over to the recorded outcome a Ctrl-C (SIGINT) is held back: once the final dot
    is out, only the recorded reply keeps the next flush from sending the message again.  Python
    runs signal handlers in the main thread only; elsewhere (`serve`'s jobs) there is none to hold."""

    def __init__(self, db: Database, row: OutboxMessage) -> None:
        self.db, self.row = db, row
        self.handed_over = False
        self._sigint_handler = None  # the handler set aside while a Ctrl-C is held back
        self._sigint_came = False

    def __enter__(self) -> "_Delivery":
        return self

    def hand_over(self) -> None:
        if threading.current_thread() is threading.main_thread() and callable(signal.getsignal(signal.SIGINT)):
            self._sigint_handler = signal.signal(signal.SIGINT, self._hold_sigint)
        at = _now()
        _update(self.db, self.row.id, status=SENDING, handed_over_at=at, last_attempt_at=at,
                attempts=OutboxMessage.attempts + 1)
        self.handed_over = True

    def _hold_sigint(self, _signum, _frame) -> None:
        self._sigint_came = True
        signal.signal(signal.SIGINT, self._sigint_handler)  # a second Ctrl-C interrupts at once

    def __exit__(self, *exc) -> None:
        """The outcome is recorded, or the delivery failed: a Ctrl-C held back takes effect now."""
        handler, self._sigint_handler = self._sigint_handler, None
        if handler is not None:
            signal.signal(signal.SIGINT, handler)
            if self._sigint_came:
                handler(signal.SIGINT, None)

    def record(self, **values) -> None:
        if not self.handed_over:
            values.update(attempts=OutboxMessage.attempts + 1, last_attempt_at=_now())
        _update(self.db, self.row.id, **values)


def _deliver(db: Database, smtp: SMTPSession, row: OutboxMessage, report: FlushReport) -> None:
    interrupted = row.status == SENDING
    if interrupted:
        log.warning("message %s was being handed to the server when a delivery stopped before recording the reply; "
                    "sending it again under the same Message-ID", row.message_id)
    with _Delivery(db, row) as delivery:
        try:
            reply = smtp.send(parseaddr(row.sender)[1], row.recipient, row.content,
                              before_end_of_data=delivery.hand_over)
        except MessageRejected as error:
            delivery.record(status=REJECTED, last_error=str(error))
            report.rejected += 1
            return
        except MessageDeferred as error:
            delivery.record(status=PENDING, last_error=str(error))
            report.error = report.error or str(error)  # why mail is still pending, said once
            return
        except DeliveryUncertain as error:
            delivery.record(last_error=str(error))  # stays `sending`: the server may have it
            raise SMTPUnavailable(str(error)) from None
        except SMTPUnavailable as error:
            delivery.record(last_error=str(error))
            raise
        delivery.record(status=SENT, sent_at=_now(), server_reply=reply[:500], last_error=None)
        report.sent += 1
        report.resent += interrupted


def flush(db: Database, settings: AlertSettings, *, lock_wait_seconds: float = 10) -> FlushReport:
    """Deliver every unsent message, oldest first, over one SMTP session."""
    report = FlushReport()
    with _outbox_lock(db, lock_wait_seconds) as held:
        if not held:
            report.pending, report.error = unsent_count(db), "another process is delivering the outbox"
            return report
        with db.session() as session:
            waiting = list(session.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(UNSENT))
                                           .order_by(OutboxMessage.id)))
        tried: set[int] = set()
        if waiting:
            try:
                with SMTPSession(settings.smtp) as smtp:
                    for row in waiting:
                        tried.add(row.id)
                        _deliver(db, smtp, row, report)
            except (SMTPUnavailable, ConfigError) as error:
                report.error = str(error)
                with db.transaction() as session:
                    session.execute(update(OutboxMessage)
                                    .where(OutboxMessage.id.in_([r.id for r in waiting if r.id not in tried]))
                                    .values(attempts=OutboxMessage.attempts + 1, last_attempt_at=_now(),
                                            last_error=report.error))
        report.pending = unsent_count(db)
    return report
