"""Domain events → webhook deliveries, written in the transaction of the change (no I/O here)."""

from __future__ import annotations

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.core.events import Event
from app.webhooks import service
from app.webhooks.models import WebhookEndpoint


def on_event(session: Session, event: Event) -> None:
    """Queue one delivery of ``event`` for every active endpoint subscribed to it."""
    endpoints = session.exec(
        select(WebhookEndpoint).where(WebhookEndpoint.active == True)  # noqa: E712
    ).all()
    targets = [e for e in endpoints if event.name in e.events]
    if not targets:
        return
    actor = accounts.users_by_id(session=session, ids=[event.actor_id]).get(event.actor_id or 0)
    for endpoint in targets:
        service.enqueue(
            session=session,
            endpoint=endpoint,
            event=event.name,
            occurred_at=event.occurred_at,
            actor=actor,
            data=event.data,
        )
