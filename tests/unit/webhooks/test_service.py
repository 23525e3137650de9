"""Webhook endpoints, checks, the outbox subscriber, test deliveries and redelivery."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, col, func, select

from app.accounts.models import Role, User
from app.core import events
from app.core.db import begin_write
from app.core.errors import Conflict, Forbidden, Invalid, Unauthorized
from app.pages import service as pages
from app.pages.schemas import PageEdit
from app.webhooks import service
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


def _create(session: Session, admin: User, **kw: object) -> WebhookEndpoint:
    data: dict[str, object] = {"url": "https://example.com/hook", "events": ["page.saved"]}
    data.update(kw)
    return service.create_endpoint(
        session=session, user=admin, data=WebhookCreate.model_validate(data)
    )


def _count(session: Session, model: type[WebhookEndpoint] | type[WebhookDelivery]) -> int:
    session.rollback()
    return session.exec(select(func.count()).select_from(model)).one()


def _deliveries(session: Session) -> list[WebhookDelivery]:
    session.rollback()
    return list(session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id))))


# --- endpoints ---------------------------------------------------------------------------------


def test_an_admin_registers_an_endpoint_with_a_generated_secret(
    session: Session, admin: User
) -> None:
    endpoint = _create(
        session,
        admin,
        url="  https://hooks.example.com/atrium?x=1  ",
        description="CMDB sync",
        events=["workshop.closed", "page.saved", "page.saved"],
    )
    assert endpoint.url == "https://hooks.example.com/atrium?x=1"
    # in the order the events are listed, once each
    assert endpoint.events == ["page.saved", "workshop.closed"]
    assert endpoint.secret.startswith("whsec_")
    assert len(endpoint.secret) > 30
    assert endpoint.active
    other = _create(session, admin)
    assert other.secret != endpoint.secret


def test_a_given_secret_is_kept(session: Session, admin: User) -> None:
    endpoint = _create(session, admin, secret="a-shared-secret-of-ours")
    assert endpoint.secret == "a-shared-secret-of-ours"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "must start with http:// or https:// (this one has ftp:)"),
        ("javascript:alert(1)", "must start with http:// or https:// (this one has javascript:)"),
        ("file:///etc/passwd", "this one has file:"),
        ("example.com/hook", "this one has no scheme"),
        ("http://", "needs a host name"),
        ("https:///path-only", "needs a host name"),
        ("https://bob:pw@example.com/hook", "cannot contain a user name or password"),
        ("https://token@example.com/hook", "cannot contain a user name or password"),
        ("https://exa mple.com/", "cannot contain spaces"),
        ("https://example.com:99999/", "is not a valid URL"),
        ("", "needs a URL"),
        ("https://example.com/" + "a" * 2000, "at most 2000 characters"),
    ],
)
def test_urls_that_are_not_http_addresses_are_refused(
    session: Session, admin: User, url: str, message: str
) -> None:
    with pytest.raises(Invalid, match=None) as caught:
        _create(session, admin, url=url)
    assert message in caught.value.detail
    assert caught.value.extra["field"] == "url"
    assert _count(session, WebhookEndpoint) == 0


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ([], "Choose at least one event"),
        (["  "], "Choose at least one event"),
        (["page.saved", "page.exploded"], "Unknown event: page.exploded"),
        (["ping"], "Unknown event: ping"),
    ],
)
def test_event_choices_must_be_known_and_not_empty(
    session: Session, admin: User, chosen: list[str], message: str
) -> None:
    with pytest.raises(Invalid) as caught:
        _create(session, admin, events=chosen)
    assert message in caught.value.detail
    assert _count(session, WebhookEndpoint) == 0


def test_over_long_descriptions_and_bad_secrets_are_refused(session: Session, admin: User) -> None:
    with pytest.raises(Invalid, match="at most 500 characters"):
        _create(session, admin, description="x" * 501)
    with pytest.raises(Invalid, match="16 to 200 characters"):
        _create(session, admin, secret="short")
    with pytest.raises(Invalid, match="16 to 200 characters"):
        _create(session, admin, secret="s" * 201)
    with pytest.raises(Invalid, match="printable ASCII"):
        _create(session, admin, secret="with a space inside it")
    assert _count(session, WebhookEndpoint) == 0


@pytest.mark.parametrize("role", [Role.reader, Role.editor, Role.facilitator])
def test_only_admins_manage_webhooks(session: Session, admin: User, role: Role) -> None:
    endpoint = _create(session, admin)
    someone = make_user(session, username="someone", role=role)
    with pytest.raises(Forbidden):
        _create(session, someone)
    with pytest.raises(Forbidden):
        service.list_endpoints(session=session, user=someone)
    with pytest.raises(Forbidden):
        service.send_test(session=session, user=someone, endpoint_id=endpoint.id or 0)
    with pytest.raises(Unauthorized):
        service.list_endpoints(session=session, user=None)
    assert _count(session, WebhookEndpoint) == 1


def test_edit_disable_rotate_and_delete(session: Session, admin: User) -> None:
    endpoint = _create(session, admin)
    first_secret = endpoint.secret
    service.update_endpoint(
        session=session,
        user=admin,
        endpoint_id=endpoint.id or 0,
        data=WebhookUpdate(url="http://10.0.0.5:8080/in", events=["thread.opened"], active=False),
    )
    # a bad change leaves everything as it was
    with pytest.raises(Invalid):
        service.update_endpoint(
            session=session,
            user=admin,
            endpoint_id=endpoint.id or 0,
            data=WebhookUpdate(url="gopher://x", events=["decision.recorded"]),
        )
    session.rollback()
    got = service.get_endpoint(session=session, user=admin, endpoint_id=endpoint.id or 0)
    assert (got.url, got.events, got.active) == (
        "http://10.0.0.5:8080/in",
        ["thread.opened"],
        False,
    )
    rotated = service.rotate_secret(session=session, user=admin, endpoint_id=endpoint.id or 0)
    assert rotated.secret != first_secret
    service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    service.delete_endpoint(session=session, user=admin, endpoint_id=endpoint.id or 0)
    assert _count(session, WebhookEndpoint) == 0
    assert _count(session, WebhookDelivery) == 0


# --- the outbox subscriber ---------------------------------------------------------------------


def test_a_page_save_queues_one_delivery_per_subscribed_active_endpoint(
    session: Session, admin: User
) -> None:
    editor = make_user(session, username="alice", role=Role.editor)
    saved = _create(session, admin, url="https://a.example/hook", events=["page.saved"])
    _create(session, admin, url="https://b.example/hook", events=["page.deleted"])
    _create(session, admin, url="https://c.example/hook", events=["page.saved"], active=False)
    both = _create(
        session, admin, url="https://d.example/hook", events=["page.saved", "page.moved"]
    )
    make_page(session, slug="ops/r2v", title="R2V", body="one\n", author=editor)
    rows = _deliveries(session)
    assert sorted(d.endpoint_id for d in rows) == sorted([saved.id or 0, both.id or 0])
    body = json.loads(rows[0].payload)
    assert body["id"] == rows[0].uid
    assert body["event"] == "page.saved"
    assert body["occurred_at"].endswith("Z")
    assert body["actor"] == {"id": editor.id, "username": "alice", "name": "Alice"}
    assert body["data"]["slug"] == "ops/r2v"
    assert body["data"]["revision"] == 1
    assert all(d.status == WebhookDeliveryStatus.pending for d in rows)
    pages.move_page(session=session, slug="ops/r2v", new_slug="ops/req", author=editor)
    moved = [d for d in _deliveries(session) if d.event == "page.moved"]
    assert [d.endpoint_id for d in moved] == [both.id]


def test_a_page_save_that_conflicts_queues_nothing(session: Session, admin: User) -> None:
    editor = make_user(session, username="alice", role=Role.editor)
    _create(session, admin, events=["page.saved"])
    make_page(session, slug="p", body="a\n", author=editor)
    assert _count(session, WebhookDelivery) == 1
    with pytest.raises(Conflict):
        pages.create_page(
            session=session, slug="p", edit=PageEdit(base=0, title="P", body="b\n"), author=editor
        )
    assert _count(session, WebhookDelivery) == 1


def test_deliveries_belong_to_the_transaction_of_the_change(session: Session, admin: User) -> None:
    _create(session, admin, events=["decision.recorded"])
    begin_write(session)
    events.publish(session, events.Event("decision.recorded", None, {"number": 7}))
    session.flush()
    assert session.exec(select(func.count()).select_from(WebhookDelivery)).one() == 1
    session.rollback()  # the change failed: what it caused goes with it
    assert _count(session, WebhookDelivery) == 0


def test_without_endpoints_events_cost_nothing(session: Session) -> None:
    editor = make_user(session, username="alice", role=Role.editor)
    make_page(session, slug="p", body="a\n", author=editor)
    assert _count(session, WebhookDelivery) == 0


# --- test deliveries and redelivery ------------------------------------------------------------


def test_a_test_delivery_is_a_ping_even_to_a_disabled_endpoint(
    session: Session, admin: User
) -> None:
    endpoint = _create(session, admin, active=False)
    delivery = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    body = json.loads(delivery.payload)
    assert body["event"] == "ping"
    assert body["data"]["webhook_id"] == endpoint.id
    assert body["actor"]["username"] == "ada"
    views = service.list_deliveries(session=session, user=admin, endpoint_id=endpoint.id or 0)
    assert [v.delivery.event for v in views] == ["ping"]


def test_redeliver_requeues_a_finished_delivery_with_the_same_id(
    session: Session, admin: User
) -> None:
    endpoint = _create(session, admin)
    delivery = service.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    with pytest.raises(Conflict, match="still queued"):
        service.redeliver(
            session=session, user=admin, endpoint_id=endpoint.id or 0, delivery_id=delivery.id or 0
        )
    begin_write(session)
    row = session.get(WebhookDelivery, delivery.id)
    assert row is not None
    row.status = WebhookDeliveryStatus.failed
    row.attempts = 8
    session.add(row)
    session.add(WebhookAttempt(delivery_id=row.id or 0, status_code=500, error="Server Error"))
    session.commit()
    again = service.redeliver(
        session=session, user=admin, endpoint_id=endpoint.id or 0, delivery_id=delivery.id or 0
    )
    assert again.status == WebhookDeliveryStatus.pending
    assert again.attempts == 0
    assert again.uid == delivery.uid
    view = service.get_delivery(
        session=session, user=admin, endpoint_id=endpoint.id or 0, delivery_id=delivery.id or 0
    )
    assert [a.status_code for a in view.attempts] == [500]  # the earlier log stays
