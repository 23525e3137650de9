"""Deliveries to a real HTTP receiver on 127.0.0.1: body, headers, signature, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.core.db import settings_of
from app.webhooks import sender, service
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from app.webhooks.schemas import WebhookCreate
from tests.factories import make_page, make_user
from tests.webhook_receiver import Receiver, receiving


@pytest.fixture
def receiver() -> Iterator[Callable[[list[int]], Receiver]]:
    with ExitStack() as stack:
        yield lambda codes: stack.enter_context(receiving(codes))


@pytest.fixture
def admin(session: Session) -> User:
    return make_user(session, username="ada", role=Role.admin)


def _attempts(session: Session, delivery_id: int | None) -> list[WebhookAttempt]:
    session.rollback()
    stmt = select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
    return list(session.exec(stmt.order_by(col(WebhookAttempt.id))))


def test_a_page_save_reaches_the_receiver_signed(
    session: Session, admin: User, receiver: Callable[[list[int]], Receiver]
) -> None:
    hook = receiver([])
    endpoint = service.create_endpoint(
        session=session, user=admin, data=WebhookCreate(url=hook.url, events=["page.saved"])
    )
    editor = make_user(session, username="alice", role=Role.editor)
    make_page(session, slug="ops/incident", title="Incident", body="Call.\n", author=editor)
    report = sender.deliver_all(session=session)
    assert report.sent == 1
    [(headers, body)] = hook.got
    payload = json.loads(body)
    assert payload["event"] == "page.saved"
    assert payload["actor"]["username"] == "alice"
    assert payload["data"]["slug"] == "ops/incident"
    assert payload["data"]["title"] == "Incident"
    assert headers["x-atrium-event"] == "page.saved"
    assert headers["x-atrium-delivery"] == payload["id"]
    assert headers["user-agent"].startswith("Atrium-Webhooks")
    assert headers["content-type"] == "application/json"
    # what a receiver does, written out independently of Atrium's code
    signed = headers["x-atrium-timestamp"].encode() + b"." + body
    mac = hmac.new(endpoint.secret.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["x-atrium-signature"] == f"sha256={mac}"
    session.rollback()
    [delivery] = session.exec(select(WebhookDelivery)).all()
    assert (delivery.status, delivery.last_status_code) == ("succeeded", 200)
    [attempt] = _attempts(session, delivery.id)
    assert attempt.response_body == "thanks"
    assert attempt.duration_ms >= 0


def test_a_failing_receiver_is_retried_until_it_succeeds(
    session: Session, admin: User, receiver: Callable[[list[int]], Receiver]
) -> None:
    session.info["settings"] = settings_of(session).model_copy(
        update={"webhook_backoff_seconds": [0.0]}
    )
    hook = receiver([500])
    endpoint = service.create_endpoint(
        session=session, user=admin, data=WebhookCreate(url=hook.url, events=["page.saved"])
    )
    delivery = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    report = sender.deliver_all(session=session)
    assert (report.retried, report.sent) == (1, 1)
    assert len(hook.got) == 2
    # the same delivery id both times, so the receiver can tell it is a retry
    assert {h["x-atrium-delivery"] for h, _ in hook.got} == {delivery.uid}
    attempts = _attempts(session, delivery.id)
    assert [a.status_code for a in attempts] == [500, 200]
    assert attempts[0].response_body == "receiver broke"
    assert attempts[0].error == "Internal Server Error"
    session.rollback()
    row = session.get(WebhookDelivery, delivery.id)
    assert row is not None
    assert (row.status, row.attempts) == (WebhookDeliveryStatus.succeeded, 2)


def test_an_unreachable_receiver_is_logged_with_the_error(session: Session, admin: User) -> None:
    with socket.socket() as sock:  # a port nobody listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = service.create_endpoint(
        session=session,
        user=admin,
        data=WebhookCreate(url=f"http://127.0.0.1:{port}/hook", events=["page.saved"]),
    )
    delivery = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    assert sender.deliver_all(session=session).retried == 1
    [attempt] = _attempts(session, delivery.id)
    assert attempt.status_code is None
    assert attempt.error.startswith("ConnectError")
