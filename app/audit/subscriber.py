"""Writes an audit entry for every domain event, in the transaction of the change itself."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.accounts.models import User
from app.audit import service
from app.core.events import Event


def _target(data: Any) -> str:
    for key in ("slug", "ref", "summary_slug"):
        if data.get(key):
            return str(data[key])
    for key in ("thread_id", "decision_id", "workshop_id"):
        if data.get(key) is not None:
            return f"{key.removesuffix('_id')} {data[key]}"
    return ""


def on_event(session: Session, event: Event) -> None:
    """Record ``event`` (no commit: the publishing service commits it with its change)."""
    actor = session.get(User, event.actor_id) if event.actor_id is not None else None
    data = dict(event.data)
    if event.name.startswith("thread.") and data.get("thread_id") is not None:
        target = f"{data.get('slug', '')} thread {data['thread_id']}".strip()
    else:
        target = _target(data)
    service.record(
        session=session,
        action=event.name,
        actor_id=event.actor_id,
        actor_name=actor.username if actor is not None else "atrium",
        target=target,
        details={k: v for k, v in data.items() if k != "excerpt"},
    )
