"""The webhook worker: signing, claims and their lease, the retry schedule, giving up."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.core.config import Settings
from app.core.db import settings_of
from app.core.time import as_utc, utcnow
from app.webhooks import sender, service
from app.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from app.webhooks.schemas import WebhookCreate, WebhookUpdate
from tests.factories import make_page, make_user


@pytest.fixture
def admin(session: Session) -> User:
    return make_user(session, username="ada", role=Role.admin)


@pytest.fixture
def endpoint(session: Session, admin: User) -> WebhookEndpoint:
    return service.create_endpoint(
        session=session,
        user=admin,
        data=WebhookCreate(url="https://receiver.test/hook", events=["page.saved"]),
    )


def _tune(session: Session, **values: object) -> Settings:
    settings = settings_of(session).model_copy(update=values)
    session.info["settings"] = settings
    return settings


def _client(answer: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(answer), follow_redirects=False)


def _delivery(session: Session, delivery_id: int | None) -> WebhookDelivery:
    session.rollback()
    row = session.get(WebhookDelivery, delivery_id)
    assert row is not None
    session.refresh(row)
    return row


def _attempts(session: Session, delivery_id: int | None) -> list[WebhookAttempt]:
    session.rollback()
    stmt = select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
    return list(session.exec(stmt.order_by(col(WebhookAttempt.id))))


def test_the_signature_is_an_hmac_of_timestamp_and_body() -> None:
    body = b'{"id":"x","event":"ping"}'
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sender.sign("whsec_abc", 1700000000, body) == f"sha256={expected}"
    assert sender.verify("whsec_abc", "1700000000", body, f"sha256={expected}")
    assert not sender.verify("whsec_abd", "1700000000", body, f"sha256={expected}")
    assert not sender.verify("whsec_abc", "1700000001", body, f"sha256={expected}")
    assert not sender.verify("whsec_abc", "soon", body, f"sha256={expected}")


def test_a_delivery_is_posted_signed_with_its_headers(
    session: Session, admin: User, endpoint: WebhookEndpoint
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    delivery = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    report = sender.deliver_due(session=session, client=_client(answer))
    assert report.sent == 1
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == "https://receiver.test/hook"
    assert request.content == delivery.payload.encode()
    h = request.headers
    assert h["content-type"] == "application/json"
    assert h["user-agent"].startswith("Atrium-Webhooks")
    assert h["x-atrium-event"] == "ping"
    assert h["x-atrium-delivery"] == delivery.uid
    assert sender.verify(
        endpoint.secret, h["x-atrium-timestamp"], request.content, h["x-atrium-signature"]
    )
    row = _delivery(session, delivery.id)
    assert (row.status, row.attempts, row.last_status_code) == ("succeeded", 1, 204)
    assert row.completed_at is not None


def test_a_claim_is_taken_once_and_retaken_when_its_lease_runs_out(
    session: Session, admin: User, endpoint: WebhookEndpoint
) -> None:
    delivery = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    now = utcnow()
    [job] = sender.claim(session=session, now=now)
    assert _delivery(session, delivery.id).status == WebhookDeliveryStatus.sending
    # a second worker finds nothing while the claim holds
    assert sender.claim(session=session, now=now + timedelta(seconds=60)) == []
    # the first worker died: after the lease another one takes it over …
    later = now + timedelta(seconds=sender.CLAIM_LEASE_SECONDS + 1)
    [retaken] = sender.claim(session=session, now=later)
    assert retaken.delivery_id == job.delivery_id
    # … and the first one's late result is not recorded over the new claim
    late = sender.Outcome(status_code=200, error="", duration_ms=5)
    assert sender.record(session=session, job=job, outcome=late, now=later) is None
    assert _attempts(session, delivery.id) == []
    ok = sender.record(session=session, job=retaken, outcome=late, now=later)
    assert ok == WebhookDeliveryStatus.succeeded
    assert len(_attempts(session, delivery.id)) == 1


def test_failures_are_retried_on_the_backoff_schedule_then_given_up(
    session: Session, admin: User, endpoint: WebhookEndpoint
) -> None:
    _tune(session, webhook_backoff_seconds=[30.0, 120.0, 600.0], webhook_max_attempts=5)
    calls = 0

    def answer(_request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, text="down for maintenance " + "x" * 5000)

    client = _client(answer)
    delivery = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    now = utcnow()
    waits = []
    for expected_wait in (30, 120, 600, 600):  # the last wait repeats
        report = sender.deliver_due(session=session, client=client, now=now)
        assert report.retried == 1
        row = _delivery(session, delivery.id)
        assert row.status == WebhookDeliveryStatus.pending
        waits.append((as_utc(row.next_attempt_at) - now).total_seconds())
        assert waits[-1] == expected_wait
        # not due a second early
        early = now + timedelta(seconds=expected_wait - 1)
        assert sender.deliver_due(session=session, client=client, now=early).retried == 0
        now += timedelta(seconds=expected_wait)
    report = sender.deliver_due(session=session, client=client, now=now)
    assert report.failed == 1
    row = _delivery(session, delivery.id)
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 5, 503)
    assert calls == 5
    attempts = _attempts(session, delivery.id)
    assert [a.status_code for a in attempts] == [503] * 5
    assert attempts[0].error == "Service Unavailable"
    assert attempts[0].response_body.startswith("down for maintenance")
    assert len(attempts[0].response_body) == sender.RESPONSE_EXCERPT_CHARS
    # given up: nothing is due any more
    assert sender.claim(session=session, now=now + timedelta(days=1)) == []


def test_network_errors_and_redirects_count_as_failures(
    session: Session, admin: User, endpoint: WebhookEndpoint
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    delivery = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    sender.deliver_due(session=session, client=_client(refuse))
    row = _delivery(session, delivery.id)
    assert row.status == WebhookDeliveryStatus.pending
    assert row.last_status_code is None
    assert row.last_error == "ConnectError: Connection refused"

    def moved(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://elsewhere.test/"})

    sender.deliver_due(session=session, client=_client(moved), now=utcnow() + timedelta(hours=1))
    [first, second] = _attempts(session, delivery.id)
    assert (first.status_code, second.status_code) == (None, 302)
    assert _delivery(session, delivery.id).status == WebhookDeliveryStatus.pending


def test_a_timeout_is_logged_as_such(
    session: Session, admin: User, endpoint: WebhookEndpoint
) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    delivery = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    client = httpx.Client(transport=httpx.MockTransport(slow), timeout=10.0)
    sender.deliver_due(session=session, client=client)
    assert _attempts(session, delivery.id)[0].error == "timed out after 10 s"


def test_a_disabled_endpoint_keeps_its_queue_but_still_gets_pings(
    session: Session, admin: User, endpoint: WebhookEndpoint
) -> None:
    editor = make_user(session, username="alice", role=Role.editor)
    make_page(session, slug="p", body="a\n", author=editor)
    service.update_endpoint(
        session=session,
        user=admin,
        endpoint_id=endpoint.id or 0,
        data=WebhookUpdate(active=False),
    )
    service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    jobs = sender.claim(session=session)
    assert [j.event for j in jobs] == ["ping"]
    service.update_endpoint(
        session=session, user=admin, endpoint_id=endpoint.id or 0, data=WebhookUpdate(active=True)
    )
    assert [j.event for j in sender.claim(session=session)] == ["page.saved"]


def test_a_rotated_secret_signs_the_next_attempt(
    session: Session, admin: User, endpoint: WebhookEndpoint
) -> None:
    service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    rotated = service.rotate_secret(
        session=session, user=admin, endpoint_id=endpoint.id or 0, secret="the-new-secret-123"
    )
    [job] = sender.claim(session=session)
    assert job.secret == rotated.secret == "the-new-secret-123"


def test_a_stopping_worker_gives_back_what_it_did_not_send(
    session: Session, admin: User, endpoint: WebhookEndpoint
) -> None:
    first = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    second = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["x-atrium-delivery"])
        return httpx.Response(200)

    report = sender.deliver_due(session=session, client=_client(answer), stop=lambda: bool(sent))
    assert (report.sent, sent) == (1, [first.uid])
    # not left "sending" until the lease runs out: the next worker takes it at once
    left = _delivery(session, second.id)
    assert (left.status, left.claimed_at, left.attempts) == ("pending", None, 0)
    assert [j.uid for j in sender.claim(session=session)] == [second.uid]


def test_the_lease_outlasts_a_batch_of_slow_receivers(session: Session) -> None:
    assert sender.lease_seconds(settings_of(session)) == sender.CLAIM_LEASE_SECONDS
    slow = _tune(session, webhook_timeout=60.0)
    assert sender.lease_seconds(slow) == sender.BATCH_SIZE * 60.0 * 3


def test_a_receiver_trickling_its_answer_does_not_hold_the_worker() -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(100):  # 5 s in all
            time.sleep(0.05)
            yield b"ok "

    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle())

    client = httpx.Client(transport=httpx.MockTransport(answer), timeout=0.2)
    job = sender.Job(1, "u", "ping", "https://r.test/", "s" * 16, b"{}", utcnow())
    outcome = sender.send(client, job)
    assert outcome.ok
    assert outcome.response_body.startswith("ok ok")
    assert outcome.duration_ms < 2000


def test_finished_deliveries_are_pruned_after_the_keep_period(
    session: Session, admin: User, endpoint: WebhookEndpoint
) -> None:
    done = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0).id
    sender.deliver_due(session=session, client=_client(lambda _r: httpx.Response(200)))
    queued = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0).id
    later = utcnow() + timedelta(days=sender.KEEP_DAYS - 1)
    assert sender.prune(session=session, now=later) == 0
    much_later = utcnow() + timedelta(days=sender.KEEP_DAYS + 1)
    assert sender.prune(session=session, now=much_later) == 1
    session.rollback()
    # the one still to be sent is kept
    assert list(session.exec(select(WebhookDelivery.id))) == [queued]
    assert _attempts(session, done) == []
