"""Review of quarantined observations: `pricewatch quarantine [list|release ID|reject ID]`.

A live run holds back (store.sanity_check) an observation whose prices are negative or
moved more than `[diff] quarantine_factor` (default 20x) in one step: the classic case is a
page that starts quoting per 1K tokens under a per-1M header, which would otherwise be
published as a 99.9% cut.  It also holds a list that shrank by more than
`[diff] quarantine_vanished` (a quarter) at once: a page that half-parses.  A held
observation keeps its raw page and parsed prices but takes no part in intervals or events
until a person looks at it:

- `release ID` marks it `ok` and re-derives its source's intervals and events in the same
  transaction, so the change it carries is published then: its cuts are weighed like any new
  cut, and its events are queued for the alert digests (when alerts.toml enables them);
- `reject ID` marks it `rejected`: kept for the record, never published (a rejection is
  final: a later run that reads the same page is that rejected observation again).

A live run also holds a page with a non-numeric price where a number belongs ("N/A" in a
JSON price, "$0.l4"), with no prices at all (its reason begins "non-numeric price: ").
Releasing it re-parses its archived pages with the current parser: once the parser reads
them, the observation takes the new prices and is published as above; until then the
release is refused and nothing changes.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from pipeline.cli import EXIT_OK, open_database, record_id
from pipeline.config import Config
from pipeline.errors import InputError, NonNumericPrice, PricewatchError
from pipeline.output import FORMATS, render, visible

# The database layer is imported inside the handlers, as in pipeline.commands, so that
# building the CLI (every command, --help) does not pay for SQLAlchemy.

COLUMNS = ["id", "source", "observed_at", "status", "reason", "prices", "snapshots"]


def add_commands(commands) -> None:
    quarantine = commands.add_parser("quarantine", help="observations held back by the sanity gate: list, release, reject")
    actions = quarantine.add_subparsers(dest="quarantine_command", parser_class=type(quarantine))
    quarantine.set_defaults(handler=cmd_list)
    listing = actions.add_parser("list", help="the observations waiting for review (default)")
    listing.set_defaults(handler=cmd_list)
    # `quarantine --all` and `quarantine list --all` alike; SUPPRESS keeps the subcommand's
    # defaults from overwriting what was given before it.
    _list_options(quarantine, show_all=False, output_format="table")
    _list_options(listing, show_all=argparse.SUPPRESS, output_format=argparse.SUPPRESS)
    release = actions.add_parser("release", help="accept a held observation: publish its prices and events")
    release.add_argument("observation_id", type=record_id, metavar="ID")
    release.set_defaults(handler=cmd_release)
    reject = actions.add_parser("reject", help="refuse a held observation: keep it, never publish it")
    reject.add_argument("observation_id", type=record_id, metavar="ID")
    reject.set_defaults(handler=cmd_reject)


def _list_options(parser, *, show_all, output_format) -> None:
    parser.add_argument("--all", dest="show_all", action="store_true", default=show_all,
                        help="also those released or rejected")
    parser.add_argument("--format", choices=FORMATS, default=output_format)


def cmd_list(args, config: Config) -> int:
    from sqlalchemy import select

    from db.models import Observation

    db = open_database(args)
    with db.session() as session:
        query = select(Observation).order_by(Observation.observed_at, Observation.id)
        if args.show_all:
            query = query.where(Observation.status_reason.is_not(None))
        else:
            query = query.where(Observation.status == "quarantined")
        rows = [_row(session, o) for o in session.scalars(query)]
    render(rows, COLUMNS, args.format)
    return EXIT_OK


def _row(session, observation) -> dict:
    from sqlalchemy import func, select

    from db.models import ObservationPage, QuoteRow

    prices = session.scalar(select(func.count()).select_from(QuoteRow)
                            .where(QuoteRow.quote_set_id == observation.quote_set_id))
    snapshots = session.scalars(select(ObservationPage.snapshot_id)
                                .where(ObservationPage.observation_id == observation.id)
                                .order_by(ObservationPage.position)).all()
    return {"id": observation.id, "source": observation.source_id, "observed_at": observation.observed_at,
            "status": observation.status, "reason": observation.status_reason, "prices": prices,
            "snapshots": ",".join(str(s) for s in snapshots)}


def _held(session, observation_id: int, allowed: tuple[str, ...]):
    from db.models import Observation

    observation = session.get(Observation, observation_id)
    if observation is None:
        raise InputError(f"no observation with id {observation_id}")
    if observation.status not in allowed:
        raise InputError(f"observation {observation_id} is {observation.status}, not {' or '.join(allowed)}")
    return observation


def _source_of(db, observation_id: int) -> str:
    with db.session() as session:
        return _held(session, observation_id, ("quarantined", "rejected", "ok")).source_id


def _reparsed(db, source, observation_id: int):
    """The prices of an observation held for a non-numeric price, read again by the current
    parser from its archived pages (with the parser version); None for one held for its prices.

    Refused (InputError) while the parser still cannot read them."""
    from sqlalchemy import select

    from db.models import ObservationPage, Snapshot
    from pipeline.archive import snapshot_bytes
    from pipeline.normalise import normalise_all
    from pipeline.run import parse_pages
    from scrapers import Page

    with db.session() as session:
        observation = _held(session, observation_id, ("quarantined",))
        if not (observation.status_reason or "").startswith(NonNumericPrice.held):
            return None
        pages = [Page(snapshot_bytes(snapshot), snapshot.url, snapshot.content_type)
                 for snapshot in session.scalars(
                     select(Snapshot).join(ObservationPage, ObservationPage.snapshot_id == Snapshot.id)
                     .where(ObservationPage.observation_id == observation_id).order_by(ObservationPage.position))]
    try:
        quotes_by_page, version = parse_pages(source, pages)
    except NonNumericPrice as error:
        raise InputError(f"observation {observation_id} still has a non-numeric price ({error.message}): "
                         "fix the parser and release again, or reject it") from None
    return normalise_all(quotes_by_page), version


def cmd_release(args, config: Config) -> int:
    from sqlalchemy import select

    from db.models import Event
    from pipeline.alerts import EXIT_MAIL_PENDING
    from pipeline.alerts.config import alert_settings
    from pipeline.alerts.digest import queue_digests
    from pipeline.alerts.outbox import flush
    from pipeline.commands import print_alerts
    from pipeline.evidence import weigh_new_cuts
    from pipeline.locks import source_lock
    from pipeline.store import materialise, quote_set

    alerts = alert_settings(config)  # a flawed alerts.toml is a usage error before anything changes
    db = open_database(args)
    source = config.source(_source_of(db, args.observation_id))
    with source_lock(db, source.id) as held:
        if not held:
            raise PricewatchError("a run holds this source now; release it when the run is over", source=source.id)
        reparsed = _reparsed(db, source, args.observation_id)
        with db.transaction() as session:
            observation = _held(session, args.observation_id, ("quarantined",))  # a rejection is final
            if reparsed is not None:
                priced, version = reparsed
                observation.quote_set_id = quote_set(session, priced)
                observation.parser, observation.parser_version = source.parser, version
            observation.status = "ok"
            events = materialise(session, config, source, added=observation.observed_at)
            session.flush()
            event_ids = [e.id for e in events]
            weigh_new_cuts(session, config, event_ids)
            queued = queue_digests(session, config, alerts, event_ids, datetime.now(timezone.utc)) if alerts.enabled else 0
            observed_at = observation.observed_at
    print(f"observation {args.observation_id} of {source.id} at {observed_at.isoformat()} released: "
          f"{len(event_ids)} new events")
    if event_ids:
        with db.session() as session:
            for event in session.scalars(select(Event).where(Event.id.in_(event_ids)).order_by(Event.id)):
                change = f" {event.old_price} -> {event.new_price} {event.currency}" if event.old_price is not None else ""
                verdict = f" [{event.verdict}]" if event.verdict else ""
                print(visible(f"  event {event.id}: {event.kind} {event.model} {event.dimension}{change}{verdict}"))
    if not queued:
        return EXIT_OK
    delivery = flush(db, alerts)
    print_alerts(queued, delivery)
    return EXIT_MAIL_PENDING if delivery.pending else EXIT_OK


def cmd_reject(args, config: Config) -> int:
    db = open_database(args)
    with db.transaction() as session:
        observation = _held(session, args.observation_id, ("quarantined",))
        observation.status = "rejected"
        source_id, observed_at = observation.source_id, observation.observed_at
    print(f"observation {args.observation_id} of {source_id} at {observed_at.isoformat()} rejected: "
          "kept for the record, never published")
    return EXIT_OK
