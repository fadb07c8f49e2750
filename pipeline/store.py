"""Stage 5, store: an observation, its quote set, and the intervals and events derived from them.

One call stores one source's observation and re-derives that source's intervals and events
(pipeline.diff), applying only the difference to the tables, and weighs again the stored cuts,
of any source, whose evidence that difference changed.  A run that repeats the latest
observation (the same pages) takes a shortcut with the same outcome: store_repeat moves
`last_seen` and adds no price row.  A sanity gate holds back (quarantines) an observation
whose prices jump by more than the configured factor, or are negative, or whose list shrank
by more than the configured share at once, until released.
"""

from __future__ import annotations

import functools
import hashlib
import json
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Row, Select, Update, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from db.models import Event, Observation, ObservationPage, PriceInterval, QuoteRow, QuoteSet
from db.queries import HOSTED_BY
from pipeline.archive import Archived
from pipeline.config import Config, Source
from pipeline.diff import Change, Interval, Point, Sighting, names_another_model, walk
from pipeline.errors import InputError
from pipeline.evidence import weigh_durability_again, weigh_new_cuts
from pipeline.normalise import Priced, convert


def _set_digest(priced: list[Priced]) -> str:
    rows = sorted(
        [p.model, p.dimension, p.currency, p.conditions_text, p.unit, str(p.price),
         None if p.list_price is None else str(p.list_price), p.promo, p.page]
        for p in priced
    )
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def content_digest(page_digests: list[str]) -> str:
    """What a run read, as one digest of its pages' sha256 digests in order."""
    return hashlib.sha256("\n".join(page_digests).encode()).hexdigest()


# The statements each stored observation runs are built once, here and below: building one
# costs several times what running it does.  They name tables, not ORM classes: an ORM-enabled
# statement costs twice as much to execute, and none of these needs ORM objects back.
_OBSERVATIONS, _PAGES, _SETS = Observation.__table__, ObservationPage.__table__, QuoteSet.__table__
_ROWS, _INTERVALS, _EVENTS = QuoteRow.__table__, PriceInterval.__table__, Event.__table__
_QUOTE_SET_ID = select(_SETS.c.id).where(_SETS.c.digest == bindparam("digest"))
_INSERT_QUOTE_SET = insert(_SETS).returning(_SETS.c.id)
_INSERT_QUOTE_ROWS = insert(_ROWS)


def quote_set(session: Session, priced: list[Priced]) -> int:
    """The id of the quote set holding exactly these prices, created on first sight."""
    digest = _set_digest(priced)
    existing = session.scalar(_QUOTE_SET_ID, {"digest": digest})
    if existing is not None:
        return existing
    quote_set_id = session.execute(_INSERT_QUOTE_SET, {"digest": digest}).scalar_one()
    # What _set_rows would read back right away (content-addressed, so right even if this rolls back).
    _SET_ROWS.put(digest, {p.key: (p.price, p.list_price, p.promo, p.unit, p.page, p.conditions_text) for p in priced})
    if priced:
        session.execute(_INSERT_QUOTE_ROWS, [
            dict(quote_set_id=quote_set_id, model=p.model, dimension=p.dimension, conditions_key=p.conditions_key,
                 conditions=p.conditions_text, currency=p.currency, unit=p.unit, price=p.price,
                 list_price=p.list_price, promo=p.promo, snapshot_index=p.page)
            for p in priced
        ])
    return quote_set_id


_OBSERVATION_AT = (select(_OBSERVATIONS.c.id, _OBSERVATIONS.c.content_digest, _OBSERVATIONS.c.quote_set_id,
                          _OBSERVATIONS.c.status)
                   .where(_OBSERVATIONS.c.source_id == bindparam("source"),
                          _OBSERVATIONS.c.observed_at == bindparam("at")))
_REPARSED = (update(_OBSERVATIONS).where(_OBSERVATIONS.c.id == bindparam("observation"))
             .values(quote_set_id=bindparam("set"), parser=bindparam("by"), parser_version=bindparam("version")))
_INSERT_OBSERVATION = insert(_OBSERVATIONS).returning(_OBSERVATIONS.c.id)
_INSERT_PAGES = insert(_PAGES)


def add_observation(session: Session, source: Source, *, observed_at: datetime, content_digest: str, parser: str,
                    parser_version: int, quote_set_id: int, snapshot_ids: list[int], status: str = "ok",
                    status_reason: str | None = None) -> int:
    """Insert an observation of `source` and its pages (snapshots in page order); return its id."""
    observation_id = session.execute(_INSERT_OBSERVATION, dict(
        source_id=source.id, observed_at=observed_at, content_digest=content_digest, parser=parser,
        parser_version=parser_version, quote_set_id=quote_set_id, status=status, status_reason=status_reason,
        created_at=datetime.now(timezone.utc))).scalar_one()
    session.execute(_INSERT_PAGES, [dict(observation_id=observation_id, position=position, snapshot_id=snapshot_id)
                                    for position, snapshot_id in enumerate(snapshot_ids)])
    return observation_id


