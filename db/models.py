"""Tables of the archive.

Raw pages (`snapshots`) are stored once per distinct content.  Each successful parse of a
source at a moment is an `observation`, pointing at the `quote_set` it produced; identical
price lists share one quote set, so storage grows with changes, not with runs.  The
`price_intervals` and `events` are materialised from the ordered observations of a source,
which is what lets a backfilled snapshot splice into history and a re-import change nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from pipeline.output import decimal_text


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive; times must be UTC-aware")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class DecimalText(TypeDecorator):
    """Exact decimals stored as text: SQLite's NUMERIC would pass through float."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        return decimal_text(value)

    def process_result_value(self, value: str | None, dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, Decimal: DecimalText, dict[str, Any]: JSON}


class Snapshot(Base):
    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    compressed_size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    first_seen_at: Mapped[datetime]


class Fetch(Base):
    """One attempt to get one page: the log of everything the fetcher did."""

    __tablename__ = "fetches"
    __table_args__ = (Index("ix_fetch_url_outcome", "url", "outcome", "id"),)  # pipeline.run.last_good_fetches

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(40))
    http_status: Mapped[int | None]
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)


class QuoteSet(Base):
    """A distinct parsed price list; observations with the same prices share it."""

    __tablename__ = "quote_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)


class PricePoint:
    """One price point's columns, as a quote set row and as a price interval both hold them:
    `conditions_key` identifies it, `conditions` describes it in full."""

    model: Mapped[str] = mapped_column(String(300))
    dimension: Mapped[str] = mapped_column(String(80))
    conditions_key: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    unit: Mapped[str] = mapped_column(String(40))
    price: Mapped[Decimal]
    list_price: Mapped[Decimal | None]
    promo: Mapped[bool] = mapped_column(Boolean, default=False)


class QuoteRow(PricePoint, Base):
    __tablename__ = "quote_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_set_id: Mapped[int] = mapped_column(ForeignKey("quote_sets.id", ondelete="CASCADE"), index=True)
    snapshot_index: Mapped[int] = mapped_column(Integer, default=0)


class Observation(Base):
    """A source parsed successfully at a moment (a live run, an import, or a 304)."""

    __tablename__ = "observations"
    __table_args__ = (UniqueConstraint("source_id", "observed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(100))
    observed_at: Mapped[datetime]
    content_digest: Mapped[str] = mapped_column(String(64))
    parser: Mapped[str] = mapped_column(String(100))
    parser_version: Mapped[int]
    quote_set_id: Mapped[int] = mapped_column(ForeignKey("quote_sets.id"))
    status: Mapped[str] = mapped_column(String(20), default="ok")
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    pages: Mapped[list["ObservationPage"]] = relationship(
        cascade="all, delete-orphan", order_by="ObservationPage.position"
    )


class ObservationPage(Base):
    __tablename__ = "observation_pages"

    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"))


class PriceInterval(PricePoint, Base):
    """A price in force from `first_seen` to `last_seen` (both observed), for one key."""

    __tablename__ = "price_intervals"
    __table_args__ = (
        Index("ix_interval_key", "source_id", "model", "dimension", "currency", "conditions_key", "first_seen"),
        Index("ix_interval_canonical", "canonical_model", "first_seen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(100))
    vendor: Mapped[str] = mapped_column(String(100))
    market: Mapped[str] = mapped_column(String(10))
    aggregator: Mapped[bool] = mapped_column(Boolean)
    canonical_model: Mapped[str] = mapped_column(String(300))
    usd: Mapped[Decimal | None]
    eur: Mapped[Decimal | None]
    fx_date: Mapped[str | None] = mapped_column(String(10))
    eur_per_unit: Mapped[Decimal | None]
    usd_per_eur: Mapped[Decimal | None]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    first_observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"))
    last_observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"))
    parser_version: Mapped[int]


class Event(Base):
    """A change between two observations of a source.  Its id is never handed out twice (on
    SQLite too, by AUTOINCREMENT): the alert stage's watermark takes a new id for a new event."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source_id", "model", "dimension", "currency", "conditions_key", "kind", "observed_at"),
        Index("ix_event_observed", "observed_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(100))
    vendor: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(300))
    canonical_model: Mapped[str] = mapped_column(String(300))
    dimension: Mapped[str] = mapped_column(String(80))
    conditions_key: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    old_price: Mapped[Decimal | None]
    new_price: Mapped[Decimal | None]
    old_usd: Mapped[Decimal | None]
    new_usd: Mapped[Decimal | None]
    change_pct: Mapped[Decimal | None]
    observed_at: Mapped[datetime]
    previous_observed_at: Mapped[datetime | None]
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"))
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    via_aggregator: Mapped[bool] = mapped_column(Boolean, default=False)
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    verdict: Mapped[str | None] = mapped_column(String(30))
    evidence: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class RobotsFile(Base):
    """An origin's robots.txt as last fetched, so that runs started by cron ask each host for it
    once a day (RFC 9309 allows a cached copy that long) rather than once a run."""

    __tablename__ = "robots_files"

    origin: Mapped[str] = mapped_column(String(300), primary_key=True)
    fetched_at: Mapped[datetime]
    body: Mapped[str | None] = mapped_column(Text)  # None: the origin has no robots.txt (a 4xx), so no rules


class SourceHealth(Base):
    """Per-source run counters, so an outage is reported once and its end noticed."""

    __tablename__ = "source_health"

    source_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_failure_reason: Mapped[str | None] = mapped_column(String(40))
    last_failure_message: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMessage(Base):
    """A mail stored before any attempt to send it, so that an SMTP outage loses nothing.

    `content` is the whole RFC 5322 message, rendered once: every attempt sends the same
    bytes under the same `message_id`, the idempotency key.  `status` is `pending`, then
    `sending` from the moment the end of the message is handed to the server (from then on
    the server may have it), then `sent` once the server said so; `rejected` when the
    server refused it for good (a 5xx reply), kept with the reply for the operator.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # digest, operator
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    server_reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    handed_over_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class AlertLog(Base):
    """Which recipient was told of which event, and in which message: never the same event twice."""

    __tablename__ = "alert_log"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("outbox.message_id"))
    created_at: Mapped[datetime]


class OperatorAlert(Base):
    """What the alert stage has made of one source's health (source_health): the last failure and
    the last success it has taken into account, and the outage in progress as it saw it (all
    None when there is none).  Read against source_health, it tells the stage what changed since
    it last looked, even when the runs that changed it died before their own alert stage."""

    __tablename__ = "operator_alerts"

    source_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_failure_at: Mapped[datetime | None]
    seen_success_at: Mapped[datetime | None]
    outage_started_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(40))
    alerted_at: Mapped[datetime | None]


class AlertWatermark(Base):
    """The newest event and the newest observation the alert stage has looked at (one row, made
    by migration 0007).  What a run stored but died before alerting, the next stage finds above
    them; alert_log keeps an event from being mailed twice to a recipient."""

    __tablename__ = "alert_watermark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer)
    last_observation_id: Mapped[int] = mapped_column(Integer)
