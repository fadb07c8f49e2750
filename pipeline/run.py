"""The pipeline for one source, top to bottom: fetch, archive, parse, normalise, store, diff.

A live run fetches; an import reads a saved file; from the archive stage on, both are the
same line.  Parsing happens before the write transaction opens, and everything a source's
run writes commits together, so a crash leaves the previous state intact, and a failed or
drifted parse stores the raw page and the failure but no price and no event.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterator
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from db.models import Fetch, Observation, RobotsFile, Snapshot, SourceHealth
from db.session import Database
from pipeline.archive import Archived, archive, sha256, snapshot_bytes
from pipeline.config import Config, Source
from pipeline.evidence import weigh_new_cuts
from pipeline.errors import ConfigError, FetchError, LayoutDrift, NonNumericPrice, ParseError, PricewatchError
from pipeline.fetch import Attempt, Fetched, Fetcher, Validators
from pipeline.locks import source_lock
from pipeline.normalise import Priced, normalise_all
from pipeline.output import visible
from pipeline.store import (
    add_observation,
    content_digest,
    quote_set,
    repeated_observation,
    store_observation,
    store_repeat,
)
from scrapers import Page, Quote, get_parser

log = logging.getLogger("pricewatch.run")


@dataclass
class SourceResult:
    source: str
    status: str  # ok, failed, skipped
    reason: str | None = None
    message: str = ""
    quotes: int = 0
    events: list[int] = field(default_factory=list)
    changed: bool = False  # new events
    repeat: bool = False  # the very pages of the latest observation: stored as one more sighting
    first: bool = False  # the source's first observation: nothing to compare it with yet
    hold: str | None = None  # "new": quarantined now by the sanity gate; "again": the same page as one held
    seconds: float = 0.0

    def line(self) -> str:
        """The run's line for this source, scraped text in it escaped (output.visible)."""
        return visible(self._line())

    def _line(self) -> str:
        if self.status == "ok":
            if self.hold:
                held = f"{self.quotes} prices" if self.quotes else "the page"
                detail = f"{held}{' still' if self.hold == 'again' else ''} held back, none published"
            elif self.first:
                detail = f"{self.quotes} prices, first observation"
            else:
                detail = f"{self.quotes} prices, {len(self.events)} events" + (", unchanged" if self.repeat else "")
            return f"{self.source}: ok ({detail})" + (f"; {self.message}" if self.message else "")
        if self.status == "skipped":
            return f"{self.source}: skipped ({self.message})"
        return f"{self.source}: FAILED [{self.reason}] {self.message}"


_SQLITE_TURNS: dict[str, threading.RLock] = {}


@contextmanager
def _turn(db: Database) -> Iterator[None]:
    """This process's threads take turns at a SQLite file.

    SQLite has one writer at a time.  A thread that finds the file busy sleeps in SQLite's
    busy handler, for up to 100 ms at a time, so the file would sit idle between writers; a
    lock hands it over at once.  Reads take turns too, so that a run's workers never hold more
    than one pooled connection between them.  On PostgreSQL the writers' advisory lock
    (db.session.ONE_WRITER) already wakes the next one."""
    if db.dialect != "sqlite":
        yield
        return
    with _SQLITE_TURNS.setdefault(db.url, threading.RLock()):
        yield


def parse_pages(source: Source, pages: list[Page]) -> tuple[list[list[Quote]], int]:
    """Run the source's parser on every page; a bot wall or an empty result is a failure."""
    parser = get_parser(source.parser)
    results = []
    for page in pages:
        try:
            quotes = parser.parse(page)
        except PricewatchError as error:
            error.source = source.id
            raise
        except Exception as exc:  # a parser bug on odd input is still a parse failure, not a crash
            raise ParseError(f"parser {source.parser} failed on {page.url or 'page'}: "
                             f"{exc.__class__.__name__}: {exc}", source=source.id) from exc
        if not quotes:
            raise LayoutDrift(f"parser {source.parser} found no prices in {page.url or 'page'}", source=source.id)
        results.append(quotes)
    return results, parser.version


# Statements every source's run executes, built once (building one costs more than running it).
_INSERT_FETCHES = insert(Fetch.__table__)
_MARK_SUCCESS = (update(SourceHealth.__table__).where(SourceHealth.__table__.c.source_id == bindparam("source"))
                 .values(last_success_at=bindparam("at"), consecutive_failures=0))
_ANY_OBSERVATION = select(Observation.__table__.c.id).where(
    Observation.__table__.c.source_id == bindparam("source")).limit(1)
