"""Stage 2, archive: raw bytes kept once per distinct content, compressed, with URL and time."""

from __future__ import annotations

import hashlib
import zlib
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, load_only

from db.models import Snapshot


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


_SNAPSHOT_OF = (select(Snapshot).where(Snapshot.sha256 == bindparam("digest"))
                .options(load_only(Snapshot.sha256, Snapshot.first_seen_at)))  # not the bytes; built once


def archive(session: Session, content: bytes, *, url: str, content_type: str | None, seen_at: datetime) -> Snapshot:
    """The snapshot for these bytes, created on first sight; an earlier sighting moves first_seen back."""
    digest = sha256(content)
    snapshot = session.scalar(_SNAPSHOT_OF, {"digest": digest})
    if snapshot is None:
        compressed = zlib.compress(content, 6)
        snapshot = Snapshot(sha256=digest, url=url, content_type=content_type, size=len(content),
                            compressed_size=len(compressed), content=compressed, first_seen_at=seen_at)
        session.add(snapshot)
        session.flush()
    elif seen_at < snapshot.first_seen_at:
        snapshot.first_seen_at = seen_at
    return snapshot


def snapshot_bytes(snapshot: Snapshot) -> bytes:
    content = zlib.decompress(snapshot.content)
    if sha256(content) != snapshot.sha256:
        raise ValueError(f"snapshot {snapshot.id} does not match its sha256")
    return content
