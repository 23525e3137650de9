"""Search use cases; ``enqueue`` is the seam other domains call inside their transaction."""

from __future__ import annotations

from sqlmodel import Session

from app.search.models import OutboxEvent


def enqueue(*, session: Session, kind: str, ref_id: int) -> None:
    """Record that a searchable document changed; committed with the caller's transaction."""
    session.add(OutboxEvent(kind=kind, ref_id=ref_id))