_FIRST_SUCCESS = insert(SourceHealth.__table__).values(source_id=bindparam("source"), last_success_at=bindparam("at"),
                                                       consecutive_failures=0)


def _record_attempts(session, source: Source, attempts: list[Attempt], snapshot_id: int | None) -> None:
    if attempts:
        session.execute(_INSERT_FETCHES, [dict(
            source_id=source.id, url=attempt.url, attempt=attempt.attempt, started_at=attempt.started_at,
            finished_at=attempt.finished_at, outcome=attempt.outcome, http_status=attempt.http_status,
            bytes=attempt.bytes, duration_ms=attempt.duration_ms, error=attempt.error, etag=attempt.etag,
            last_modified=attempt.last_modified,
            snapshot_id=snapshot_id if attempt.outcome in ("ok", "not_modified") else None) for attempt in attempts])


def _health(session, source_id: str) -> SourceHealth:
    health = session.get(SourceHealth, source_id)
    if health is None:
        health = SourceHealth(source_id=source_id, consecutive_failures=0)
        session.add(health)
    return health


def record_failure(db: Database, source: Source, error: PricewatchError, attempts: list[Attempt],
                   pages: list[Fetched] = (), at: datetime | None = None, *, live: bool = True) -> None:
    """Log a failed run: every attempt, any pages it did get (kept as evidence, with the
    attempts that got them), and, for a live run, the source's health counters (a failed
    import says nothing of the live source)."""
    at = at or datetime.now(timezone.utc)
    with _turn(db), db.transaction() as session:
        _archive_pages(session, source, pages)
        if not pages and not attempts:
            attempts = [Attempt(source.urls[0], 1, at, at, error.reason, error=str(error))]
        _record_attempts(session, source, attempts, None)
        if pages and not isinstance(error, FetchError):  # the pages came, the parse failed: log that outcome
            session.add(Fetch(source_id=source.id, url=pages[-1].final_url, attempt=0, started_at=at,
                              finished_at=at, outcome=error.reason, error=str(error)))
        if not live:
            return
        health = _health(session, source.id)
        health.last_failure_at, health.last_failure_reason = at, error.reason
        health.last_failure_message = str(error)[:2000]
        health.consecutive_failures = (health.consecutive_failures or 0) + 1


def _hold_unreadable(session, source: Source, observed_at: datetime, snapshots: list[Archived],
                     error: NonNumericPrice) -> None:
    """Keep a page with a non-numeric price for review, with no prices.

    Storing the prices that did read would report the unreadable ones withdrawn; failing the
    source would drop the page.  `pricewatch quarantine release` re-parses it."""
    add_observation(session, source, observed_at=observed_at,
                    content_digest=content_digest([s.sha256 for s in snapshots]),
                    parser=source.parser, parser_version=get_parser(source.parser).version,
                    quote_set_id=quote_set(session, []), status="quarantined",
                    status_reason=NonNumericPrice.held + error.message, snapshot_ids=[s.id for s in snapshots])


def ingest(db: Database, config: Config, source: Source, pages: list[Fetched], observed_at: datetime,
           *, live: bool = False, known_digests: dict[str, str] | None = None) -> SourceResult:
    """Archive, parse, normalise and store pages already in hand (fetched or imported).

    A run that read the very pages of the source's latest observation is stored as a repeat,
    without parsing (`known_digests`, the run's latest_digests, spares the others that check).  A
    live run passes its prices through the sanity gate, quarantines an observation with a
    non-numeric price instead of failing the source, and moves the source's health counters.
    An import (a deliberate backfill, of any date) fails on a non-numeric price like on any
    parse error, and leaves the health counters to the live runs."""
    started = time.monotonic()
    digest = content_digest([p.archived.sha256 if p.archived else sha256(p.content) for p in pages])
    maybe_repeat = known_digests is None or known_digests.get(source.id) == digest
    repeat = _store_if_repeat(db, config, source, pages, observed_at, digest, live) if maybe_repeat else None
    if repeat is not None:
        repeat.seconds = time.monotonic() - started
        return repeat
    _load_archived(db, pages)
    page_objects = [Page(p.content, p.final_url, p.content_type) for p in pages]
    unreadable: NonNumericPrice | None = None
    try:
        quotes_by_page, version = parse_pages(source, page_objects)
        priced: list[Priced] = normalise_all(quotes_by_page)
    except PricewatchError as error:
        error.source = source.id
        if not (live and isinstance(error, NonNumericPrice)):
            record_failure(db, source, error, [], pages, observed_at, live=live)
            return SourceResult(source.id, "failed", error.reason, error.message, seconds=time.monotonic() - started)
        unreadable, priced = error, []
    with _turn(db), db.transaction() as session:
        first = session.execute(_ANY_OBSERVATION, {"source": source.id}).first() is None
        snapshots = _archive_pages(session, source, pages)
        if unreadable is not None:
            _hold_unreadable(session, source, observed_at, snapshots, unreadable)
            status, events = "quarantined", []
        else:
            status, events = store_observation(
                session, config, source, observed_at=observed_at, snapshots=snapshots,
                parser=source.parser, parser_version=version, priced=priced, gate=live)
        if live:
            _succeeded(session, source, observed_at)
        event_ids = [e.id for e in events]  # flushed by the store (_apply_events)
        weigh_new_cuts(session, config, event_ids)
    result = SourceResult(source.id, "ok", quotes=len(priced), events=event_ids, changed=bool(event_ids),
                          first=first, seconds=time.monotonic() - started)
    if status == "quarantined":
        result.hold, result.message = "new", "quarantined for review (pricewatch quarantine)"
    return result


