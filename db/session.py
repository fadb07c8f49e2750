"""Engine and sessions: the database URL, SQLite pragmas, and migrations on first use."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.errors import ConfigError, DatabaseUnavailable

DEFAULT_DB_PATH = Path("data") / "pricewatch.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# On PostgreSQL, what BEGIN IMMEDIATE gives on SQLite: one writing transaction at a time, so that
# two runs creating the same snapshot or quote set never collide on its unique key, and two
# processes starting together migrate in turn.
ONE_WRITER = text("SELECT pg_advisory_xact_lock(7021777960000000001)")
WRITER = "pricewatch_writer"  # the execution option that marks a writing connection


def database_url(explicit: str | None = None) -> str:
    url = explicit or os.environ.get("PRICEWATCH_DB")
    if url:
        return url if "://" in url else f"sqlite:///{Path(url).resolve()}"
    return f"sqlite:///{DEFAULT_DB_PATH.resolve()}"


# `scheme://user:` then the password, up to the LAST `@`: an unencoded password may hold `/` or `@`
# (masking a port and path too, when a later `@` is in the query, is the safe mistake).
_PASSWORD = re.compile(r"(://[^/@:]*:)(.*)@")
# A password given as a query parameter (libpq reads `?password=` and `?sslpassword=`).
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)([^&#]*)", re.IGNORECASE)


def shown_url(url: str) -> str:
    """The database URL as it may be printed: its password masked, even in a URL that does not parse."""
    return _QUERY_PASSWORD.sub(r"\1***", _PASSWORD.sub(r"\1***@", url))


def without_password(text: str, url: str) -> str:
    """`text` (a driver's message about `url`) with the URL's password, and any part of it
    split off at `@` or `/` (a driver may echo a misparsed password as the host), masked."""
    secrets = [found[2] for found in _QUERY_PASSWORD.finditer(url) if found[2]]
    found = _PASSWORD.search(url)
    if found and found[2]:
        secrets += [found[2], *re.split(r"[@/]", found[2])]
    for part in sorted(set(secrets), key=len, reverse=True):
        if len(part) >= 3:
            text = text.replace(part, "***")
    return text


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    _, separator, path = url.partition(":///")  # "sqlite://" names no file either
    return Path(path) if separator and path and path != ":memory:" else None


def on_read_only_media(path: Path) -> bool:
    return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    try:
        if url.startswith("sqlite") and read_only:
            # A file this process may not write.  On read-only media SQLite can neither lock it nor
            # make its WAL index there, and nothing else can change it: opened as immutable, unless
            # it came with a write-ahead log never folded back in, which immutable would silently
            # ignore.  Elsewhere a writer (the cron user's run) may be at work: plain read-only.
            path = sqlite_path(url)
            wal = Path(f"{path}-wal")
            unchanging = on_read_only_media(path) and not (wal.exists() and wal.stat().st_size)
            engine = create_engine(f"sqlite:///file:{quote(str(path))}?mode=ro{'&immutable=1' if unchanging else ''}"
                                   "&uri=true")
            event.listen(engine, "connect", _sqlite_reader)
            event.listen(engine, "begin", _sqlite_begin)
        elif url.startswith("sqlite"):
            path = sqlite_path(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 60})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            with_driver = "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url
            engine = create_engine(with_driver, pool_pre_ping=True)
            event.listen(engine, "connect", _postgresql_limits)
    except (ArgumentError, ImportError, ValueError) as exc:  # ValueError: a port that is not a number
        raise ConfigError(f"bad database URL {shown_url(url)!r}: {without_password(str(exc), url)}") from None
    except OSError as exc:  # the SQLite file's directory cannot be made
        raise DatabaseUnavailable(f"cannot open {shown_url(url)}: {exc.strerror or exc}") from None
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE below takes effect.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_reader(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # as _sqlite_pragmas, without the settings that write


def _sqlite_begin(connection) -> None:
    # A writer takes the write lock at the start: two overlapping runs then queue on
    # busy_timeout instead of failing with "database is locked" on a read-to-write upgrade.
    # A reader begins a deferred transaction: in WAL mode it neither waits for a writer nor
    # holds one up, so a long report never stalls a run.
    writer = connection.get_execution_options().get(WRITER, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def _shipped_revisions() -> list[str]:
    """The migrations this version carries: files are named after their revision (0004_alert_watermark.py is 0004)."""
    return sorted(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def head_revision() -> str:
    """The newest migration."""
    return _shipped_revisions()[-1]


def _schema_revisions(engine: Engine) -> list[str]:
    """The revisions the database's schema is at (none for a new one), read without loading
    Alembic (a tenth of a second of every command's start-up)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return []
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        connection.rollback()
    return current


def require_newest(engine: Engine) -> None:
    """A read-only archive cannot be migrated: it must already be at this pricewatch's schema."""
    current, newest = _schema_revisions(engine), head_revision()
    if current != [newest]:
        raise DatabaseUnavailable(f"the archive is read-only and its schema is at revision "
                                  f"{', '.join(current) or 'none'}, not {newest}: read it with the pricewatch "
                                  "that wrote it, or run `pricewatch db upgrade` on a writable copy")


# How long a writer waits for the write lock (ONE_WRITER), and how long a session may sit in an
# open transaction doing nothing, before PostgreSQL gives up on it.  Without them a writer on a
# machine that froze or lost its network mid-transaction held every other writer, on every
# machine sharing the archive, for as long as TCP took to notice (two hours by default).  A
# write transaction here lasts well under a second, so both are generous.
WRITER_WAIT_SECONDS = 120
IDLE_IN_TRANSACTION_SECONDS = 300


def _postgresql_limits(dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, false), "
                       "set_config('idle_in_transaction_session_timeout', %s, false)",
                       (f"{int(WRITER_WAIT_SECONDS * 1000)}ms", f"{int(IDLE_IN_TRANSACTION_SECONDS * 1000)}ms"))
    dbapi_connection.commit()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (Alembic)."""
    current, shipped = _schema_revisions(engine), _shipped_revisions()
    if current == shipped[-1:]:
        return
    newer = sorted(set(current) - set(shipped))
    if newer:  # a downgraded pricewatch must not run migrations over an archive it cannot read
        raise DatabaseUnavailable(f"the archive's schema is at revision {newer[0]}, newer than this pricewatch "
                                  f"knows (its newest is {shipped[-1]}); upgrade pricewatch")
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.execution_options(**{WRITER: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(ONE_WRITER)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def driver_failure(error: BaseException) -> DatabaseUnavailable | None:
    """The one-line error for a failure the database driver raised (a server gone, a disk
    full, a damaged file), or None for any other exception.  Only the driver's own first
    line is kept: SQLAlchemy's text would add the statement and its scraped parameters."""
    if not isinstance(error, DBAPIError):
        return None
    lines = str(error.orig).strip().splitlines()
    return DatabaseUnavailable(lines[0] if lines else error.orig.__class__.__name__)


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, migrate: bool = True, read_only: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, read_only=read_only)
        try:
            if read_only:
                require_newest(self.engine)
            elif migrate:
                upgrade(self.engine)
        except DBAPIError as exc:
            raise DatabaseUnavailable(f"cannot open {shown_url(url)}: "
                                      f"{without_password(driver_failure(exc).message, url)}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(self.engine.execution_options(**{WRITER: True}), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def printable_url(self) -> str:
        """The archive's URL as it may be printed: the driver named, every password masked."""
        return shown_url(self.engine.url.render_as_string(hide_password=True))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together, or not at all (it holds the write lock)."""
        with self._writers() as session, session.begin():
            if self.dialect == "postgresql":
                session.execute(ONE_WRITER)
            yield session

    def session(self) -> Session:
        """A session for reading; what it writes is never committed."""
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()
