"""The `pricewatch` command line: argument parsing and printing only; the work is elsewhere.

Exit codes: 0 success, 1 a source failed (the others are stored), 2 usage or config error,
3 everything stored but alert mail still waits in the outbox.
Every PricewatchError becomes one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sqlite3
import sys
from contextlib import closing
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from pipeline.alerts.config import EVENT_KINDS
from pipeline.config import load_config
from pipeline.errors import InputError, PricewatchError
from pipeline.output import FORMATS, utf8_encodable

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Modules that add their own commands: each has `add_commands(subparsers)`, which sets
# `handler=function(args, config) -> exit code` on the parsers it adds.
EXTENSIONS: tuple[str, ...] = (
    "pipeline.schedule",
    "pipeline.alerts.cli",
    "pipeline.report.cli",
    "pipeline.quarantine",
)


# The moments a command takes: wide enough for any archive, narrow enough that a day or a
# time zone either side of one never leaves the calendar Python can represent.
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=timezone.utc), datetime(3000, 1, 1, tzinfo=timezone.utc)


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """ISO 8601 date or date-time; naive times are UTC; a bare date means its start (or end)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.max if end_of_day else time.min)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        moment = moment.astimezone(timezone.utc)
    except ValueError:
        raise InputError(f"not an ISO 8601 date or date-time: {text!r} (e.g. 2026-07-17 or 2026-07-17T09:30:00Z)") from None
    except OverflowError:  # 0001-01-01T00:00+01:00 is still year 0 in UTC
        moment = EARLIEST - timedelta(days=1)
    if not EARLIEST <= moment < LATEST:
        raise InputError(f"{text!r} is outside the dates pricewatch takes (the years 1900 to 2999)")
    return moment


def moment_arg(text: str | None) -> datetime:
    """An `--at`: a bare date means its end, so that the day's own changes count; now if absent."""
    return parse_when(text, end_of_day=True) if text is not None else today_utc()