def _store_if_repeat(db: Database, config: Config, source: Source, pages: list[Fetched], observed_at: datetime,
                     digest: str, live: bool) -> SourceResult | None:
    """Store the run, which read pages of `digest`, as a repeat of the latest observation
    (store.repeated_observation), or return None, having written nothing, when it is not one.
    A repeat of a page held for review adds no observation: the held one stands for it."""
    with _turn(db), db.transaction() as session:
        latest = repeated_observation(session, source, digest=digest, observed_at=observed_at,
                                      parser_version=get_parser(source.parser).version, live=live)
        if latest is None:
            return None
        snapshots = _archive_pages(session, source, pages)
        if latest.status == "ok":
            result = SourceResult(source.id, "ok", repeat=True, quotes=store_repeat(
                session, config, source, latest, observed_at=observed_at, snapshot_ids=[s.id for s in snapshots],
                parser=source.parser))
        else:
            verdict = "held for review" if latest.status == "quarantined" else "rejected on review"
            result = SourceResult(source.id, "ok", quotes=latest.prices, hold="again",
                                  message=f"the page {verdict} as observation {latest.id} "
                                          f"({latest.observed_at:%Y-%m-%d %H:%M} UTC) is unchanged "
                                          "(pricewatch quarantine)")
        if live:
            _succeeded(session, source, observed_at)
    return result


def _load_archived(db: Database, pages: list[Fetched]) -> None:
    """Bring back the archived bytes of the pages that were 304s, for parsing."""
    for fetched in pages:
        if fetched.archived and not fetched.content:
            with _turn(db), db.session() as session:
                snapshot = session.get(Snapshot, fetched.archived.id)
                fetched.content, fetched.content_type = snapshot_bytes(snapshot), snapshot.content_type


def _archive_page(session, fetched: Fetched) -> Archived:
    return archive(session, fetched.content, url=fetched.final_url, content_type=fetched.content_type,
                   seen_at=fetched.fetched_at)


def _archive_pages(session, source: Source, pages: list[Fetched]) -> list[Archived]:
    """Each page's snapshot (created on first sight; a 304's is the one it stands for), with
    the fetch attempts that got it."""
    snapshots = []
    for fetched in pages:
        snapshot = fetched.archived or _archive_page(session, fetched)
        _record_attempts(session, source, fetched.attempts, snapshot.id)
        snapshots.append(snapshot)
    return snapshots


def _succeeded(session, source: Source, observed_at: datetime) -> None:
    moved = session.execute(_MARK_SUCCESS, {"source": source.id, "at": observed_at})
    if moved.rowcount == 0:
        session.execute(_FIRST_SUCCESS, {"source": source.id, "at": observed_at})


@dataclass(frozen=True)
class GoodFetch:
    """What the last good fetch of a URL returned: validators for a conditional GET, and the
    snapshot (id, sha256) that a 304 stands for."""

    validators: Validators
    snapshot: Archived


