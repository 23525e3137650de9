"""The webhook worker: claims due deliveries, posts them signed, records each attempt.

Deliveries are claimed in a short write transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; the
IMMEDIATE transaction keeps other writers out on SQLite) by marking them ``sending`` with the
claim time, so several app processes never send the same attempt twice. The HTTP request happens
outside any transaction; its outcome is recorded in another short one, only if the claim is still
ours. A worker that dies mid-send leaves a claim whose lease runs out, and another worker takes it.

Signature (see README): ``X-Atrium-Signature: sha256=HMAC_SHA256(secret, f"{timestamp}." + body)``
with ``timestamp`` the ``X-Atrium-Timestamp`` header (Unix seconds).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, and_, delete, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app.core.config import Settings
from app.core.db import begin_write, is_sqlite, open_session, settings_of
from app.core.time import as_utc, utcnow
from app.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from app.webhooks.service import PING

log = logging.getLogger("atrium.webhooks")

# a worker that claimed a delivery and died: it is tried again after this many seconds (at
# least; longer when a batch could take longer, see lease_seconds)
CLAIM_LEASE_SECONDS = 300
BATCH_SIZE = 10  # claimed together; each is recorded as soon as it is sent
USER_AGENT = "Atrium-Webhooks/1.0"
# finished deliveries (and their attempts) stay in the log this long, then the worker drops them
KEEP_DAYS = 30
PRUNE_EVERY_SECONDS = 3600.0
RESPONSE_EXCERPT_CHARS = 1000


# --- signing -----------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Atrium-Signature value: ``sha256=`` + hex HMAC-SHA256 of ``"{timestamp}." + body``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    try:
        expected = sign(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)


def headers_for(
    *, event: str, uid: str, secret: str, body: bytes, timestamp: int
) -> dict[str, str]:
    """The headers of one attempt."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Atrium-Event": event,
        "X-Atrium-Delivery": uid,
        "X-Atrium-Timestamp": str(timestamp),
        "X-Atrium-Signature": sign(secret, timestamp, body),
    }


def backoff(settings: Settings, attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try (the last wait listed repeats)."""
    waits = settings.webhook_backoff_seconds
    return timedelta(seconds=waits[min(max(attempts, 1), len(waits)) - 1])


# --- claiming and recording ------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """A claimed delivery: everything needed to send it without the database."""

    delivery_id: int
    uid: str
    event: str
    url: str
    secret: str
    body: bytes
    claimed_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What one attempt got back."""

    status_code: int | None
    error: str
    duration_ms: int
    response_body: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Report:
    """What one run did."""

    sent: int = 0
    retried: int = 0  # failed this time, will be tried again
    failed: int = 0  # gave up


def lease_seconds(settings: Settings) -> float:
    """How long a claim holds: longer than a whole batch can take with slow receivers."""
    # each attempt waits at most about two timeouts (the answer's head, then its start)
    return max(float(CLAIM_LEASE_SECONDS), BATCH_SIZE * settings.webhook_timeout * 3)


def _due(now: datetime, lease: float) -> ColumnElement[bool]:
    """Deliveries to send now: pending ones whose time came, and claims whose lease ran out;
    only for active endpoints (a disabled endpoint's queue waits), except test pings."""
    pending = and_(
        col(WebhookDelivery.status) == WebhookDeliveryStatus.pending,
        col(WebhookDelivery.next_attempt_at) <= now,
    )
    stale = and_(
        col(WebhookDelivery.status) == WebhookDeliveryStatus.sending,
        col(WebhookDelivery.claimed_at) <= now - timedelta(seconds=lease),
    )
    wanted = or_(col(WebhookEndpoint.active).is_(True), col(WebhookDelivery.event) == PING)
    return and_(or_(pending, stale), wanted)


def _has_due(session: Session, now: datetime, lease: float) -> bool:
    found = session.exec(
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(_due(now, lease))
        .limit(1)
    ).first()
    session.rollback()  # end the read transaction before the write one
    return found is not None


def claim(*, session: Session, now: datetime | None = None, limit: int = BATCH_SIZE) -> list[Job]:
    """Claim up to ``limit`` due deliveries for this worker, in a short write transaction."""
    now = now or utcnow()
    lease = lease_seconds(settings_of(session))
    if not _has_due(session, now, lease):
        return []
    begin_write(session)
    stmt = (
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(_due(now, lease))
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(limit)
    )
    if not is_sqlite(session):
        # rows another worker is claiming are skipped, not waited for
        stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
    jobs = []
    for delivery, endpoint in session.exec(stmt).all():
        delivery.status = WebhookDeliveryStatus.sending
        delivery.claimed_at = now
        session.add(delivery)
        jobs.append(
            Job(
                delivery_id=delivery.id or 0,
                uid=delivery.uid,
                event=delivery.event,
                url=endpoint.url,
                secret=endpoint.secret,
                body=delivery.payload.encode(),
                claimed_at=now,
            )
        )
    session.commit()
    return jobs


def record(
    *, session: Session, job: Job, outcome: Outcome, now: datetime | None = None
) -> WebhookDeliveryStatus | None:
    """Log an attempt and decide what comes next; None when the claim is no longer ours."""
    settings = settings_of(session)
    now = now or utcnow()
    begin_write(session)
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == job.delivery_id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    delivery = session.exec(stmt).first()
    claimed = delivery.claimed_at if delivery is not None else None
    if (
        delivery is None  # its endpoint was deleted meanwhile
        or delivery.status != WebhookDeliveryStatus.sending
        or claimed is None
        or as_utc(claimed) != as_utc(job.claimed_at)  # another worker took it over
    ):
        session.rollback()
        return None
    session.add(
        WebhookAttempt(
            delivery_id=job.delivery_id,
            started_at=now - timedelta(milliseconds=outcome.duration_ms),
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error[:500],
            response_body=outcome.response_body[:RESPONSE_EXCERPT_CHARS],
        )
    )
    delivery.attempts += 1
    delivery.claimed_at = None
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:500]
    if outcome.ok:
        delivery.status = WebhookDeliveryStatus.succeeded
        delivery.completed_at = now
    elif delivery.attempts >= settings.webhook_max_attempts:
        delivery.status = WebhookDeliveryStatus.failed
        delivery.completed_at = now
    else:
        delivery.status = WebhookDeliveryStatus.pending
        delivery.next_attempt_at = now + backoff(settings, delivery.attempts)
    session.add(delivery)
    session.commit()
    return delivery.status