def store_observation(session: Session, config: Config, source: Source, *, observed_at: datetime,
                      snapshots: list[Archived], parser: str, parser_version: int,
                      priced: list[Priced], gate: bool = False) -> tuple[str, list[Event]]:
    """Record what `source` published at `observed_at`; return the observation's status
    (`ok`, or `quarantined` by the sanity gate) and the new events.

    With `gate` (live runs), an observation failing the sanity check is quarantined instead.
    Imports are deliberate backfills of archived pages and are not gated, so that the same
    files imported in any order give the same history."""
    digest = content_digest([s.sha256 for s in snapshots])
    quote_set_id = quote_set(session, priced)
    observation = session.execute(_OBSERVATION_AT, {"source": source.id, "at": observed_at}).first()
    if observation is not None:
        if observation.content_digest != digest:
            raise InputError(f"{source.id} already has an observation at {observed_at.isoformat()} "
                             "with different content; refusing to overwrite it")
        if observation.quote_set_id == quote_set_id:
            return observation.status, []
        # The same bytes, re-read by a newer parser.
        session.execute(_REPARSED, {"observation": observation.id, "set": quote_set_id, "by": parser,
                                    "version": parser_version})
        return observation.status, materialise(session, config, source)
    reason = gate and sanity_check(session, source, observed_at, priced, config.diff.quarantine_factor,
                                   config.diff.quarantine_vanished)
    status = "quarantined" if reason else "ok"
    add_observation(session, source, observed_at=observed_at, content_digest=digest, parser=parser,
                    parser_version=parser_version, quote_set_id=quote_set_id, status=status,
                    status_reason=reason or None, snapshot_ids=[s.id for s in snapshots])
    return status, (materialise(session, config, source, added=observed_at) if status == "ok" else [])


# What a live run may repeat: an accepted observation, or one held for review (or rejected), which
# the same pages then stand for again instead of being queued for review once more.
REPEATABLE = ("ok", "quarantined", "rejected")


def repeated_observation(session: Session, source: Source, *, digest: str, parser_version: int,
                         observed_at: datetime, live: bool) -> Row | None:
    """The source's latest observation when a run at `observed_at` that read pages of `digest`
    merely repeats it, else None (the run then takes the full path, store_observation).

    Most runs are repeats.  Re-deriving history for one would only move `last_seen` on the
    open intervals (store_repeat does that directly), as long as nothing is pending that one
    more run could turn into an event: a model absent from the latest list and not yet counted
    as withdrawn.  A change of `[diff] withdrawn_after_runs` therefore takes effect at the next
    run that is not a repeat.

    For a live run, the same pages as a latest observation held for review (`quarantined`, or
    `rejected`) are that observation again, returned too (its status says so): the run then
    neither queues the page for review a second time nor publishes it.  An import is not
    gated, so it takes the full path whatever the latest observation's status."""
    latest = session.execute(_LATEST_OBSERVATION, {"source_id": source.id}).first()
    if (latest is None or latest.status not in (REPEATABLE if live else ("ok",))
            or latest.content_digest != digest or latest.parser_version != parser_version
            or latest.observed_at >= observed_at or (latest.status == "ok" and latest.pending_absence)):
        return None
    return latest


def _latest_observation() -> Select:
    """A source's latest observation, whether a model is absent from it and pending withdrawal,
    and its number of prices: one statement, built once (building it cost as much as running it)."""
    obs, rows, intervals, events = _OBSERVATIONS, _ROWS, _INTERVALS, _EVENTS
    source_id = bindparam("source_id")
    withdrawn_since = select(events.c.id).where(
        events.c.source_id == source_id, events.c.kind == "withdrawn", events.c.model == intervals.c.model,
        events.c.observed_at > intervals.c.last_seen).exists()
    listed = select(rows.c.model).where(rows.c.quote_set_id == obs.c.quote_set_id).correlate(obs)
    pending_absence = select(intervals.c.id).where(
        intervals.c.source_id == source_id, intervals.c.last_observation_id != obs.c.id,
        intervals.c.model.not_in(listed), ~withdrawn_since).correlate(obs).exists()
    prices = select(func.count()).select_from(rows).where(rows.c.quote_set_id == obs.c.quote_set_id)
    return (select(obs.c.id, obs.c.observed_at, obs.c.content_digest, obs.c.parser_version, obs.c.status,
                   obs.c.quote_set_id, pending_absence.label("pending_absence"),
                   prices.scalar_subquery().label("prices"))
            .where(obs.c.source_id == source_id).order_by(obs.c.observed_at.desc()).limit(1))


