"""Webhooks services: endpoints (admins only), the delivery outbox, test and redelivery."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import begin_write
from app.core.errors import Conflict, Invalid, NotFound
from app.core.events import EVENTS
from app.core.time import utcnow
from app.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from app.webhooks.schemas import WebhookCreate, WebhookUpdate

PING = "ping"  # the test delivery's event: never subscribed to, sent on request
MAX_URL_CHARS = 2000
MAX_DESCRIPTION_CHARS = 500
MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 200
DELIVERY_LOG_SIZE = 50


# --- checks ------------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """The URL, trimmed, if it is an http(s) address Atrium may post to (raises Invalid)."""
    url = url.strip()
    if not url:
        raise Invalid("A webhook needs a URL.", field="url")
    if len(url) > MAX_URL_CHARS:
        raise Invalid(f"A webhook URL can have at most {MAX_URL_CHARS} characters.", field="url")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise Invalid("A webhook URL cannot contain spaces or control characters.", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when the port is not a number in range
    except ValueError:
        raise Invalid(f"{url[:80]!r} is not a valid URL.", field="url") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise Invalid(
            f"A webhook URL must start with http:// or https:// (this one has {shown}).",
            field="url",
        )
    if parts.username is not None or parts.password is not None:
        raise Invalid(
            "A webhook URL cannot contain a user name or password; receivers check the "
            "X-Atrium-Signature header instead.",
            field="url",
        )
    if not parts.hostname:
        raise Invalid(
            "A webhook URL needs a host name, e.g. https://example.com/hook.", field="url"
        )
    if port == 0:
        raise Invalid(f"{url[:80]!r} is not a valid URL (port 0).", field="url")
    return url


def check_events(names: list[str]) -> list[str]:
    """The chosen events in the order EVENTS lists them (raises Invalid for none or unknown)."""
    chosen = {n.strip() for n in names if n.strip()}
    if not chosen:
        raise Invalid("Choose at least one event for the webhook to receive.", field="events")
    unknown = sorted(chosen - EVENTS.keys())
    if unknown:
        raise Invalid(
            f"Unknown event{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)[:200]}. "
            f"Choose from: {', '.join(EVENTS)}.",
            field="events",
        )
    return [name for name in EVENTS if name in chosen]


def _check_description(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise Invalid(
            f"A description can have at most {MAX_DESCRIPTION_CHARS} characters.",
            field="description",
        )
    return text


def _check_secret(secret: str) -> str:
    if not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS:
        raise Invalid(
            f"A secret needs {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters "
            "(leave it empty to have one generated).",
            field="secret",
        )
    if not secret.isascii() or not secret.isprintable() or " " in secret:
        raise Invalid(
            "A secret can only contain printable ASCII characters without spaces.", field="secret"
        )
    return secret


def generate_secret() -> str:
    """A new random signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


# --- endpoints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointSummary:
    """An endpoint with how its deliveries are doing."""

    endpoint: WebhookEndpoint
    pending: int = 0
    failed: int = 0
    last: WebhookDelivery | None = None


def list_endpoints(*, session: Session, user: User | None) -> list[EndpointSummary]:
    """Every webhook endpoint with counts of queued and failed deliveries."""
    accounts.require(user, "webhook.manage")
    endpoints = list(session.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))))
    counts: dict[tuple[int, str], int] = {}
    for endpoint_id, status, n in session.exec(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
        .where(
            col(WebhookDelivery.status).in_(
                [
                    WebhookDeliveryStatus.pending,
                    WebhookDeliveryStatus.sending,
                    WebhookDeliveryStatus.failed,
                ]
            )
        )
        .group_by(col(WebhookDelivery.endpoint_id), col(WebhookDelivery.status))
    ):
        counts[(endpoint_id, str(status))] = n
    last_ids = session.exec(
        select(func.max(WebhookDelivery.id)).group_by(col(WebhookDelivery.endpoint_id))
    ).all()
    last = {
        d.endpoint_id: d
        for d in session.exec(select(WebhookDelivery).where(col(WebhookDelivery.id).in_(last_ids)))
    }
    return [
        EndpointSummary(
            endpoint=e,
            pending=counts.get((e.id or 0, "pending"), 0) + counts.get((e.id or 0, "sending"), 0),
            failed=counts.get((e.id or 0, "failed"), 0),
            last=last.get(e.id or 0),
        )
        for e in endpoints
    ]


def _endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"There is no webhook {endpoint_id}.")
    return endpoint


def get_endpoint(*, session: Session, user: User | None, endpoint_id: int) -> WebhookEndpoint:
    """One endpoint (raises NotFound)."""
    accounts.require(user, "webhook.manage")
    return _endpoint(session, endpoint_id)


def create_endpoint(*, session: Session, user: User | None, data: WebhookCreate) -> WebhookEndpoint:
    """Register an endpoint; its ``secret`` is the one to show the admin, once."""
    author = accounts.require_user(user, "webhook.manage")
    endpoint = WebhookEndpoint(
        url=check_url(data.url),
        description=_check_description(data.description),
        events=check_events(data.events),
        active=data.active,
        secret=_check_secret(data.secret) if data.secret else generate_secret(),
        created_by_id=author.id,
    )
    begin_write(session)
    session.add(endpoint)
    session.commit()
    return endpoint


