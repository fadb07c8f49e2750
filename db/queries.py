"""The read side: prices in force at a date, models' history, source health and outages, export rows."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from db.models import Event, Fetch, Observation, PriceInterval, Snapshot, SourceHealth
from pipeline.errors import InputError
from pipeline.fx import ecb_rates
from pipeline.output import unit_label


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
            "currency": i.currency, "unit": unit_label(i.unit),
            "usd": self.usd, "eur": self.eur, "fx_date": self.fx_date, "list_price": i.list_price,
            "promo": i.promo, "market": i.market, "aggregator": i.aggregator,
            "superseded": self.superseded, "first_seen": i.first_seen, "last_seen": i.last_seen,
            "snapshot_id": i.snapshot_id,
        }


def _convert(interval: PriceInterval, at: datetime) -> tuple[Decimal | None, Decimal | None, str | None]:
    conversion = ecb_rates().convert(interval.price, interval.currency, at.date())
    return conversion.usd, conversion.eur, conversion.fx_date.isoformat() if conversion.fx_date else None


def require_known(session: Session, *, vendor: str | None = None, dimension: str | None = None) -> None:
    """A --vendor or --dimension the archive has never seen is a typo, not an empty answer
    (which would read as "no price" or "no change")."""
    for value, columns, what in ((vendor, (PriceInterval.vendor, PriceInterval.source_id), "vendor or source"),
                                 (dimension, (PriceInterval.dimension,), "dimension")):
        if value is None or session.scalar(select(PriceInterval.id).where(or_(*(c == value for c in columns)))
                                           .limit(1)) is not None:
            continue
        known = sorted({name for column in columns for name in session.scalars(select(column).distinct())})
        raise InputError(f"no price in the archive has the {what} {value!r} "
                         f"(known: {', '.join(known) if known else 'none yet'})")


# How an aggregator's price that names the provider serving it reads in its conditions_key
# (canonical JSON, pipeline.normalise.conditions_key): a host of open weights.
HOSTED_BY = '"provider":'


def intervals_in_force(session: Session, at: datetime, *, vendor: str | None = None,
                       dimension: str | None = None, canonical_models: Collection[str] | None = None,
                       hosts_only: bool = False) -> list[PriceInterval]:
    """Each source's prices in force at `at`: the interval whose observed span covers it, or the
    last one seen before it while the source has not yet been observed without it.  With
    `hosts_only`, only aggregators' prices that name the provider serving them."""
    latest_obs = (select(Observation.source_id, func.max(Observation.observed_at).label("last"))
                  .where(Observation.status == "ok", Observation.observed_at <= at)
                  .group_by(Observation.source_id).subquery())
    query = (select(PriceInterval).join(latest_obs, latest_obs.c.source_id == PriceInterval.source_id)
             .where(PriceInterval.first_seen <= at, PriceInterval.last_seen >= latest_obs.c.last))
    if vendor:
        query = query.where(or_(PriceInterval.vendor == vendor, PriceInterval.source_id == vendor))
    if dimension:
        query = query.where(PriceInterval.dimension == dimension)
    if canonical_models is not None:
        query = query.where(PriceInterval.canonical_model.in_(sorted(canonical_models)))
    if hosts_only:
        query = query.where(PriceInterval.aggregator.is_(True), PriceInterval.conditions_key.contains(HOSTED_BY))
    return list(session.scalars(query.order_by(PriceInterval.vendor, PriceInterval.canonical_model,
                                               PriceInterval.source_id, PriceInterval.dimension,
                                               PriceInterval.conditions_key)))


def prices_at(session: Session, at: datetime, **filters) -> list[PriceRow]:
    """The intervals in force at `at` (intervals_in_force, same filters), each in USD and EUR at
    the ECB rate of that day, an aggregator's marked superseded where a first-party source
    lists the same model."""
    rows = [PriceRow(interval, *_convert(interval, at)) for interval in intervals_in_force(session, at, **filters)]
    covered = {(r.interval.canonical_model, r.interval.dimension) for r in rows if not r.interval.aggregator}
    for row in rows:
        row.superseded = row.interval.aggregator and (row.interval.canonical_model, row.interval.dimension) in covered
    return rows


def history(session: Session, *models: str, vendor: str | None = None, dimension: str | None = None,
            since: datetime | None = None, until: datetime | None = None) -> list[PriceInterval]:
    """The intervals of the models named (as a source lists them, or by canonical id) that
    overlap [since, until]."""
    query = select(PriceInterval).where(or_(PriceInterval.model.in_(models), PriceInterval.canonical_model.in_(models)))
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


def interval_counts(session: Session, dimension: str) -> dict[tuple[str, str], int]:
    """How many price intervals each (source, model) has in `dimension`: how often it changed."""
    query = (select(PriceInterval.source_id, PriceInterval.model, func.count())
             .where(PriceInterval.dimension == dimension).group_by(PriceInterval.source_id, PriceInterval.model))
    return {(source_id, model): count for source_id, model, count in session.execute(query)}


def events(session: Session, *, since: datetime | None = None, until: datetime | None = None,
           vendor: str | None = None, kind: str | None = None,
           model: str | Iterable[str] | None = None) -> list[Event]:
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
        names = [model] if isinstance(model, str) else list(model)
        query = query.where(or_(Event.model.in_(names), Event.canonical_model.in_(names)))
    return list(session.scalars(query.order_by(Event.observed_at, Event.id)))


