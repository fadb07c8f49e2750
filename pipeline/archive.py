"""Stage 2, archive: raw bytes kept once per distinct content, compressed, with URL and time."""

from __future__ import annotations

import hashlib
import zlib
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from db.models import Snapshot


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Archived(NamedTuple):
    """A page in the archive: its snapshot's id and the sha256 of its bytes."""

    id: int
    sha256: str


# A server's Content-Type may be any length; its media type and charset come first.
_CONTENT_TYPE_WIDTH = Snapshot.__table__.c.content_type.type.length

# Built once: a run archives every page it reads.
_SNAPSHOT_OF = select(Snapshot.id, Snapshot.first_seen_at).where(Snapshot.sha256 == bindparam("digest"))
_INSERT_SNAPSHOT = insert(Snapshot.__table__).returning(Snapshot.__table__.c.id)
_MOVE_FIRST_SEEN = (update(Snapshot.__table__).where(Snapshot.__table__.c.id == bindparam("snapshot"))
                    .values(first_seen_at=bindparam("seen")))


def archive(session: Session, content: bytes, *, url: str, content_type: str | None, seen_at: datetime) -> Archived:
    """The snapshot for these bytes, created on first sight; an earlier sighting moves first_seen back."""
    digest = sha256(content)
    found = session.execute(_SNAPSHOT_OF, {"digest": digest}).first()
    if found is None:
        compressed = zlib.compress(content, 6)
        snapshot_id = session.execute(_INSERT_SNAPSHOT, dict(
            sha256=digest, url=url, content_type=content_type and content_type[:_CONTENT_TYPE_WIDTH],
            size=len(content), compressed_size=len(compressed),
            content=compressed, first_seen_at=seen_at)).scalar_one()
        return Archived(snapshot_id, digest)
    if seen_at < found.first_seen_at:
        session.execute(_MOVE_FIRST_SEEN, {"snapshot": found.id, "seen": seen_at})
    return Archived(found.id, digest)


def snapshot_bytes(snapshot: Snapshot) -> bytes:
    content = zlib.decompress(snapshot.content)
    if sha256(content) != snapshot.sha256:
        raise ValueError(f"snapshot {snapshot.id} does not match its sha256")
    return content