def update_endpoint(
    *, session: Session, user: User | None, endpoint_id: int, data: WebhookUpdate
) -> WebhookEndpoint:
    """Change an endpoint's URL, description, events or active flag (all checked first)."""
    accounts.require(user, "webhook.manage")
    url = check_url(data.url) if data.url is not None else None
    description = _check_description(data.description) if data.description is not None else None
    chosen = check_events(data.events) if data.events is not None else None
    begin_write(session)
    endpoint = _endpoint(session, endpoint_id)
    if url is not None:
        endpoint.url = url
    if description is not None:
        endpoint.description = description
    if chosen is not None:
        endpoint.events = chosen
    if data.active is not None:
        endpoint.active = data.active
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.commit()
    return endpoint


def delete_endpoint(*, session: Session, user: User | None, endpoint_id: int) -> None:
    """Remove an endpoint and its delivery log."""
    accounts.require(user, "webhook.manage")
    begin_write(session)
    endpoint = _endpoint(session, endpoint_id)
    # the log goes with it (explicitly: SQLite cascades only with foreign keys on)
    ids = list(
        session.exec(select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id))
    )
    if ids:
        for attempt in session.exec(
            select(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids))
        ):
            session.delete(attempt)
        for delivery in session.exec(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        ):
            session.delete(delivery)
        session.flush()
    session.delete(endpoint)
    session.commit()


def rotate_secret(
    *, session: Session, user: User | None, endpoint_id: int, secret: str | None = None
) -> WebhookEndpoint:
    """Give an endpoint a new secret (generated unless given); later attempts are signed with it."""
    accounts.require(user, "webhook.manage")
    new = _check_secret(secret) if secret else generate_secret()
    begin_write(session)
    endpoint = _endpoint(session, endpoint_id)
    endpoint.secret = new
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.commit()
    return endpoint


# --- deliveries --------------------------------------------------------------------------------


def payload_json(
    *,
    uid: str,
    event: str,
    occurred_at: datetime,
    actor: User | None,
    data: Mapping[str, Any],
) -> str:
    """The JSON body of a delivery: {id, event, occurred_at, actor, data}."""
    body = {
        "id": uid,
        "event": event,
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "actor": (
            {"id": actor.id, "username": actor.username, "name": actor.label}
            if actor is not None and actor.id is not None
            else None
        ),
        "data": dict(data),
    }
    return json.dumps(body, default=str, ensure_ascii=False, separators=(",", ":"))


def enqueue(
    *,
    session: Session,
    endpoint: WebhookEndpoint,
    event: str,
    occurred_at: datetime,
    actor: User | None,
    data: Mapping[str, Any],
) -> WebhookDelivery:
    """Queue one delivery in the caller's transaction (the worker sends it)."""
    uid = str(uuid.uuid4())
    delivery = WebhookDelivery(
        uid=uid,
        endpoint_id=endpoint.id or 0,
        event=event,
        payload=payload_json(uid=uid, event=event, occurred_at=occurred_at, actor=actor, data=data),
        next_attempt_at=utcnow(),
    )
    session.add(delivery)
    return delivery


@dataclass(frozen=True)
class DeliveryView:
    """A delivery with its attempts, newest first."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt] = field(default_factory=list)


def list_deliveries(
    *, session: Session, user: User | None, endpoint_id: int, limit: int = DELIVERY_LOG_SIZE
) -> list[DeliveryView]:
    """An endpoint's latest deliveries with their attempts."""
    accounts.require(user, "webhook.manage")
    _endpoint(session, endpoint_id)
    deliveries = list(
        session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(limit)
        )
    )
    by_delivery: dict[int, list[WebhookAttempt]] = {}
    if deliveries:
        for attempt in session.exec(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_([d.id for d in deliveries]))
            .order_by(col(WebhookAttempt.id).desc())
        ):
            by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
    return [DeliveryView(delivery=d, attempts=by_delivery.get(d.id or 0, [])) for d in deliveries]


def get_delivery(
    *, session: Session, user: User | None, endpoint_id: int, delivery_id: int
) -> DeliveryView:
    """One delivery of an endpoint with its attempts (raises NotFound)."""
    accounts.require(user, "webhook.manage")
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound(f"Webhook {endpoint_id} has no delivery {delivery_id}.")
    attempts = session.exec(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(col(WebhookAttempt.id).desc())
    )
    return DeliveryView(delivery=delivery, attempts=list(attempts))


def send_test(*, session: Session, user: User | None, endpoint_id: int) -> WebhookDelivery:
    """Queue a "ping" delivery to an endpoint (sent even while it is disabled)."""
    admin = accounts.require_user(user, "webhook.manage")
    begin_write(session)
    endpoint = _endpoint(session, endpoint_id)
    delivery = enqueue(
        session=session,
        endpoint=endpoint,
        event=PING,
        occurred_at=utcnow(),
        actor=admin,
        data={"webhook_id": endpoint.id, "message": "A test delivery from Atrium."},
    )
    session.commit()
    return delivery


def redeliver(
    *, session: Session, user: User | None, endpoint_id: int, delivery_id: int
) -> WebhookDelivery:
    """Queue a finished delivery again, with the same id and body and a fresh set of attempts."""
    accounts.require(user, "webhook.manage")
    begin_write(session)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound(f"Webhook {endpoint_id} has no delivery {delivery_id}.")
    if delivery.status in (WebhookDeliveryStatus.pending, WebhookDeliveryStatus.sending):
        raise Conflict("This delivery is still queued; it will be sent (again) by itself.")
    delivery.status = WebhookDeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.claimed_at = None
    delivery.completed_at = None
    session.add(delivery)
    session.commit()
    return delivery