def last_good_fetches(db: Database, urls: list[str]) -> dict[str, GoodFetch]:
    """The last good fetch of each of `urls` that has one, read in one query for a whole run."""
    latest = (select(func.max(Fetch.id).label("id"))
              .where(Fetch.url.in_(urls), Fetch.outcome == "ok", Fetch.snapshot_id.is_not(None))
              .group_by(Fetch.url).subquery())
    with _turn(db), db.session() as session:
        rows = session.execute(select(Fetch.url, Fetch.etag, Fetch.last_modified, Snapshot.id, Snapshot.sha256)
                               .join(latest, latest.c.id == Fetch.id)
                               .join(Snapshot, Snapshot.id == Fetch.snapshot_id)).all()
    return {row.url: GoodFetch(Validators(row.etag, row.last_modified), Archived(row.id, row.sha256)) for row in rows}


class RobotsArchive:
    """The fetcher's RobotsStore in the database: every kept robots.txt is read once, when the
    archive is made, and each one fetched anew is written at once."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with _turn(db), db.session() as session:
            self._kept = {row.origin: (row.fetched_at.timestamp(), row.body)
                          for row in session.scalars(select(RobotsFile))}

    def get(self, origin: str) -> tuple[float, str | None] | None:
        return self._kept.get(origin)

    def put(self, origin: str, fetched_at: float, body: str | None) -> None:
        if body:  # PostgreSQL's text holds no NUL, and no rule needs one
            body = body.replace("\x00", "\ufffd")
        self._kept[origin] = (fetched_at, body)
        with _turn(self.db), self.db.transaction() as session:
            session.merge(RobotsFile(origin=origin, fetched_at=datetime.fromtimestamp(fetched_at, timezone.utc),
                                     body=body))


def latest_digests(db: Database, source_ids: list[str]) -> dict[str, str]:
    """The content digest of each source's latest observation, read once for a run: a source
    whose pages differ from it cannot be a repeat, and needs no turn at the database to learn
    that (concurrent writers only ever make that answer a missed shortcut, never a wrong one)."""
    obs = Observation.__table__
    newest = (select(obs.c.source_id, func.max(obs.c.observed_at).label("at"))
              .where(obs.c.source_id.in_(source_ids)).group_by(obs.c.source_id).subquery())
    with _turn(db), db.session() as session:
        rows = session.execute(select(obs.c.source_id, obs.c.content_digest).join(
            newest, (newest.c.source_id == obs.c.source_id) & (newest.c.at == obs.c.observed_at)))
        return {row.source_id: row.content_digest for row in rows}


def _target(fetcher: Fetcher, source: Source, url: str) -> str:
    return f"{fetcher.settings.reader_prefix}{url}" if source.fetch == "reader" else url


def fetch_source(fetcher: Fetcher, db: Database, source: Source,
                 known: dict[str, GoodFetch] | None = None) -> list[Fetched]:
    """Every page of a source, or a FetchError; a 304 is marked with the snapshot it stands for.
    `known` is the run's last_good_fetches, read here when not given."""
    targets = [_target(fetcher, source, url) for url in source.urls]
    if known is None:
        known = last_good_fetches(db, targets)
    pages = []
    for target in targets:
        last = known.get(target)
        try:
            fetched = fetcher.fetch(target, last.validators if last else None)
        except FetchError as error:
            error.pages = pages  # type: ignore[attr-defined]  # those already in, kept as evidence
            raise
        if fetched.not_modified and last:
            fetched.archived = last.snapshot
        pages.append(fetched)
    return pages


def run_source(db: Database, config: Config, fetcher: Fetcher, source: Source, *,
               fetched: Callable[[], None] | None = None, known: dict[str, GoodFetch] | None = None,
               known_digests: dict[str, str] | None = None) -> SourceResult:
    """Fetch and store one source under its lock; `fetched()` is called once its pages are in."""
    started = time.monotonic()
    with source_lock(db, source.id) as held:
        if not held:
            return SourceResult(source.id, "skipped", message="another run holds this source")
        try:
            try:
                get_parser(source.parser)  # a misspelt parser name: no page to ask the vendor for
                pages = fetch_source(fetcher, db, source, known)
            finally:
                if fetched:
                    fetched()
        except (ConfigError, FetchError) as error:
            error.source = source.id
            record_failure(db, source, error, getattr(error, "attempts", []), getattr(error, "pages", []))
            return SourceResult(source.id, "failed", error.reason, error.message, seconds=time.monotonic() - started)
        except SQLAlchemyError:  # the database, not the source, failed: the run reports it
            raise
        except Exception as exc:  # a fetcher bug met on one hostile answer fails that source, not the run
            log.error("source=%s fetch raised %s: %s", source.id, exc.__class__.__name__, exc)
            log.info("source=%s fetch raised", source.id, exc_info=True)  # the traceback, with -v
            error = FetchError(f"fetching failed on {exc.__class__.__name__}: {exc}", source=source.id)
            record_failure(db, source, error, [])
            return SourceResult(source.id, "failed", error.reason, error.message, seconds=time.monotonic() - started)
        observed_at = max(p.fetched_at for p in pages)
        result = ingest(db, config, source, pages, observed_at, live=True, known_digests=known_digests)
        result.seconds = time.monotonic() - started
        log.info("source=%s status=%s reason=%s quotes=%d events=%d seconds=%.2f", result.source, result.status,
                 result.reason or "-", result.quotes, len(result.events), result.seconds)
        return result


