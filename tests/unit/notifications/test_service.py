"""Notifications service: watching, who is told what about each event, the inbox."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core.errors import NotFound, Unauthorized
from app.discussions import service as discussions
from app.discussions.models import Comment, Thread
from app.discussions.schemas import CommentCreate, ThreadCreate
from app.notifications import service
from app.notifications.models import EmailState, Notification, NotificationKind, Watch
from app.pages import service as pages
from app.pages.models import Page
from app.pages.schemas import PageEdit
from tests.factories import make_page, make_user

SLUG = "core-processes/r2v"
BODY = "## Scope\n\nDemand arrives from the business units.\n"


@pytest.fixture
def alice(session: Session) -> User:
    return make_user(session, username="alice", role=Role.editor)


@pytest.fixture
def bob(session: Session) -> User:
    return make_user(session, username="bob", role=Role.editor)


@pytest.fixture
def rita(session: Session) -> User:
    return make_user(session, username="rita", role=Role.reader)


@pytest.fixture
def page(session: Session) -> Page:
    # created by the system (as the seed import does): nobody watches it yet
    return make_page(session, slug=SLUG, title="R2V", body=BODY)


def _ids(*users: User) -> set[int]:
    return {u.id or 0 for u in users}


def _inbox(session: Session, user: User) -> list[Notification]:
    session.rollback()
    stmt = select(Notification).where(Notification.user_id == user.id)
    return list(session.exec(stmt.order_by(col(Notification.id))))


def _thread(session: Session, page: Page, author: User) -> tuple[int, int]:
    """A bare thread with its first comment (rows only, no events)."""
    thread = Thread(page_id=page.id or 0, author_id=author.id)
    session.add(thread)
    session.flush()
    comment = Comment(thread_id=thread.id or 0, author_id=author.id, body="hi", html="<p>hi</p>")
    session.add(comment)
    session.commit()
    return thread.id or 0, comment.id or 0


def _edit(session: Session, page: Page, author: User | None, text: str, summary: str = "") -> None:
    edit = PageEdit(base=page.head, title=page.title, body=BODY + text, summary=summary)
    pages.save_page(session=session, slug=page.slug, edit=edit, author=author)


# --- watching ------------------------------------------------------------------------------------


def test_watch_is_idempotent_and_set_watch_toggles(session: Session, page: Page, bob: User) -> None:
    pid = page.id or 0
    assert not service.is_watching(session=session, page_id=pid, user=bob)
    assert service.set_watch(session=session, page_id=pid, user=bob, watching=True)
    assert service.set_watch(session=session, page_id=pid, user=bob, watching=True)
    service.watch(session=session, user_id=bob.id or 0, page_id=pid)
    session.commit()
    assert service.watchers(session=session, page_id=pid) == _ids(bob)
    assert service.watch_state(session=session, page_id=pid, user=bob)
    assert not service.set_watch(session=session, page_id=pid, user=bob, watching=False)
    assert not service.set_watch(session=session, page_id=pid, user=bob, watching=False)
    assert not service.is_watching(session=session, page_id=pid, user=bob)


def test_anonymous_cannot_watch_or_read_an_inbox(session: Session, page: Page) -> None:
    pid = page.id or 0
    with pytest.raises(Unauthorized):
        service.set_watch(session=session, page_id=pid, user=None, watching=True)
    with pytest.raises(Unauthorized):
        service.watch_state(session=session, page_id=pid, user=None)
    with pytest.raises(Unauthorized):
        service.list_inbox(session=session, user=None)
    with pytest.raises(Unauthorized):
        service.unread_count(session=session, user=None)
    with pytest.raises(Unauthorized):
        service.mark_read(session=session, user=None, all=True)
    assert not service.is_watching(session=session, page_id=pid, user=None)
    assert session.exec(select(Watch)).all() == []


def test_a_reader_may_watch(session: Session, page: Page, rita: User) -> None:
    assert service.set_watch(session=session, page_id=page.id or 0, user=rita, watching=True)


# --- page edits ----------------------------------------------------------------------------------


def test_editing_watches_the_page_and_tells_the_other_watchers(
    session: Session, page: Page, alice: User, bob: User, rita: User
) -> None:
    assert service.watchers(session=session, page_id=page.id or 0) == set()  # system author
    service.set_watch(session=session, page_id=page.id or 0, user=rita, watching=True)
    _edit(session, page, alice, "one\n", summary="scope tweak")
    assert service.watchers(session=session, page_id=page.id or 0) == _ids(alice, rita)
    assert _inbox(session, alice) == []  # never about your own edit
    [note] = _inbox(session, rita)
    assert note.kind == NotificationKind.page_edit
    assert note.actor_id == alice.id
    assert (note.page_slug, note.page_title, note.revision) == (SLUG, "R2V", 2)
    assert note.url == f"/diff/{SLUG}?from=1&to=2"
    assert note.excerpt == "scope tweak"
    assert note.email_state == EmailState.none  # e-mail is off by default
    _edit(session, page, bob, "two\n")
    assert [n.revision for n in _inbox(session, alice)] == [3]
    assert [n.revision for n in _inbox(session, rita)] == [2, 3]
    assert _inbox(session, bob) == []


def test_first_revision_links_to_the_page_and_imports_watch_nothing(
    session: Session, alice: User, bob: User
) -> None:
    make_page(session, slug="fresh", title="Fresh", author=alice)
    fresh = pages.get_page(session=session, slug="fresh", user=alice)
    assert service.watchers(session=session, page_id=fresh.id or 0) == _ids(alice)
    # an import (no author) tells the watchers but makes nobody a watcher
    service.page_edited(
        session=session, page_id=fresh.id or 0, slug="fresh", title="Fresh", revision=1, actor=None
    )
    session.commit()
    [note] = _inbox(session, alice)
    assert note.url == "/wiki/fresh"
    assert note.actor_id is None
    assert service.watchers(session=session, page_id=fresh.id or 0) == _ids(alice)
    assert _inbox(session, bob) == []


def test_move_delete_and_revert_are_revisions_too(
    session: Session, page: Page, alice: User, bob: User
) -> None:
    service.set_watch(session=session, page_id=page.id or 0, user=bob, watching=True)
    pages.move_page(session=session, slug=SLUG, new_slug="r2v", author=alice)
    pages.revert_page(session=session, slug="r2v", number=1, author=alice)
    pages.delete_page(session=session, slug="r2v", author=alice)
    notes = _inbox(session, bob)
    assert [n.revision for n in notes] == [2, 3, 4]
    assert {n.page_slug for n in notes} == {"r2v"}


def test_disabled_users_are_not_told(session: Session, page: Page, alice: User, bob: User) -> None:
    service.set_watch(session=session, page_id=page.id or 0, user=bob, watching=True)
    bob.is_active = False
    session.add(bob)
    session.commit()
    _edit(session, page, alice, "x\n")
    assert _inbox(session, bob) == []


# --- discussions events --------------------------------------------------------------------------


def test_thread_opened_mention_beats_new_thread_and_actor_is_skipped(
    session: Session, page: Page, alice: User, bob: User, rita: User
) -> None:
    for u in (alice, bob, rita):
        service.set_watch(session=session, page_id=page.id or 0, user=u, watching=True)
    tid, cid = _thread(session, page, alice)
    service.thread_opened(
        session=session,
        page_id=page.id or 0,
        slug=SLUG,
        title="R2V",
        thread_id=tid,
        comment_id=cid,
        actor=alice,
        excerpt="@rita   what do\nyou think?",
        mentioned=_ids(rita, alice),
    )
    session.commit()
    assert _inbox(session, alice) == []
    [to_rita] = _inbox(session, rita)
    assert to_rita.kind == NotificationKind.mention
    assert to_rita.excerpt == "@rita what do you think?"
    assert to_rita.url == f"/threads/{tid}#comment-{cid}"
    assert (to_rita.thread_id, to_rita.comment_id) == (tid, cid)
    [to_bob] = _inbox(session, bob)
    assert to_bob.kind == NotificationKind.new_thread


def test_thread_opened_makes_the_actor_watch(session: Session, page: Page, rita: User) -> None:
    tid, cid = _thread(session, page, rita)
    service.thread_opened(
        session=session,
        page_id=page.id or 0,
        slug=SLUG,
        title="R2V",
        thread_id=tid,
        comment_id=cid,
        actor=rita,
        excerpt="hello",
        mentioned=set(),
    )
    session.commit()
    assert service.watchers(session=session, page_id=page.id or 0) == _ids(rita)


def test_comment_posted_one_notification_per_user_mention_first(
    session: Session, page: Page, alice: User, bob: User, rita: User
) -> None:
    carol = make_user(session, username="carol")
    service.set_watch(session=session, page_id=page.id or 0, user=carol, watching=True)
    tid, cid = _thread(session, page, alice)
    service.comment_posted(
        session=session,
        page_id=page.id or 0,
        slug=SLUG,
        title="R2V",
        thread_id=tid,
        comment_id=cid,
        actor=bob,
        excerpt="x" * 600,
        participants=_ids(alice, bob, rita),
        mentioned=_ids(rita, bob),
    )
    session.commit()
    assert [n.kind for n in _inbox(session, rita)] == [NotificationKind.mention]
    [to_alice] = _inbox(session, alice)
    assert to_alice.kind == NotificationKind.reply
    assert len(to_alice.excerpt) == service.EXCERPT_CHARS
    assert to_alice.excerpt.endswith("…")
    assert _inbox(session, bob) == []
    assert _inbox(session, carol) == []  # watchers hear of new threads, not every comment
    assert service.is_watching(session=session, page_id=page.id or 0, user=bob)


def test_thread_status_changed_tells_participants_but_the_actor(
    session: Session, page: Page, alice: User, bob: User, rita: User
) -> None:
    tid, _ = _thread(session, page, alice)
    for resolved in (True, False):
        service.thread_status_changed(
            session=session,
            page_id=page.id or 0,
            slug=SLUG,
            title="R2V",
            thread_id=tid,
            actor=bob,
            participants=_ids(alice, bob, rita),
            resolved=resolved,
        )
    session.commit()
    for user in (alice, rita):
        notes = _inbox(session, user)
        assert [n.kind for n in notes] == [NotificationKind.resolved] * 2
        assert [n.excerpt for n in notes] == ["Resolved", "Reopened"]
        assert notes[0].url == f"/threads/{tid}"
    assert _inbox(session, bob) == []
    assert not service.is_watching(session=session, page_id=page.id or 0, user=bob)


def test_through_the_discussions_service(
    session: Session, page: Page, alice: User, bob: User, rita: User
) -> None:
    service.set_watch(session=session, page_id=page.id or 0, user=bob, watching=True)
    thread = discussions.open_thread(
        session=session, slug=SLUG, data=ThreadCreate(body="Who owns this, @rita?"), author=alice
    )
    assert [n.kind for n in _inbox(session, rita)] == [NotificationKind.mention]
    assert [n.kind for n in _inbox(session, bob)] == [NotificationKind.new_thread]
    discussions.reply(
        session=session, thread_id=thread.id or 0, data=CommentCreate(body="I do."), author=rita
    )
    assert [n.kind for n in _inbox(session, alice)] == [NotificationKind.reply]
    assert service.watchers(session=session, page_id=page.id or 0) == _ids(alice, bob, rita)


# --- the inbox -----------------------------------------------------------------------------------


def _three_edits(session: Session, page: Page, alice: User, bob: User) -> None:
    service.set_watch(session=session, page_id=page.id or 0, user=bob, watching=True)
    for i in range(3):
        _edit(session, page, alice, f"{i}\n")


def test_inbox_newest_first_paged_with_actor_names(
    session: Session, page: Page, alice: User, bob: User
) -> None:
    _three_edits(session, page, alice, bob)
    inbox = service.list_inbox(session=session, user=bob, limit=2)
    assert [n.revision for n in inbox.items] == [4, 3]
    assert inbox.unread == 3
    assert inbox.next_offset == 2
    assert inbox.items[0].actor == "alice"
    assert inbox.items[0].actor_name == "Alice"
    assert inbox.items[0].unread
    assert inbox.items[0].created_at.tzinfo is not None
    rest = service.list_inbox(session=session, user=bob, limit=2, offset=2)
    assert [n.revision for n in rest.items] == [2]
    assert rest.next_offset is None
    assert service.unread_count(session=session, user=bob) == 3
    assert service.list_inbox(session=session, user=alice).items == []


def test_mark_read_by_id_then_all(session: Session, page: Page, alice: User, bob: User) -> None:
    _three_edits(session, page, alice, bob)
    newest = service.list_inbox(session=session, user=bob).items[0]
    done = service.mark_read(session=session, user=bob, ids=[newest.id])
    assert (done.marked, done.unread) == (1, 2)
    assert [n.id for n in done.items] == [newest.id]
    assert done.items[0].read_at is not None
    again = service.mark_read(session=session, user=bob, ids=[newest.id])
    assert again.marked == 0
    unread = service.list_inbox(session=session, user=bob, unread_only=True)
    assert newest.id not in [n.id for n in unread.items]
    assert len(unread.items) == 2
    everything = service.mark_read(session=session, user=bob, all=True)
    assert (everything.marked, everything.unread) == (2, 0)
    assert service.unread_count(session=session, user=bob) == 0
    assert len(service.list_inbox(session=session, user=bob).items) == 3


def test_mark_read_refuses_other_peoples_ids_and_writes_nothing(
    session: Session, page: Page, alice: User, bob: User, rita: User
) -> None:
    _three_edits(session, page, alice, bob)
    mine = service.list_inbox(session=session, user=bob).items
    with pytest.raises(NotFound):
        service.mark_read(session=session, user=rita, ids=[mine[0].id])
    with pytest.raises(NotFound):
        service.mark_read(session=session, user=bob, ids=[mine[0].id, 999_999])
    assert service.unread_count(session=session, user=bob) == 3
    assert service.mark_read(session=session, user=rita, all=True).marked == 0
    assert service.unread_count(session=session, user=bob) == 3


def test_pending_email_only_when_smtp_is_on_and_the_user_has_an_address(
    session: Session, page: Page, alice: User, bob: User, rita: User
) -> None:
    session.info["settings"] = session.info["settings"].model_copy(
        update={"smtp_host": "127.0.0.1"}
    )
    bob.email = "bob@example.org"
    session.add(bob)
    session.commit()
    for u in (bob, rita):
        service.set_watch(session=session, page_id=page.id or 0, user=u, watching=True)
    _edit(session, page, alice, "x\n")
    assert [n.email_state for n in _inbox(session, bob)] == [EmailState.pending]
    assert [n.email_state for n in _inbox(session, rita)] == [EmailState.none]


def test_users_by_id_for_display(session: Session, alice: User) -> None:
    assert accounts.users_by_id(session=session, ids=[alice.id, None, 12345]) == {alice.id: alice}
