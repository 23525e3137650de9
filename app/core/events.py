"""Domain events: what happened, published inside the transaction that made it happen.

A service that changes something other parts care about (webhooks, the audit log) calls
``publish(session, Event(...))`` before its commit. Every subscriber runs right there, in the same
transaction, and only writes rows (a webhook delivery to send later, an audit entry): so either
the change and everything it caused are stored, or none of it is. Subscribers never commit and
never do I/O; background workers do the sending.

Subscribers live in their domains and are listed in ``SUBSCRIBER_MODULES``; each module exposes
``on_event(session, event)``. They are imported on first use, so a domain that publishes never
imports the domains that listen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.core.time import utcnow

# name → what it means; webhooks offer these to subscribe to, the audit log records them
EVENTS: dict[str, str] = {
    "page.saved": "A page was created, edited, reverted or restored",
    "page.moved": "A page was given a new address",
    "page.deleted": "A page was deleted",
    "thread.opened": "A discussion was started on a page",
    "thread.resolved": "A discussion was resolved (or reopened)",
    "decision.recorded": "A decision was accepted into the decision log",
    "workshop.closed": "A workshop was closed and its summary written",
}

# modules with an ``on_event(session, event)``; each domain that listens adds itself here
SUBSCRIBER_MODULES: tuple[str, ...] = ("app.webhooks.subscriber", "app.audit.subscriber")

Subscriber = Callable[[Session, "Event"], None]


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened: its name (a key of EVENTS), who did it and what it was about."""

    name: str
    actor_id: int | None
    data: Mapping[str, Any]
    occurred_at: datetime = field(default_factory=utcnow)


_subscribers: list[Subscriber] | None = None


def _load() -> list[Subscriber]:
    global _subscribers
    if _subscribers is None:
        _subscribers = [importlib.import_module(name).on_event for name in SUBSCRIBER_MODULES]
    return _subscribers


def publish(session: Session, event: Event) -> None:
    """Let every subscriber record what ``event`` causes, in the caller's transaction."""
    if event.name not in EVENTS:  # a programming error
        raise ValueError(f"unknown event {event.name!r}")
    for subscriber in _load():
        subscriber(session, event)
