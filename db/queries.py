"""The read side: prices in force at a date, one model's history, source health."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from db.models import Event, Fetch, Observation, PriceInterval, Snapshot, SourceHealth
from pipeline.fx import ecb_rates


@dataclass
class PriceRow:
    interval: PriceInterval
    usd: Decimal | None
    eur: Decimal | None
    fx_date: str | None
    superseded: bool = False  # an aggregator's price for a model a first-party source covers

    def as_dict(self) -> dict[str, Any]:
        i = self.interval
        return {
            "source": i.source_id, "vendor": i.vendor, "model": i.model, "canonical_model": i.canonical_model,
            "dimension": i.dimension, "conditions": json.loads(i.conditions), "price": i.price,
            "currency": i.currency, "unit": "1M tokens" if i.unit == "token" else i.unit,
            "usd": self.usd, "eur": self.eur, "fx_date": self.fx_date, "list_price": i.list_price,
            "promo": i.promo, "market": i.market, "aggregator": i.aggregator,
            "superseded": self.superseded, "first_seen": i.first_seen, "last_seen": i.last_seen,
            "snapshot_id": i.snapshot_id,
        }


def _convert(interval: PriceInterval, at: datetime) -> tuple[Decimal | None, Decimal | None, str | None]:
    conversion = ecb_rates().convert(interval.price, interval.currency, at.date())
    return conversion.usd, conversion.eur, conversion.fx_date.isoformat() if conversion.fx_date else None


def prices_at(session: Session, at: datetime, *, vendor: str | None = None,
              dimension: str | None = None) -> list[PriceRow]:
    """Each source's prices in force at `at`: the interval whose observed span covers it, or the
    last one seen before it while the source has not yet been observed without it."""
    latest_obs = (select(Observation.source_id, func.max(Observation.observed_at).label("last"))
                  .where(Observation.status == "ok", Observation.observed_at <= at)
                  .group_by(Observation.source_id).subquery())
    query = (select(PriceInterval).join(latest_obs, latest_obs.c.source_id == PriceInterval.source_id)
             .where(PriceInterval.first_seen <= at, PriceInterval.last_seen >= latest_obs.c.last))
    if vendor:
        query = query.where(or_(PriceInterval.vendor == vendor, PriceInterval.source_id == vendor))
    if dimension:
        query = query.where(PriceInterval.dimension == dimension)
    rows = []
    for interval in session.scalars(query.order_by(PriceInterval.vendor, PriceInterval.canonical_model,
                                                   PriceInterval.source_id, PriceInterval.dimension,
                                                   PriceInterval.conditions_key)):
        rows.append(PriceRow(interval, *_convert(interval, at)))
    covered = {(r.interval.canonical_model, r.interval.dimension) for r in rows if not r.interval.aggregator}
    for row in rows:
        row.superseded = row.interval.aggregator and (row.interval.canonical_model, row.interval.dimension) in covered
    return rows


def history(session: Session, model: str, *, vendor: str | None = None, dimension: str | None = None,
            since: datetime | None = None, until: datetime | None = None) -> list[PriceInterval]:
    query = select(PriceInterval).where(or_(PriceInterval.model == model, PriceInterval.canonical_model == model))
    if vendor:
        query = query.where(or_(PriceInterval.vendor == vendor, PriceInterval.source_id == vendor))
    if dimension:
        query = query.where(PriceInterval.dimension == dimension)
    if since:
        query = query.where(PriceInterval.last_seen >= since)
    if until:
        query = query.where(PriceInterval.first_seen <= until)
    return list(session.scalars(query.order_by(PriceInterval.source_id, PriceInterval.dimension,
                                               PriceInterval.conditions_key, PriceInterval.first_seen)))


def events(session: Session, *, since: datetime | None = None, until: datetime | None = None,
           vendor: str | None = None, kind: str | None = None, model: str | None = None) -> list[Event]:
    query = select(Event)
    if since:
        query = query.where(Event.observed_at >= since)
    if until:
        query = query.where(Event.observed_at <= until)
    if vendor:
        query = query.where(or_(Event.vendor == vendor, Event.source_id == vendor))
    if kind:
        query = query.where(Event.kind == kind)
    if model:
        query = query.where(or_(Event.model == model, Event.canonical_model == model))
    return list(session.scalars(query.order_by(Event.observed_at, Event.id)))


def source_status(session: Session) -> dict[str, SourceHealth]:
    return {h.source_id: h for h in session.scalars(select(SourceHealth))}


def table_counts(session: Session) -> dict[str, int]:
    from db.models import Base

    return {name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in sorted(Base.metadata.tables.items())}


def snapshot_bytes_total(session: Session) -> tuple[int, int, int]:
    count, raw, stored = session.execute(select(func.count(Snapshot.id), func.coalesce(func.sum(Snapshot.size), 0),
                                                func.coalesce(func.sum(Snapshot.compressed_size), 0))).one()
    return count, raw, stored


def last_fetch(session: Session, source_id: str) -> Fetch | None:
    return session.scalars(select(Fetch).where(Fetch.source_id == source_id).order_by(Fetch.id.desc()).limit(1)).first()