def span_args(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """`--since` and `--until`: a bare date is its start, and its end; either may be open."""
    start = parse_when(since) if since is not None else None  # "" is no date: "$DAY" with DAY unset
    end = parse_when(until, end_of_day=True) if until is not None else None
    if start and end and start > end:  # swapped by mistake: an empty answer would look like "no change"
        raise InputError(f"--since {since} is after --until {until}")
    return start, end


def record_id(text: str) -> int:
    """An archive row's id, as an argument: a whole number the database can hold."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value < 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} is not an id (a whole number from 1)")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(EXIT_USAGE, f"pricewatch: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pricewatch", description="A dated, cited archive of AI API prices.")
    parser.add_argument("--db", help="database URL or SQLite path (env PRICEWATCH_DB; default ./data/pricewatch.sqlite)")
    parser.add_argument("--config", help="config directory (env PRICEWATCH_CONFIG; default: the shipped config/)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every fetch attempt to stderr")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="fetch, archive and diff all enabled sources (or --source ones)")
    run.add_argument("--source", action="append", default=[], metavar="ID")

    parse = commands.add_parser("parse", help="run a source's parser on a saved page; touches no database")
    parse.add_argument("source")
    parse.add_argument("file")
    parse.add_argument("--json", action="store_true", help="print the quotes as a JSON array")
    parse.add_argument("--observed-at", help="date for the USD/EUR conversion (default: today)")

    imp = commands.add_parser("import", help="ingest a saved page as if fetched at --observed-at")
    imp.add_argument("source")
    imp.add_argument("file")
    imp.add_argument("--observed-at", required=True, help="ISO 8601, e.g. 2026-07-17T08:00:00Z")
    imp.add_argument("--url", help="where the page was saved from, kept as the snapshot's URL "
                                   "(default: the source's first URL)")

    prices = commands.add_parser("prices", help="the comparative table in force at a date: input, cached input "
                                                "and output, published, in USD and in EUR")
    prices.add_argument("--at", help="date or date-time (default: now)")
    prices.add_argument("--vendor")
    prices.add_argument("--dimension")
    prices.add_argument("--currency", choices=("USD", "EUR", "native"), default=None,
                        help="only these money columns (default: published, USD and EUR)")
    prices.add_argument("--long", action="store_true", help="one row per price instead of one per model")
    prices.add_argument("--format", choices=FORMATS, default="table")

    hist = commands.add_parser("history", help="a model's dated price intervals (listed or canonical id) and "
                                               "the events in the span")
    hist.add_argument("model")
    hist.add_argument("--vendor")
    hist.add_argument("--dimension")
    hist.add_argument("--since")
    hist.add_argument("--until")
    hist.add_argument("--format", choices=FORMATS, default="table")

    commands.add_parser("status", help="per source: last success, last failure and reason, failures in a row")

    events = commands.add_parser("events", help="detected price changes")
    events.add_argument("--since")
    events.add_argument("--until")
    events.add_argument("--vendor")
    events.add_argument("--kind", choices=EVENT_KINDS)
    events.add_argument("--format", choices=FORMATS, default="table")

    explain = commands.add_parser("explain", help="every evidence test behind one event, with its inputs")
    explain.add_argument("event_id", type=record_id)

    analyze = commands.add_parser("analyze", help="the evidence tests for a model's price in force")
    analyze.add_argument("model")
    analyze.add_argument("--at")
    analyze.add_argument("--dimension", default="output")
    analyze.add_argument("--vendor")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_commands.add_parser("upgrade", help="apply the Alembic migrations")
    db_commands.add_parser("stats", help="rows per table, distinct snapshots and bytes")

    for module in EXTENSIONS:
        importlib.import_module(module).add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is printed escaped, not a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    try:
        _refuse_undecodable(args)
        config = load_config(args.config)
        from pipeline import commands

        return commands.dispatch(args, config)
    except PricewatchError as error:
        print(f"pricewatch: {error.line()}", file=sys.stderr)
        return error.exit_code if error.exit_code != 1 else EXIT_FAILED
    except KeyboardInterrupt:
        print("pricewatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:  # the driver's failures are one line too; anything else is a bug to show whole
        from db.session import driver_failure

        failure = driver_failure(error)
        if failure is None:
            raise
        print(f"pricewatch: {failure.line()}", file=sys.stderr)
        return EXIT_FAILED


# Arguments that name files: the file system takes any bytes, and so do they.
_PATH_ARGUMENTS = ("db", "config", "output", "file")


def _refuse_undecodable(args) -> None:
    """An argument that is not UTF-8 (Python keeps its bytes as lone surrogates) can name no
    model, source or URL the archive holds, and no database driver takes it."""
    for name, value in vars(args).items():
        if name in _PATH_ARGUMENTS:
            continue
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not utf8_encodable(text):
                shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                raise InputError(f"an argument is not UTF-8: {shown!r}")


def open_database(args, *, create: bool = False):
    """The archive named by --db (or the default), its schema brought up to date.  Only the
    commands that store (`create`) make a new SQLite file: a query on a mistyped path would
    otherwise answer from an empty archive, as if nothing had ever been seen."""
    from db.session import DEFAULT_DB_PATH, Database, database_url, sqlite_path

    url = database_url(args.db)
    path = sqlite_path(url)
    if path is None and url.startswith("sqlite"):
        raise InputError(f"--db {url} names no file: an archive in memory would be gone when the command ends")
    if path is not None and (foreign := _foreign_tables(path)):
        raise InputError(f"{path} is not a pricewatch archive (it holds {', '.join(foreign[:3])}"
                         f"{', ...' if len(foreign) > 3 else ''}); --db or PRICEWATCH_DB names another")
    if create and path is not None and path != DEFAULT_DB_PATH.resolve() and not path.parent.is_dir():
        raise InputError(f"no directory {path.parent} for the archive {path.name} (a typo in --db or "
                         "PRICEWATCH_DB? only the default ./data/ is made for you)")
    if create or path is None:
        return Database(url)
    if not path.exists() or path.stat().st_size == 0:
        raise InputError(f"no archive at {path} (`pricewatch run` or `pricewatch import` creates one; "
                         "--db or PRICEWATCH_DB names another)")
    return Database(url, read_only=not writable(path))


def _foreign_tables(path: Path) -> list[str]:
    """The tables of a SQLite file that another program made: migrating it would add the
    archive's tables to it.  None for an archive, a missing or empty file, or a file SQLite
    cannot read (Database then says why).  Read as immutable, so that nothing is written beside
    it (a WAL file's index), unless a WAL file beside it may hold tables the file does not yet."""
    if not path.is_file():
        return []
    tables = _tables(path, "mode=ro&immutable=1")
    if not tables and path.with_name(path.name + "-wal").exists():  # a live WAL file may hold them all
        tables = _tables(path, "mode=ro")
    return [] if {"alembic_version", "snapshots"} & set(tables) else tables


def _tables(path: Path, options: str) -> list[str]:
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True)) as connection:
            return [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except (sqlite3.Error, OSError, ValueError):
        return []


def output_path(args) -> Path:
    """The -o file, refused when it is the archive being read, or its journal: a report
    written over it would lose every price."""
    from db.session import database_url, sqlite_path

    path = Path(args.output)
    archive = sqlite_path(database_url(args.db))
    if archive is not None:
        companions = {archive.with_name(archive.name + suffix).resolve() for suffix in ("", "-wal", "-shm", "-journal")}
        if path.resolve() in companions or (path.exists() and archive.exists() and os.path.samefile(path, archive)):
            raise InputError(f"refusing to write {path}: it is the archive itself (--db)")
    return path


def writable(path: Path) -> bool:
    """Whether this process may write the SQLite file and make its journal beside it: a copy on
    read-only media (a published or archived snapshot) is opened read-only, for queries."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def read_file(path: str, limit: int) -> bytes:
    """A saved page, up to `limit` bytes (the fetcher's cap on a decompressed page: a larger
    file could never have been fetched, and is more likely a wrong path than a price list)."""
    try:
        with Path(path).open("rb") as handle:
            content = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(content) > limit:
        raise InputError(f"{path} is larger than {limit:,} bytes ([fetch] max_decompressed_bytes)")
    return content


def today_utc() -> datetime:
    return datetime.now(timezone.utc)