_LATEST_OBSERVATION = _latest_observation()


_MOVE_LAST_SEEN = (update(_INTERVALS)
                   .where(_INTERVALS.c.source_id == bindparam("source"),
                          _INTERVALS.c.last_observation_id == bindparam("latest"))
                   .values(last_seen=bindparam("seen"), last_observation_id=bindparam("observation")))
# The source's cuts whose price, still in force, has now held `held_days` (it had not at the last sighting).
_CUTS_NOW_HELD = (select(_EVENTS.c.id).join(_INTERVALS, and_(
    _INTERVALS.c.source_id == _EVENTS.c.source_id, _INTERVALS.c.model == _EVENTS.c.model,
    _INTERVALS.c.dimension == _EVENTS.c.dimension, _INTERVALS.c.currency == _EVENTS.c.currency,
    _INTERVALS.c.conditions_key == _EVENTS.c.conditions_key,
    _INTERVALS.c.first_observation_id == _EVENTS.c.observation_id))
    .where(_EVENTS.c.source_id == bindparam("source"), _EVENTS.c.kind == "cut",
           _INTERVALS.c.last_observation_id == bindparam("observation"),
           _INTERVALS.c.first_seen > bindparam("not_held_before"), _INTERVALS.c.first_seen <= bindparam("held_by")))


def store_repeat(session: Session, config: Config, source: Source, latest: Row, *, observed_at: datetime,
                 snapshot_ids: list[int], parser: str) -> int:
    """Record a repeat of `latest` (see repeated_observation): one observation sharing its
    quote set, and `last_seen` moved on its open intervals; a cut whose price has now held
    `held_days` is weighed again (its durability now points to advantage).  Returns the number
    of prices."""
    observation_id = add_observation(session, source, observed_at=observed_at, content_digest=latest.content_digest,
                                     parser=parser, parser_version=latest.parser_version,
                                     quote_set_id=latest.quote_set_id, snapshot_ids=snapshot_ids)
    session.execute(_MOVE_LAST_SEEN, dict(source=source.id, latest=latest.id, seen=observed_at,
                                          observation=observation_id))
    held = timedelta(days=config.analysis.durability.held_days)
    weigh_durability_again(session, config, list(session.scalars(_CUTS_NOW_HELD, dict(
        source=source.id, observation=observation_id, not_held_before=latest.observed_at - held,
        held_by=observed_at - held))))
    return latest.prices


# Fewer prices than this before, and a shrinking share says little (two of five is a model retired).
SHRINK_MIN_POINTS = 10


def sanity_check(session: Session, source: Source, observed_at: datetime, priced: list[Priced],
                 factor: float, vanished_share: float) -> str | None:
    """Why this observation must wait for review, or None: negative prices, jumps above `factor`,
    or a list that shrank by more than `vanished_share` at once, which is how a page that
    half-parses looks (a vendor retiring that many prices at once is released by hand; one
    replacing its models by new ones does not shrink).  A moving alias whose page names another
    model behind it than before may jump: that is another model's price, not a slip."""
    for p in priced:
        if p.price < 0:
            return f"{p.model} {p.dimension}: negative price {p.price}"
    before = _points_before(session, source.id, observed_at)
    if len(before) >= SHRINK_MIN_POINTS and len(priced) < (1 - vanished_share) * len(before):
        gone = sorted(before.keys() - {p.key for p in priced})
        named = ", ".join(f"{model} {dimension}" for model, dimension, _, _ in gone[:5])
        more = f", +{len(gone) - 5} more" if len(gone) > 5 else ""
        return (f"the list shrank from {len(before)} to {len(priced)} prices at once ({named}{more} gone): "
                "a page that stopped parsing in part?")
    limit = Decimal(str(factor))
    jumps = []
    for p in priced:
        old = before.get(p.key)
        if old is None or not old.price or not p.price or names_another_model(p.model, old.conditions,
                                                                              p.conditions_text):
            continue  # a moving alias that now names another model: no slip, another model's price
        ratio = p.price / old.price
        if ratio > limit or ratio < 1 / limit:
            jumps.append(f"{p.model} {p.dimension} {old.price}→{p.price} {p.currency} (×{ratio:.4g})")
    if jumps:
        return f"price moved more than {factor:g}x in one step: " + "; ".join(jumps[:5]) + (
            f" (+{len(jumps) - 5} more)" if len(jumps) > 5 else "")
    return None