# --- sending -----------------------------------------------------------------------------------


def new_client(settings: Settings) -> httpx.Client:
    """The HTTP client for deliveries: a timeout, no redirects, no proxies from the environment."""
    return httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False, trust_env=False)


def send(client: httpx.Client, job: Job, *, timestamp: int | None = None) -> Outcome:
    """Post one delivery and report what came back (never raises for network trouble)."""
    stamp = timestamp if timestamp is not None else int(time.time())
    headers = headers_for(
        event=job.event, uid=job.uid, secret=job.secret, body=job.body, timestamp=stamp
    )
    started = time.monotonic()
    try:
        with client.stream("POST", job.url, content=job.body, headers=headers) as response:
            excerpt = b""
            budget = client.timeout.read or 10.0
            for chunk in response.iter_bytes():
                excerpt += chunk
                # only the start of the answer is kept, and a receiver that trickles it out
                # does not hold the worker much longer than one timeout
                if len(excerpt) >= RESPONSE_EXCERPT_CHARS * 4 or _ms_since(started) > budget * 1000:
                    break
            text = excerpt.decode(response.encoding or "utf-8", errors="replace")
            return Outcome(
                status_code=response.status_code,
                error="" if 200 <= response.status_code < 300 else response.reason_phrase,
                duration_ms=_ms_since(started),
                response_body=text[:RESPONSE_EXCERPT_CHARS],
            )
    except httpx.TimeoutException:
        timeout = client.timeout.read or client.timeout.connect
        return Outcome(None, f"timed out after {timeout:g} s", _ms_since(started))
    except Exception as exc:  # connection refused, DNS, TLS, a URL httpx refuses …
        text = str(exc) or type(exc).__name__
        return Outcome(None, f"{type(exc).__name__}: {text}", _ms_since(started))


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def release(*, session: Session, jobs: list[Job]) -> None:
    """Give back claimed deliveries this worker will not send (it is stopping): due again now."""
    if not jobs:
        return
    begin_write(session)
    for job in jobs:
        delivery = session.get(WebhookDelivery, job.delivery_id)
        claimed = delivery.claimed_at if delivery is not None else None
        if (
            delivery is not None
            and delivery.status == WebhookDeliveryStatus.sending
            and claimed is not None
            and as_utc(claimed) == as_utc(job.claimed_at)
        ):
            delivery.status = WebhookDeliveryStatus.pending
            delivery.claimed_at = None
            session.add(delivery)
    session.commit()


