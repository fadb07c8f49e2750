"""One run per source at a time: a PostgreSQL advisory lock, or a file lock beside the SQLite file.

A second `pricewatch run` that finds a source locked skips it and says so, so that
overlapping cron invocations never fetch or write the same source twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import text

from db.session import Database


def _lock_id(source_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"pricewatch:{source_id}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def source_lock(db: Database, source_id: str) -> Iterator[bool]:
    """Yield True when this process holds the source's lock, False when another one does."""
    if db.dialect == "postgresql":
        with db.engine.connect() as connection:
            held = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_id(source_id)}).scalar()
            connection.commit()
            try:
                yield bool(held)
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_id(source_id)})
                    connection.commit()
        return
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