_OBSERVATION_BEFORE = (select(_OBSERVATIONS.c.id, _SETS.c.digest, _OBSERVATIONS.c.quote_set_id)
                       .join(_SETS, _SETS.c.id == _OBSERVATIONS.c.quote_set_id)
                       .where(_OBSERVATIONS.c.source_id == bindparam("source"), _OBSERVATIONS.c.status == "ok",
                              _OBSERVATIONS.c.observed_at < bindparam("at"))
                       .order_by(_OBSERVATIONS.c.observed_at.desc()).limit(1))
_PAGES_OF = (select(_PAGES.c.snapshot_id).where(_PAGES.c.observation_id == bindparam("observation"))
             .order_by(_PAGES.c.position))


def _points_before(session: Session, source_id: str, at: datetime) -> dict[tuple, Point]:
    previous = session.execute(_OBSERVATION_BEFORE, {"source": source_id, "at": at}).first()
    if previous is None:
        return {}
    pages = tuple(session.scalars(_PAGES_OF, {"observation": previous.id}))
    return _points(session, previous.digest, previous.quote_set_id, pages)


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


# Quote sets and the points built from them never change once written, so both are cached by
# content (the set's digest, plus the pages' snapshot ids for points).  Identical observations
# then share one points dict, which lets the diff walk skip them in O(1).
_SET_ROWS = _LRU(4096)
_POINTS = _LRU(4096)


_SET_COLUMNS = ("model", "dimension", "currency", "conditions_key", "price", "list_price", "promo", "unit",
                "snapshot_index", "conditions")
_ROWS_OF_SETS = (select(_ROWS.c.quote_set_id, *(_ROWS.c[name] for name in _SET_COLUMNS))
                 .where(_ROWS.c.quote_set_id.in_(bindparam("sets", expanding=True))))


def _set_rows(session: Session, digest: str, quote_set_id: int) -> dict[tuple, tuple]:
    rows = _SET_ROWS.get(digest)
    if rows is None:
        _load_sets(session, {quote_set_id: digest})
        rows = _SET_ROWS.get(digest)
    return rows


def _load_sets(session: Session, digests: dict[int, str]) -> None:
    """Read the rows of these quote sets (id -> digest) into the cache, a few hundred sets per
    query: a source's history in a fresh process holds hundreds of distinct sets."""
    ids = sorted(digests)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found: dict[int, dict[tuple, tuple]] = {quote_set_id: {} for quote_set_id in chunk}
        for r in session.execute(_ROWS_OF_SETS, {"sets": chunk}):
            found[r.quote_set_id][(r.model, r.dimension, r.currency, r.conditions_key)] = (
                r.price, r.list_price, r.promo, r.unit, r.snapshot_index, r.conditions)
        for quote_set_id, rows in found.items():
            _SET_ROWS.put(digests[quote_set_id], rows)


def _points(session: Session, digest: str, quote_set_id: int, pages: tuple[int, ...]) -> dict[tuple, Point]:
    points = _POINTS.get((digest, pages))
    if points is None:
        points = {
            key: Point(price, list_price, promo, unit, pages[index] if index < len(pages) else pages[0], conditions)
            for key, (price, list_price, promo, unit, index, conditions)
            in _set_rows(session, digest, quote_set_id).items()
        }
        _POINTS.put((digest, pages), points)
    return points


_SIGHTINGS = (select(_OBSERVATIONS.c.id, _OBSERVATIONS.c.observed_at, _OBSERVATIONS.c.content_digest,
                     _OBSERVATIONS.c.parser_version, _OBSERVATIONS.c.quote_set_id, _SETS.c.digest)
              .join(_SETS, _SETS.c.id == _OBSERVATIONS.c.quote_set_id)
              .where(_OBSERVATIONS.c.source_id == bindparam("source"), _OBSERVATIONS.c.status == "ok")
              .order_by(_OBSERVATIONS.c.observed_at))
_SIGHTED_PAGES = (select(_PAGES.c.observation_id, _PAGES.c.snapshot_id)
                  .join(_OBSERVATIONS, _OBSERVATIONS.c.id == _PAGES.c.observation_id)
                  .where(_OBSERVATIONS.c.source_id == bindparam("source"), _OBSERVATIONS.c.status == "ok")
                  .order_by(_PAGES.c.observation_id, _PAGES.c.position))


def sightings(session: Session, source_id: str) -> list[Sighting]:
    rows = session.execute(_SIGHTINGS, {"source": source_id}).all()
    missing = {r.quote_set_id: r.digest for r in rows if r.digest not in _SET_ROWS}
    if len(missing) <= _SET_ROWS.size:  # more would evict each other before use: read them one by one
        _load_sets(session, missing)
    pages: dict[int, list[int]] = {}
    for obs_id, snapshot_id in session.execute(_SIGHTED_PAGES, {"source": source_id}):
        pages.setdefault(obs_id, []).append(snapshot_id)
    return [Sighting(r.id, r.observed_at, r.content_digest, r.parser_version,
                     _points(session, r.digest, r.quote_set_id, tuple(pages[r.id])))
            for r in rows]


