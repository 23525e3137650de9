"""E-mail delivery against a real local SMTP server (aiosmtpd on a free loopback port)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.core.config import Settings
from app.core.db import open_session
from app.core.time import utcnow
from app.main import create_app
from app.notifications import mail, service
from app.notifications.models import EmailState, Notification
from app.pages import service as pages
from app.pages.models import Page
from app.pages.schemas import PageEdit
from tests.factories import make_page, make_user

SLUG = "core-processes/r2v"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _mail_settings(settings: Settings, port: int, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_timeout": 5.0,
            "mail_from": "Atrium <atrium@example.org>",
            "base_url": "https://wiki.example.org/",
            **extra,
        }
    )


def _setup(session: Session, settings: Settings) -> tuple[User, User, Page]:
    """alice edits a page bob watches; bob has an e-mail address."""
    session.info["settings"] = settings
    alice = make_user(session, username="alice", role=Role.editor)
    bob = make_user(session, username="bob", role=Role.reader)
    bob.email = "bob@example.org"
    session.add(bob)
    session.commit()
    page = make_page(session, slug=SLUG, title="Requirement to Value")
    service.set_watch(session=session, page_id=page.id or 0, user=bob, watching=True)
    return alice, bob, page


def _edit(session: Session, page: Page, author: User, n: int = 1) -> None:
    for i in range(n):
        current = pages.get_page(session=session, slug=page.slug, user=author)
        edit = PageEdit(base=current.head, title=current.title, body=f"text {current.head} {i}\n")
        pages.save_page(session=session, slug=page.slug, edit=edit, author=author)


def _states(session: Session) -> list[tuple[EmailState, int]]:
    session.rollback()
    rows = session.exec(select(Notification).order_by(col(Notification.id))).all()
    return [(n.email_state, n.email_attempts) for n in rows]


def test_off_by_default_nothing_pending_nothing_sent(
    session: Session, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    handler, _port = smtp
    assert not settings.mail_enabled
    alice, _bob, page = _setup(session, settings)
    _edit(session, page, alice)
    assert _states(session) == [(EmailState.none, 0)]
    assert mail.deliver_pending(session=session) == mail.Delivery()
    assert handler.messages == []


def test_pending_is_sent_to_the_recipient_with_subject_and_link(
    session: Session, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    handler, port = smtp
    alice, _bob, page = _setup(session, _mail_settings(settings, port))
    _edit(session, page, alice)
    assert _states(session) == [(EmailState.pending, 0)]
    report = mail.deliver_pending(session=session)
    assert report == mail.Delivery(sent=1)
    assert _states(session) == [(EmailState.sent, 1)]
    [(rcpt, msg)] = handler.messages
    assert rcpt == ["bob@example.org"]
    assert msg["To"] == "Bob <bob@example.org>"
    assert msg["From"] == "Atrium <atrium@example.org>"
    assert msg["Subject"] == "[Atrium] Alice edited “Requirement to Value”"
    body = msg.get_content()
    assert f"https://wiki.example.org/diff/{SLUG}?from=1&to=2" in body
    assert "https://wiki.example.org/inbox" in body
    assert "you watch this page" in body
    # sent once: another run finds nothing to do
    assert mail.deliver_pending(session=session) == mail.Delivery()
    assert len(handler.messages) == 1


def test_users_without_an_address_get_no_email(
    session: Session, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    handler, port = smtp
    alice, bob, page = _setup(session, _mail_settings(settings, port))
    service.set_watch(session=session, page_id=page.id or 0, user=alice, watching=True)
    _edit(session, page, make_user(session, username="carol"))
    mail.deliver_pending(session=session)
    assert [r for r, _ in handler.messages] == [["bob@example.org"]]
    session.rollback()
    states = {n.user_id: n.email_state for n in session.exec(select(Notification)).all()}
    assert states == {alice.id: EmailState.none, bob.id: EmailState.sent}


def test_smtp_down_is_retried_with_backoff_then_failed(
    session: Session, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    handler, _port = smtp
    down = _free_port()  # nothing listens here
    mailing = _mail_settings(settings, down, mail_max_attempts=3, mail_retry_seconds=60)
    alice, _bob, page = _setup(session, mailing)
    _edit(session, page, alice)
    t0 = utcnow()
    assert mail.deliver_pending(session=session, now=t0) == mail.Delivery(retried=1)
    assert _states(session) == [(EmailState.pending, 1)]
    # not due again before the back-off has passed
    assert mail.deliver_pending(session=session, now=t0 + timedelta(seconds=30)) == mail.Delivery()
    later = t0 + timedelta(seconds=61)
    assert mail.deliver_pending(session=session, now=later) == mail.Delivery(retried=1)
    assert _states(session) == [(EmailState.pending, 2)]
    last = t0 + timedelta(seconds=181)
    assert mail.deliver_pending(session=session, now=last) == mail.Delivery(failed=1)
    assert _states(session) == [(EmailState.failed, 3)]
    assert mail.deliver_pending(session=session, now=last + timedelta(days=1)) == mail.Delivery()
    assert handler.messages == []


def test_a_failed_try_is_sent_once_the_server_is_back(
    session: Session, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    handler, port = smtp
    down = _free_port()
    alice, _bob, page = _setup(session, _mail_settings(settings, down, mail_retry_seconds=1))
    _edit(session, page, alice)
    assert mail.deliver_pending(session=session).retried == 1
    session.info["settings"] = _mail_settings(settings, port, mail_retry_seconds=1)
    report = mail.deliver_pending(session=session, now=utcnow() + timedelta(seconds=2))
    assert report == mail.Delivery(sent=1)
    assert _states(session) == [(EmailState.sent, 2)]
    assert len(handler.messages) == 1


def test_concurrent_workers_send_each_email_once(
    session: Session, settings: Settings, engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    handler, port = smtp
    mailing = _mail_settings(settings, port)
    alice, _bob, page = _setup(session, mailing)
    _edit(session, page, alice, n=12)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with open_session(engine, mailing) as own:
                while mail.deliver_pending(session=own, limit=3).sent:
                    pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(handler.messages) == 12
    subjects = {m["Message-ID"] for _, m in handler.messages}
    assert len(subjects) == 12
    assert _states(session) == [(EmailState.sent, 1)] * 12


def test_the_app_delivers_in_the_background_and_stops_cleanly(
    session: Session, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    handler, port = smtp
    mailing = _mail_settings(settings, port, mail_interval=0.1)
    alice, _bob, page = _setup(session, mailing)
    with TestClient(create_app(mailing)) as client:
        assert client.get("/healthz").status_code == 200
        _edit(session, page, alice)
        deadline = time.monotonic() + 10
        while not handler.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(handler.messages) == 1
    assert _states(session) == [(EmailState.sent, 1)]


def test_no_background_task_without_smtp(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200


def test_no_write_lock_while_sending_and_a_dead_workers_claim_is_retaken(
    session: Session, settings: Settings, smtp: tuple[Inbox, int], engine: Engine
) -> None:
    handler, port = smtp
    mailing = _mail_settings(settings, port)
    alice, _bob, page = _setup(session, mailing)
    _edit(session, page, alice)
    # while the server takes the message, another writer can still save a page
    saved: list[bool] = []

    def write_meanwhile(*_args: Any) -> None:
        with open_session(engine, mailing) as other:
            _edit(other, page, alice)
            saved.append(True)

    original = handler.handle_DATA

    async def slow(*args: Any) -> str:
        threading.Thread(target=write_meanwhile, args=args).run()
        return await original(*args)

    handler.handle_DATA = slow  # type: ignore[method-assign,assignment]
    assert mail.deliver_pending(session=session).sent == 1
    assert saved == [True]
    handler.handle_DATA = original  # type: ignore[method-assign]
    # a worker that claimed a batch and died leaves it "sending"; after the lease it is resent
    session.rollback()
    note = session.exec(select(Notification).where(Notification.email_state == "pending")).one()
    note.email_state = EmailState.sending
    note.email_claimed_at = utcnow()
    session.add(note)
    session.commit()
    assert mail.deliver_pending(session=session).sent == 0
    later = utcnow() + timedelta(seconds=mail.CLAIM_LEASE_SECONDS + 1)
    assert mail.deliver_pending(session=session, now=later).sent == 1
    assert [state for state, _ in _states(session)] == [EmailState.sent, EmailState.sent]