def source_status(session: Session) -> dict[str, SourceHealth]:
    return {h.source_id: h for h in session.scalars(select(SourceHealth))}


def awaiting_review(session: Session) -> dict[str, int]:
    """Per source, the observations the sanity gate holds back until released or rejected."""
    return dict(session.execute(select(Observation.source_id, func.count()).where(Observation.status == "quarantined")
                                .group_by(Observation.source_id)).all())


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


OK_OUTCOMES = ("ok", "not_modified")


def failed_runs(session: Session, source_ids: Iterable[str] | None = None) -> dict[str, list[datetime]]:
    """When each source's runs failed: a fetch whose every attempt failed, or a page that came
    but did not parse (logged as attempt 0).  A failed attempt that a retry of the same fetch
    recovered is not a failure; retries follow their attempt as attempt + 1."""
    query = select(Fetch.source_id, Fetch.url, Fetch.attempt, Fetch.outcome, Fetch.finished_at).order_by(Fetch.id)
    if source_ids is not None:
        query = query.where(Fetch.source_id.in_(list(source_ids)))
    failures: dict[str, list[datetime]] = {}
    open_chains: dict[tuple[str, str], Any] = {}

    def close(last) -> None:
        if last.outcome not in OK_OUTCOMES:
            failures.setdefault(last.source_id, []).append(last.finished_at)

    for row in session.execute(query):
        previous = open_chains.get((row.source_id, row.url))
        if previous is not None and not (row.attempt > 1 and row.attempt == previous.attempt + 1):
            close(previous)
        open_chains[(row.source_id, row.url)] = row
    for last in open_chains.values():
        close(last)
    return failures


def source_outages(session: Session, source_ids: Iterable[str] | None = None
                   ) -> dict[str, list[tuple[datetime, datetime | None]]]:
    """Spans in which a source was failing: from its first failed run after a success to its
    next successful observation (None: still failing).  Nothing is known of its prices there."""
    failures = failed_runs(session, source_ids)
    successes: dict[str, list[datetime]] = {}
    if failures:
        for source_id, observed_at in session.execute(
                select(Observation.source_id, Observation.observed_at)
                .where(Observation.status == "ok", Observation.source_id.in_(list(failures)))):
            successes.setdefault(source_id, []).append(observed_at)
    outages: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for source_id, failed_at in failures.items():
        # On a tie the failure sorts first, so a success at the same moment closes it at once.
        marks = sorted([(t, False) for t in failed_at] + [(t, True) for t in successes.get(source_id, [])])
        spans, start = [], None
        for moment, ok in marks:
            if ok and start is not None:
                if moment > start:
                    spans.append((start, moment))
                start = None
            elif not ok and start is None:
                start = moment
        if start is not None:
            spans.append((start, None))
        if spans:
            outages[source_id] = spans
    return outages


def export_rows(session: Session, *, since: datetime | None = None,
                until: datetime | None = None) -> list[dict[str, Any]]:
    """Every price interval overlapping [since, until], with where it came from: the archived
    snapshot (URL, sha256, when those bytes were first seen, and whether pricewatch fetched
    them or a user imported them), the parser version, and the ECB rate (currency units per
    EUR, USD per EUR) and its date used for USD and EUR."""
    fetched = set(session.scalars(select(Fetch.snapshot_id).distinct()  # one pass: fetches has no index on it
                                  .where(Fetch.snapshot_id.is_not(None), Fetch.outcome.in_(OK_OUTCOMES))))
    query = (select(PriceInterval, Snapshot.url, Snapshot.sha256, Snapshot.first_seen_at)
             .join(Snapshot, Snapshot.id == PriceInterval.snapshot_id))
    if since:
        query = query.where(PriceInterval.last_seen >= since)
    if until:
        query = query.where(PriceInterval.first_seen <= until)
    query = query.order_by(PriceInterval.source_id, PriceInterval.model, PriceInterval.dimension,
                           PriceInterval.currency, PriceInterval.conditions_key, PriceInterval.first_seen)
    rows = []
    for interval, url, sha256, fetched_at in session.execute(query):
        rows.append({
            "source": interval.source_id, "vendor": interval.vendor, "market": interval.market,
            "aggregator": interval.aggregator, "model": interval.model, "canonical_model": interval.canonical_model,
            "dimension": interval.dimension, "conditions": json.loads(interval.conditions),
            "currency": interval.currency, "unit": unit_label(interval.unit),
            "price": interval.price, "list_price": interval.list_price, "promo": interval.promo,
            "usd": interval.usd, "eur": interval.eur, "fx_date": interval.fx_date,
            "fx_rate_per_eur": interval.eur_per_unit, "usd_per_eur": interval.usd_per_eur,
            "first_seen": interval.first_seen, "last_seen": interval.last_seen,
            "snapshot_id": interval.snapshot_id, "snapshot_url": url, "snapshot_sha256": sha256,
            "fetched_at": fetched_at, "provenance": "fetched" if interval.snapshot_id in fetched else "imported",
            "parser_version": interval.parser_version,
            "first_observation_id": interval.first_observation_id,
            "last_observation_id": interval.last_observation_id,
        })
    return rows