def materialise(session: Session, config: Config, source: Source, *, added: datetime | None = None) -> list[Event]:
    """Re-derive the source's intervals and events; write only what differs; weigh again the
    stored cuts whose evidence that changed (_cuts_weighed_on; _cuts_on the intervals _Touched
    names, only their durability for those whose length or end moved); return the new events.
    `added`: the moment of the observation this store added to the source's accepted ones."""
    seen = sightings(session, source.id)
    intervals, changes = walk(seen, withdrawn_after=config.diff.withdrawn_after_runs)
    touched = _apply_intervals(session, config, source, intervals, [s.observed_at for s in seen], added)
    created, changed_cuts = _apply_events(session, config, source, changes)
    new = {e.id for e in created}  # the callers weigh these
    again = ({e.id for e in changed_cuts} | _cuts_weighed_on(session, config, source, touched.spans)
             | _cuts_on(session, source, touched.reread)) - new
    weigh_new_cuts(session, config, sorted(again))
    weigh_durability_again(session, config, sorted(_cuts_on(session, source, touched.durability) - again - new))
    return created


@dataclass
class _Touched:
    """What a re-derivation changed that stored verdicts had weighed.

    `spans`: (canonical model, dimension, from, until or None) over which the source's price in
    force, as evidence.intervals_in_force reads it, is not what it was, for a source whose
    prices other sources' cuts are weighed on (_read_by_others): the other list of a home/export
    pair, or an aggregator's prices that name the provider serving them.
    `durability`: the intervals (key, first observation id) on which a cut's durability reads
    otherwise now: their length crossed `held_days`, the observation that no longer showed them
    is another (or there is one now, or none), or, ended, their last sighting moved.  (An open
    interval growing longer is not one: its cut's evidence keeps "held N days so far".)
    `reread`: the intervals whose price point itself changed in place (a newer parser reads a
    promotion, a list price, another unit): every test of a cut on them reads otherwise."""

    spans: list[tuple[str, str, datetime, datetime | None]] = field(default_factory=list)
    durability: set[tuple] = field(default_factory=set)
    reread: set[tuple] = field(default_factory=set)


_INTERVALS_OF = select(
    _INTERVALS.c.id, _INTERVALS.c.model, _INTERVALS.c.dimension, _INTERVALS.c.currency, _INTERVALS.c.conditions_key,
    _INTERVALS.c.first_observation_id, _INTERVALS.c.last_observation_id, _INTERVALS.c.price, _INTERVALS.c.list_price,
    _INTERVALS.c.promo, _INTERVALS.c.unit, _INTERVALS.c.conditions, _INTERVALS.c.first_seen,
    _INTERVALS.c.last_seen).where(_INTERVALS.c.source_id == bindparam("source"))
_INSERT_INTERVALS = insert(_INTERVALS)


