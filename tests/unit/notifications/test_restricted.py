"""Notifications about pages in a restricted subtree: never delivered to those who may not read
the page when it happens, and left out of the inbox, the unread count and e-mails once access is
gone (access can change after delivery)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.core.config import Settings
from app.core.errors import NotFound
from app.notifications import mail, service
from app.notifications.models import EmailState, Notification
from app.pages import service as pages
from app.pages.models import Page
from app.pages.schemas import PageEdit
from tests.factories import make_page, make_user
from tests.restricted import lift, restrict
from tests.unit.notifications.test_email import Inbox, _free_port, _mail_settings

SLUG = "hr/salary-bands"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A local SMTP server keeping what it receives (as in test_email)."""
    handler, port = Inbox(), _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _edit(session: Session, slug: str, author: User, text: str) -> None:
    current = pages.get_page(session=session, slug=slug, user=author)
    edit = PageEdit(base=current.head, title=current.title, body=text)
    pages.save_page(session=session, slug=slug, edit=edit, author=author)


def _watchers(session: Session, page: Page, *people: User) -> None:
    for person in people:
        service.set_watch(session=session, page_id=page.id or 0, user=person, watching=True)


def _titles(session: Session, user: User) -> list[str]:
    return [n.page_title for n in service.list_inbox(session=session, user=user).items]


@pytest.fixture
def people(session: Session) -> tuple[User, User, User]:
    """hanna (in the group), otto (outside it), ed (in it, the editor)."""
    return (
        make_user(session, username="hanna", role=Role.reader),
        make_user(session, username="otto", role=Role.editor),
        make_user(session, username="ed", role=Role.editor),
    )


def test_watchers_who_may_not_read_the_page_are_not_told(
    session: Session, people: tuple[User, User, User]
) -> None:
    hanna, otto, ed = people
    page = make_page(session, slug=SLUG, title="Salary bands", body="Band one.\n")
    _watchers(session, page, hanna, otto)
    restrict(session, "hr", readers=[hanna], editors=[ed])
    _edit(session, SLUG, ed, "Band two.\n")
    session.rollback()
    told = session.exec(select(Notification.user_id)).all()
    assert told == [hanna.id]
    assert _titles(session, hanna) == ["Salary bands"]
    assert _titles(session, otto) == []


def test_the_inbox_hides_what_became_unreadable_and_shows_it_again(
    session: Session, people: tuple[User, User, User]
) -> None:
    hanna, otto, ed = people
    page = make_page(session, slug=SLUG, title="Salary bands", body="Band one.\n")
    _watchers(session, page, otto)
    _edit(session, SLUG, ed, "Band two.\n")  # before the restriction: otto is told
    assert service.unread_count(session=session, user=otto) == 1
    note_id = service.list_inbox(session=session, user=otto).items[0].id

    restrict(session, "hr", readers=[hanna])
    inbox = service.list_inbox(session=session, user=otto)
    assert inbox.items == []
    assert inbox.unread == 0
    assert service.unread_count(session=session, user=otto) == 0
    with pytest.raises(NotFound):
        service.mark_read(session=session, user=otto, ids=[note_id])

    lift(session, "hr")
    assert _titles(session, otto) == ["Salary bands"]
    assert service.unread_count(session=session, user=otto) == 1


def test_a_page_moved_into_a_restricted_subtree_takes_its_notifications_along(
    session: Session, people: tuple[User, User, User]
) -> None:
    hanna, otto, ed = people
    page = make_page(session, slug="drafts/pay", title="Pay", body="Draft.\n")
    _watchers(session, page, otto)
    _edit(session, "drafts/pay", ed, "Second draft.\n")
    restrict(session, "hr", readers=[hanna], editors=[ed])
    pages.move_page(session=session, slug="drafts/pay", new_slug="hr/pay", author=ed)
    assert _titles(session, otto) == []  # stored address "drafts/pay", the page now in hr/


def test_no_email_about_a_page_the_recipient_can_no_longer_read(
    session: Session, settings: Settings, smtp: tuple[Inbox, int], people: tuple[User, User, User]
) -> None:
    handler, port = smtp
    session.info["settings"] = _mail_settings(settings, port)
    hanna, otto, ed = people
    otto.email = "otto@example.org"
    session.add(otto)
    session.commit()
    page = make_page(session, slug=SLUG, title="Salary bands", body="Band one.\n")
    _watchers(session, page, otto)
    _edit(session, SLUG, ed, "Band two.\n")  # pending e-mail to otto
    restrict(session, "hr", readers=[hanna])
    assert mail.deliver_pending(session=session) == mail.Delivery()
    assert handler.messages == []
    session.rollback()
    states = session.exec(select(Notification.email_state).order_by(col(Notification.id))).all()
    assert states == [EmailState.none]
