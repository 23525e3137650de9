"""Discussions on a page in a restricted subtree exist only for those who may read the page:
everyone else gets "not found" (naming no page) and finds them in no list; mentioning someone
who may not read the page tells them nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core.errors import NotFound
from app.discussions import service
from app.discussions.models import ThreadStatus
from app.discussions.schemas import CommentCreate, CommentUpdate, ThreadCreate
from app.notifications.models import Notification
from tests.factories import make_page, make_user
from tests.restricted import restrict

SLUG = "hr/salary-bands"


@dataclass
class World:
    member: User
    outsider: User
    moderator: User
    thread_id: int
    comment_id: int


@pytest.fixture
def world(session: Session) -> World:
    member = make_user(session, username="hanna", role=Role.editor)
    outsider = make_user(session, username="otto", role=Role.editor)
    moderator = make_user(session, username="fran", role=Role.facilitator)
    make_page(session, slug=SLUG, title="Salary bands", body="## Bands\n\nBand one.\n")
    restrict(session, "hr", readers=[member])
    thread = service.open_thread(
        session=session,
        slug=SLUG,
        data=ThreadCreate(title="Bonus pool", body="@otto @fran what about the bonus pool?"),
        author=member,
    )
    first = service.page_threads(session=session, slug=SLUG, user=member)[0].comments[0]
    return World(member, outsider, moderator, thread.id or 0, first.comment.id or 0)


def test_members_discuss_as_usual(session: Session, world: World) -> None:
    reply = service.reply(
        session=session,
        thread_id=world.thread_id,
        data=CommentCreate(body="Quarterly."),
        author=world.member,
    )
    view = service.get_thread(session=session, thread_id=world.thread_id, user=world.member)
    assert [c.comment.body for c in view.comments][-1] == "Quarterly."
    service.edit_comment(
        session=session,
        comment_id=reply.id or 0,
        data=CommentUpdate(body="Monthly."),
        user=world.member,
    )
    service.set_status(
        session=session, thread_id=world.thread_id, status=ThreadStatus.resolved, user=world.member
    )
    threads, total = service.list_discussions(session=session, user=world.member, status="all")
    assert total == 1
    assert [v.thread.title for v in threads] == ["Bonus pool"]
    assert [
        v.thread.title for v, _ in service.my_discussions(session=session, user=world.member)
    ] == ["Bonus pool"]


def test_outsiders_get_not_found_naming_no_page(session: Session, world: World) -> None:
    otto, fran = world.outsider, world.moderator
    tid, cid = world.thread_id, world.comment_id
    attempts: list[Callable[[], object]] = [
        lambda: service.get_thread(session=session, thread_id=tid, user=otto),
        lambda: service.get_thread(session=session, thread_id=tid, user=None),
        lambda: service.reply(
            session=session, thread_id=tid, data=CommentCreate(body="Hi"), author=otto
        ),
        lambda: service.set_status(
            session=session, thread_id=tid, status=ThreadStatus.resolved, user=fran
        ),
        lambda: service.comment_versions(session=session, comment_id=cid, user=otto),
        lambda: service.edit_comment(
            session=session, comment_id=cid, data=CommentUpdate(body="x"), user=otto
        ),
        lambda: service.delete_comment(session=session, comment_id=cid, user=otto),
        lambda: service.hide_comment(session=session, comment_id=cid, reason="spam", user=fran),
        lambda: service.unhide_comment(session=session, comment_id=cid, user=fran),
    ]
    for attempt in attempts:
        session.rollback()
        with pytest.raises(NotFound) as caught:
            attempt()
        assert "hr/" not in str(caught.value)
    # asked by address: "no page" at the address the user gave, as for a missing page
    by_address: list[Callable[[], object]] = [
        lambda: service.page_threads(session=session, slug=SLUG, user=otto),
        lambda: service.open_thread(
            session=session, slug=SLUG, data=ThreadCreate(body="Hello"), author=otto
        ),
    ]
    for attempt in by_address:
        session.rollback()
        with pytest.raises(NotFound):
            attempt()


def test_lists_leave_hidden_threads_out(session: Session, world: World) -> None:
    make_page(session, slug="handbook", title="Handbook", body="Hello.\n")
    service.open_thread(
        session=session,
        slug="handbook",
        data=ThreadCreate(title="Holidays", body="@otto how many days?"),
        author=world.member,
    )
    for who in (world.outsider, None):
        threads, total = service.list_discussions(session=session, user=who, status="all")
        assert [v.thread.title for v in threads] == ["Holidays"]
        assert total == 1
    threads, total = service.list_discussions(
        session=session, user=world.outsider, status="all", prefix="hr"
    )
    assert (threads, total) == ([], 0)
    mine = service.my_discussions(session=session, user=world.outsider)
    assert [v.thread.title for v, _ in mine] == ["Holidays"]  # mentioned in both


def test_mentioning_someone_who_may_not_read_the_page_tells_them_nothing(
    session: Session, world: World
) -> None:
    session.rollback()
    told = session.exec(select(Notification.user_id)).all()
    assert world.outsider.id not in told
    assert world.moderator.id not in told