def _apply_intervals(session: Session, config: Config, source: Source, intervals: list[Interval],
                     observed: list[datetime], added: datetime | None) -> _Touched:
    """Write the derived intervals: bulk inserts for new ones, bulk updates for the moved ones;
    return what changed for stored verdicts (_Touched).  `observed`: the source's accepted
    observation times, in order, `added` among them if given.

    Plain column tuples, not ORM objects, are compared, since a large source has tens of
    thousands of intervals and an unchanged run only moves `last_seen` on the open ones."""
    existing = {
        (row.model, row.dimension, row.currency, row.conditions_key, row.first_observation_id): row
        for row in session.execute(_INTERVALS_OF, {"source": source.id})
    }
    before = [moment for moment in observed if moment != added] if added else observed
    touched = _Touched()
    if _read_by_others(config, source):
        touched.spans = _changed_in_force(config, source, list(existing.values()), intervals, observed, before)
    held = timedelta(days=config.analysis.durability.held_days)
    inserts, updates = [], []
    for interval in intervals:
        model, dimension, currency, cond = interval.key
        first_seen, last_seen = interval.first.observed_at, interval.last.observed_at
        row = existing.pop((*interval.key, interval.first.observation_id), None)
        point = interval.point
        last = {"last_seen": last_seen, "last_observation_id": interval.last.observation_id}
        if row is None:
            conversion = convert(point.price, currency, first_seen.date())
            inserts.append(dict(
                source_id=source.id, vendor=source.vendor, market=source.market, aggregator=source.aggregator,
                model=model, canonical_model=config.canonical(model), dimension=dimension, conditions_key=cond,
                conditions=point.conditions, currency=currency, first_observation_id=interval.first.observation_id,
                first_seen=first_seen, usd=conversion.usd, eur=conversion.eur,
                fx_date=conversion.fx_date.isoformat() if conversion.fx_date else None,
                eur_per_unit=conversion.per_eur, usd_per_eur=conversion.usd_per_eur,
                unit=point.unit, price=point.price, list_price=point.list_price, promo=point.promo,
                snapshot_id=point.snapshot_id, parser_version=interval.first.parser_version, **last))
            continue
        change = {}
        if ((row.price, row.list_price, row.promo, row.unit, row.conditions)
                != (point.price, point.list_price, point.promo, point.unit, point.conditions)):
            change = dict(price=point.price, list_price=point.list_price, promo=point.promo, unit=point.unit,
                          conditions=point.conditions, snapshot_id=point.snapshot_id,
                          parser_version=interval.first.parser_version)
            touched.reread.add((*interval.key, interval.first.observation_id))
        if row.last_observation_id != interval.last.observation_id:
            change.update(last)
        gone_by = _next_after(observed, last_seen)
        if ((row.last_seen - first_seen >= held) != (last_seen - first_seen >= held)
                or gone_by != _next_after(before, row.last_seen) or (gone_by and row.last_seen != last_seen)):
            touched.durability.add((*interval.key, interval.first.observation_id))
        if change:
            updates.append({"row_id": row.id, **change})
    if existing:
        session.execute(delete(_INTERVALS).where(_INTERVALS.c.id.in_([r.id for r in existing.values()])))
    for columns, group in _same_keys(updates).items():
        session.execute(_update_intervals(columns), group)
    if inserts:
        session.execute(_INSERT_INTERVALS, inserts)
    return touched


def _partners(config: Config, source: Source) -> set[str]:
    """The other list of each home/export pair the source is in (evidence.home_vs_export)."""
    return {pair.home if pair.export == source.id else pair.export
            for pair in config.analysis.home_vs_export.pairs if source.id in (pair.export, pair.home)}


def _read_by_others(config: Config, source: Source) -> bool:
    """Whether other sources' cuts are weighed on this source's prices: as the other list of
    a home/export pair, or as an aggregator's hosts (evidence.independent_hosts)."""
    return source.aggregator or bool(_partners(config, source))


def _next_after(moments: list[datetime], last_seen: datetime) -> datetime | None:
    """The first of `moments` (in order) after `last_seen`: where a price seen last then stops
    being in force, if it is not seen there."""
    following = bisect_right(moments, last_seen)
    return moments[following] if following < len(moments) else None


def _changed_in_force(config: Config, source: Source, rows: list[Row], intervals: list[Interval],
                      observed: list[datetime], before: list[datetime]) -> list[tuple]:
    """The spans (see _Touched) where the price in force for a key differs between the stored
    rows (`before` this store, the observation times then) and the derived intervals.

    A price is in force from its first sighting until the next observation after its last
    (db.queries.intervals_in_force): an observation added just after a price's last sighting,
    or a price seen again after runs without it, moves that end with no row's price changing;
    an older copy of an unchanged page moves only the start, and only that stretch counts."""
    old: dict[tuple, list[tuple]] = {}
    for row in rows:
        if not source.aggregator or HOSTED_BY in row.conditions_key:
            old.setdefault((row.model, row.dimension, row.currency, row.conditions_key), []).append(
                (row.first_seen, _next_after(before, row.last_seen), (row.price, row.list_price, row.promo, row.unit)))
    new: dict[tuple, list[tuple]] = {}
    for interval in intervals:
        if not source.aggregator or HOSTED_BY in interval.key[3]:
            point = interval.point
            new.setdefault(interval.key, []).append((interval.first.observed_at,
                                                     _next_after(observed, interval.last.observed_at),
                                                     (point.price, point.list_price, point.promo, point.unit)))
    spans = []
    for key in old.keys() | new.keys():
        was, now = sorted(old.get(key, ())), sorted(new.get(key, ()))  # a key's segments never share a start
        if was != now:
            spans.extend((config.canonical(key[0]), key[1], start, end) for start, end in _differing(was, now))
    return spans


def _differing(was: list[tuple], now: list[tuple]) -> list[tuple[datetime, datetime | None]]:
    """Where two sets of (from, until or None, price) segments of one key put another price
    (or none) in force."""
    bounds = sorted({moment for start, end, _ in was + now for moment in (start, end) if moment is not None})

    def price_at(segments: list[tuple], moment: datetime):
        return next((price for start, end, price in segments if start <= moment and (end is None or moment < end)),
                    None)

    spans: list[tuple[datetime, datetime | None]] = []
    for index, start in enumerate(bounds):
        end = bounds[index + 1] if index + 1 < len(bounds) else None
        if price_at(was, start) == price_at(now, start):
            continue
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