# Workers of one run: enough for one per host, since a host left without a worker adds its
# pages to the run's wall time.  On SQLite a worker touches the database only in its turn
# (`_turn`), so at most one pooled connection is in use however many workers there are.  On
# PostgreSQL each holds two (its source's advisory lock, then the write), and SQLAlchemy's
# default pool has 15: a run must never wait on the pool while others write.
MAX_WORKERS = {"sqlite": 32, "postgresql": 7}


class _HostQueue:
    """The sources of a run by host, handed out so that no two workers fetch from one host.

    Politeness allows one request at a time per host (fetch.HostGate), so a worker that took a
    second source of a busy host would only wait there while other hosts sit idle."""

    def __init__(self, sources: list[Source], host_of: Callable[[Source], str]) -> None:
        self._waiting: dict[str, deque[tuple[int, Source]]] = {}
        for index, source in enumerate(sources):
            self._waiting.setdefault(host_of(source), deque()).append((index, source))
        self._busy: dict[str, int] = {}  # host -> the index of the source fetching from it
        self._guard = threading.Lock()

    def take(self) -> tuple[str, int, Source] | None:
        """The next source of an idle host, the host with the most left first; None if none is idle."""
        with self._guard:
            idle = [host for host, queue in self._waiting.items() if queue and host not in self._busy]
            if not idle:
                return None
            host = max(idle, key=lambda h: len(self._waiting[h]))
            index, source = self._waiting[host].popleft()
            self._busy[host] = index
            return host, index, source

    def release(self, host: str, index: int) -> None:
        """The source at `index` is done with `host`: when its pages are in, and again when it
        ends, by which time the host may have gone to the next source."""
        with self._guard:
            if self._busy.get(host) == index:
                del self._busy[host]


def _host_of(fetcher: Fetcher, source: Source) -> str:
    return urlsplit(_target(fetcher, source, source.urls[0])).netloc


def run_all(db: Database, config: Config, sources: list[Source], *, fetcher: Fetcher | None = None,
            on_done: Callable[[SourceResult], None] | None = None, workers: int | None = None) -> list[SourceResult]:
    """One pass over `sources`, in parallel across hosts, one request at a time per host.

    A worker takes the next source of a host no other worker is fetching from and hands the
    host back as soon as the pages are in, so that storing them (which needs no host) overlaps
    the next fetch.  Results come back in the order of `sources`; `on_done` sees each as it ends."""
    own = fetcher is None
    fetcher = fetcher or Fetcher(config.fetch, robots_store=RobotsArchive(db))
    hosts = _HostQueue(sources, lambda source: _host_of(fetcher, source))
    known = last_good_fetches(db, [_target(fetcher, source, url) for source in sources for url in source.urls])
    digests = latest_digests(db, [source.id for source in sources])
    limit = workers or MAX_WORKERS.get(db.dialect, 7)
    results: list[SourceResult | None] = [None] * len(sources)
    changed = threading.Event()  # a host came free or a source ended: time to hand out more

    def host_free(host: str, index: int) -> None:
        hosts.release(host, index)
        changed.set()

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(limit, len(sources)))) as pool:
            running: dict[Future, tuple[int, str]] = {}
            while True:
                while len(running) < limit and (taken := hosts.take()) is not None:
                    host, index, source = taken
                    future = pool.submit(run_source, db, config, fetcher, source, known=known, known_digests=digests,
                                         fetched=functools.partial(host_free, host, index))
                    future.add_done_callback(lambda _future: changed.set())
                    running[future] = (index, host)
                if not running:
                    break
                changed.wait()
                changed.clear()
                for future in [f for f in running if f.done()]:
                    index, host = running.pop(future)
                    hosts.release(host, index)  # for a source that ended before its pages were in
                    results[index] = future.result()
                    if on_done:
                        on_done(results[index])
    finally:
        if own:
            fetcher.close()
    return results
