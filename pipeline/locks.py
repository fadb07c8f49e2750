"""One run per source at a time: a PostgreSQL advisory lock, or a file lock beside the SQLite file.

A second `pricewatch run` (or a `serve` on another machine sharing the PostgreSQL archive)
that finds a source locked skips it and says so, so that overlapping invocations never
fetch or write the same source twice.  The lock is re-entrant within a thread: a scheduler
job checks under the lock whether its slot is still due, then calls `run_source`, which
takes the same lock again.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import text

from db.session import Database

_held_by_this_thread = threading.local()


def _lock_id(source_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"pricewatch:{source_id}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def source_lock(db: Database, source_id: str) -> Iterator[bool]:
    """Yield True when this thread holds the source's lock, False when another run does."""
    held = _held_by_this_thread.__dict__.setdefault("keys", set())
    key = (db.url, source_id)
    if key in held:
        yield True
        return
    acquire = _advisory_lock if db.dialect == "postgresql" else _file_lock
    with acquire(db, source_id) as got:
        if got:
            held.add(key)
        try:
            yield got
        finally:
            held.discard(key)


@contextmanager
def _advisory_lock(db: Database, source_id: str) -> Iterator[bool]:
    """A session-level advisory lock on a connection kept for the whole run (no open transaction)."""
    with db.engine.connect() as connection:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_id(source_id)}).scalar()
        connection.commit()
        try:
            yield bool(got)
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_id(source_id)})
                connection.commit()


@contextmanager
def _file_lock(db: Database, source_id: str) -> Iterator[bool]:
    """flock(2) on a file per source: released by the kernel if the process dies."""
    directory = _lock_dir(db)
    directory.mkdir(parents=True, exist_ok=True)
    handle = os.open(directory / f"{hashlib.sha1(source_id.encode()).hexdigest()[:16]}.lock", os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def _lock_dir(db: Database) -> Path:
    database = db.engine.url.database
    if database and database != ":memory:":
        return Path(database).with_name(Path(database).name + ".locks")
    return Path("data") / ".locks"