_CUTS_OF_MODELS = (select(_EVENTS.c.id, _EVENTS.c.source_id, _EVENTS.c.via_aggregator, _EVENTS.c.canonical_model,
                          _EVENTS.c.dimension, _EVENTS.c.observed_at)
                   .where(_EVENTS.c.kind == "cut", _EVENTS.c.observed_at >= bindparam("since"),
                          _EVENTS.c.canonical_model.in_(bindparam("models", expanding=True))))
_CUTS_AT_OBSERVATIONS = (select(_EVENTS.c.id, _EVENTS.c.model, _EVENTS.c.dimension, _EVENTS.c.currency,
                                _EVENTS.c.conditions_key, _EVENTS.c.observation_id)
                         .where(_EVENTS.c.source_id == bindparam("source"), _EVENTS.c.kind == "cut",
                                _EVENTS.c.observation_id.in_(bindparam("observations", expanding=True))))


def _cuts_on(session: Session, source: Source, intervals: set[tuple]) -> set[int]:
    """This source's cuts on these intervals (key, first observation id): each interval's
    first observation is its cut's."""
    if not intervals:
        return set()
    observations = sorted({interval[-1] for interval in intervals})
    return {cut.id for cut in session.execute(_CUTS_AT_OBSERVATIONS, {"source": source.id, "observations": observations})
            if (cut.model, cut.dimension, cut.currency, cut.conditions_key, cut.observation_id) in intervals}


def _cuts_weighed_on(session: Session, config: Config, source: Source, changed: list[tuple]) -> set[int]:
    """The stored cuts weighed on a price in force in one of the `changed` spans (_Touched):
    the other list's cuts of a home/export pair (home_vs_export) or, for an aggregator's hosts,
    the first-party cuts (independent_hosts).  So the stored verdicts do not depend on the order
    in which sources were stored or pages imported (a live run stores its sources in the order
    their pages come in, and an import may fill in a list's past after another's cuts).

    Not the cuts of its peers: the peer gap is a figure, not a verdict, and a peer group spans
    many sources, so that one backfill would weigh again most of the archive's cuts."""
    if not changed:
        return set()
    partners = _partners(config, source)
    spans: dict[tuple[str, str], list[tuple[datetime, datetime | None]]] = {}
    for canonical, dimension, start, until in changed:
        spans.setdefault((canonical, dimension), []).append((start, until))
    since = min(start for _, _, start, _ in changed)
    again = set()
    for cut in session.execute(_CUTS_OF_MODELS, {"since": since, "models": sorted({m for m, _ in spans})}):
        weighed_on_this = not cut.via_aggregator if source.aggregator else cut.source_id in partners
        if weighed_on_this and any(start <= cut.observed_at and (until is None or cut.observed_at < until)
                                   for start, until in spans.get((cut.canonical_model, cut.dimension), ())):
            again.add(cut.id)
    return again


@functools.lru_cache(maxsize=None)  # a handful of shapes: last_seen moved, price changed, or both
def _update_intervals(columns: tuple[str, ...]) -> Update:
    return (update(_INTERVALS).where(_INTERVALS.c.id == bindparam("row_id"))
            .values({column: bindparam(column) for column in columns}))