def deliver_due(
    *,
    session: Session,
    client: httpx.Client | None = None,
    now: datetime | None = None,
    limit: int = BATCH_SIZE,
    stop: Callable[[], bool] = lambda: False,
) -> Report:
    """Claim one batch of due deliveries, send them and record each outcome (until ``stop()``)."""
    settings = settings_of(session)
    report = Report()
    jobs = claim(session=session, now=now, limit=limit)
    if not jobs:
        return report
    own = client is None
    http = client or new_client(settings)
    try:
        for i, job in enumerate(jobs):
            if stop():
                release(session=session, jobs=jobs[i:])
                break
            outcome = send(http, job)
            status = record(session=session, job=job, outcome=outcome, now=now)
            if status == WebhookDeliveryStatus.succeeded:
                report.sent += 1
            elif status == WebhookDeliveryStatus.failed:
                report.failed += 1
                log.warning("webhook delivery %s failed for good: %s", job.uid, outcome.error)
            elif status == WebhookDeliveryStatus.pending:
                report.retried += 1
    finally:
        if own:
            http.close()
    return report


def deliver_all(
    *, session: Session, now: datetime | None = None, stop: Callable[[], bool] = lambda: False
) -> Report:
    """Send batches until nothing is due (or ``stop()`` says so)."""
    total = Report()
    settings = settings_of(session)
    client: httpx.Client | None = None  # made at the first due batch: usually nothing is due,
    # and making one loads the CA bundle (~16 ms of CPU every interval in every web worker)
    try:
        while not stop():
            if client is None and _has_due(session, now or utcnow(), lease_seconds(settings)):
                client = new_client(settings)
            if client is None:
                return total
            report = deliver_due(session=session, client=client, now=now, stop=stop)
            total.sent += report.sent
            total.retried += report.retried
            total.failed += report.failed
            if report.sent + report.retried + report.failed == 0:
                return total
    finally:
        if client is not None:
            client.close()
    return total


def prune(
    *, session: Session, now: datetime | None = None, keep_days: int = KEEP_DAYS, limit: int = 1000
) -> int:
    """Drop up to ``limit`` deliveries finished over ``keep_days`` ago; returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    old = and_(
        col(WebhookDelivery.status).in_(
            [WebhookDeliveryStatus.succeeded, WebhookDeliveryStatus.failed]
        ),
        col(WebhookDelivery.completed_at) < cutoff,
    )
    found = session.exec(select(WebhookDelivery.id).where(old).limit(1)).first()
    session.rollback()
    if found is None:
        return 0  # the usual case: no write lock taken
    begin_write(session)
    ids = list(session.exec(select(WebhookDelivery.id).where(old).limit(limit)))
    session.execute(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids)))
    session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids)))
    session.commit()
    return len(ids)


# --- the background task ----------------------------------------------------------------------


def _run_once(engine: Engine, settings: Settings, stop: threading.Event, tidy: bool) -> None:
    with open_session(engine, settings) as session:
        deliver_all(session=session, stop=stop.is_set)
        if tidy:
            prune(session=session)


@asynccontextmanager
async def delivery_task(engine: Engine, settings: Settings) -> AsyncIterator[None]:
    """Send due webhook deliveries every ``webhook_interval`` seconds while the app runs."""
    if not settings.webhook_worker:
        yield
        return
    stop = asyncio.Event()
    stopping = threading.Event()  # seen by the sending thread between deliveries

    async def loop() -> None:
        pruned_at: float | None = None  # prune at start-up, then hourly
        while not stop.is_set():
            tidy = pruned_at is None or time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS
            pruned_at = time.monotonic() if tidy else pruned_at
            try:
                await asyncio.to_thread(_run_once, engine, settings, stopping, tidy)
            except Exception:
                log.exception("webhook delivery run failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.webhook_interval)

    task = asyncio.create_task(loop(), name="atrium-webhooks")
    try:
        yield
    finally:
        stop.set()
        stopping.set()
        await task