def _same_keys(rows: list[dict]) -> dict[tuple, list[dict]]:
    """Bulk updates grouped by the columns they set (one executemany per shape)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(k for k in row if k != "row_id")), []).append(row)
    return groups


_EVENTS_OF = select(Event).where(Event.source_id == bindparam("source")).order_by(Event.id)
PRICE_MOVES = ("cut", "raise", "alias_change")


def _rekinded(existing: dict[tuple, Event], change: Change, *, same_prices: bool) -> Event | None:
    """The recorded price move of this price point at this moment under another kind (a point
    has one price move a moment), taken out of `existing`: a cut recorded as an alias change
    before the page was read as naming the model behind the alias, or the reverse (a newer
    parser, or a migrated archive); with `same_prices`, only one of the same old and new price."""
    if change.kind not in PRICE_MOVES:
        return None
    prices = (change.old.price if change.old else None, change.new.price if change.new else None)
    for kind in PRICE_MOVES:
        natural_key = (*change.key, kind, change.at.observed_at)
        event = existing.get(natural_key)
        if event is not None and (not same_prices or (event.old_price, event.new_price) == prices):
            return existing.pop(natural_key)
    return None


def _redated(existing: dict[tuple, Event], change: Change, *, any_kind: bool) -> Event | None:
    """The recorded event of this very change (same price point, old and new price) at another
    moment, taken out of `existing`: an earlier observation of the same page (a backfill, or a
    held page released after a later copy) moves the change.  Of its own kind, or with
    `any_kind` of any price-move kind (it may have changed kind too); of several, the nearest
    in time."""
    old = change.old.price if change.old else None
    new = change.new.price if change.new else None
    kinds = PRICE_MOVES if any_kind and change.kind in PRICE_MOVES else (change.kind,)
    candidates = [natural_key for natural_key, event in existing.items()
                  if natural_key[:4] == change.key and natural_key[4] in kinds
                  and (event.old_price, event.new_price) == (old, new)]
    if not candidates:
        return None
    nearest = min(candidates, key=lambda natural_key: abs(natural_key[5] - change.at.observed_at))
    return existing.pop(nearest)


# Ways a derived change may find its recorded event, closest first (after the exact match).
_MATCHES = (functools.partial(_rekinded, same_prices=True), functools.partial(_redated, any_kind=False),
            functools.partial(_redated, any_kind=True), functools.partial(_rekinded, same_prices=False))


def _recorded_events(existing: dict[tuple, Event], changes: list[Change]) -> dict[tuple, Event]:
    """Each change's recorded event, taken out of `existing`, so that it keeps its id and no
    recipient hears of it twice: the exact match, then one of the _MATCHES, each tried for every
    change before the next, so that a looser match never takes the event a closer one would."""
    matched = {change.natural_key: existing.pop(change.natural_key) for change in changes
               if change.natural_key in existing}
    for match in _MATCHES:
        for change in changes:
            if change.natural_key not in matched and (event := match(existing, change)) is not None:
                matched[change.natural_key] = event
    return matched


def _apply_events(session: Session, config: Config, source: Source,
                  changes: list[Change]) -> tuple[list[Event], list[Event]]:
    """Write the derived events; return the new ones, and the recorded cuts whose verdict no
    longer holds (moved, re-read, re-kinded or reversed since it was weighed)."""
    existing = {
        (e.model, e.dimension, e.currency, e.conditions_key, e.kind, e.observed_at): e
        for e in session.scalars(_EVENTS_OF, {"source": source.id})
    }
    created: list[Event] = []
    to_weigh: list[Event] = []
    recorded = _recorded_events(existing, changes)
    for change in changes:
        model, dimension, currency, cond = change.key
        row = recorded.get(change.natural_key)
        old_usd = new_usd = None
        on = change.at.observed_at.date()
        if change.old is not None and currency:
            old_usd = convert(change.old.price, currency, on).usd
        if change.new is not None and currency:
            new_usd = convert(change.new.price, currency, on).usd
        values = dict(
            old_price=change.old.price if change.old else None, new_price=change.new.price if change.new else None,
            old_usd=old_usd, new_usd=new_usd, change_pct=change.change_pct,
            previous_observed_at=change.previous_at, observation_id=change.at.observation_id,
            snapshot_id=(change.new or change.old).snapshot_id if (change.new or change.old) else None,
            reversal=bool(change.detail.get("reversed_by_raise_at") or change.detail.get("reverses_cut_at")),
        )
        if row is None:
            row = Event(kind=change.kind, source_id=source.id, vendor=source.vendor, model=model,
                        canonical_model=config.canonical(model), dimension=dimension, conditions_key=cond,
                        currency=currency, observed_at=change.at.observed_at, via_aggregator=source.aggregator,
                        created_at=datetime.now(timezone.utc), **values)
            if row.snapshot_id is None:
                row.snapshot_id = session.scalar(select(ObservationPage.snapshot_id).where(
                    ObservationPage.observation_id == change.at.observation_id).limit(1))
            session.add(row)
            created.append(row)
        else:
            # A verdict weighs one cut at its moment: a cut that moved, was re-read, became one or
            # was reversed by a later raise (durability's strongest sign) is weighed again below;
            # an event that is no cut any more loses its verdict.
            if row.kind != change.kind or (row.observation_id, row.old_price, row.new_price, row.reversal) != (
                    values["observation_id"], values["old_price"], values["new_price"], values["reversal"]):
                row.kind, row.verdict, row.evidence = change.kind, None, None
                if change.kind == "cut":
                    to_weigh.append(row)
            values["observed_at"] = change.at.observed_at
            for name, value in values.items():
                if name == "snapshot_id" and value is None:
                    continue
                if getattr(row, name) != value:
                    setattr(row, name, value)
    if existing:
        session.execute(delete(Event).where(Event.id.in_([e.id for e in existing.values()])))
    session.flush()
    return created, to_weigh
