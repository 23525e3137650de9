"""Discussions service: threads, anchors and outdated passages, comments, moderation, triage."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core.errors import Forbidden, Invalid, NotFound, TooLarge, Unauthorized
from app.discussions import service
from app.discussions.models import AnchorKind, CommentVersion, ThreadStatus
from app.discussions.schemas import CommentCreate, CommentUpdate, ThreadCreate
from app.pages import service as pages
from app.pages.schemas import PageEdit
from app.search.models import OutboxEvent
from tests.factories import make_page, make_user

SLUG = "core-processes/r2v"
BODY = (
    "## Scope\n\nDemand **arrives** from the business units.\n\n"
    "## Triage\n\nThe BRM sorts requests weekly.\n"
)


@pytest.fixture
def alice(session: Session) -> User:
    return make_user(session, username="alice", role=Role.editor)


@pytest.fixture
def rita(session: Session) -> User:
    return make_user(session, username="rita", role=Role.reader)


@pytest.fixture(autouse=True)
def page_slug(session: Session, alice: User) -> str:
    make_page(session, slug=SLUG, title="R2V", body=BODY, author=alice)
    return SLUG


def _open(session: Session, user: User, **kw: object) -> int:
    data = ThreadCreate(body=str(kw.pop("body", "What does this mean?")), **kw)
    return service.open_thread(session=session, slug=SLUG, data=data, author=user).id or 0


def test_reader_opens_a_thread_on_the_page(session: Session, rita: User) -> None:
    tid = _open(session, rita, title="Who decides?", body="Who decides **priority**?")
    view = service.get_thread(session=session, thread_id=tid, user=rita)
    assert view.thread.title == "Who decides?"
    assert view.thread.status is ThreadStatus.open
    assert view.thread.anchor_kind is AnchorKind.page
    assert view.author is not None
    assert view.author.username == "rita"
    assert "<strong>priority</strong>" in view.comments[0].comment.html
    # a reader comments but cannot edit the page
    with pytest.raises(Forbidden):
        pages.save_page(
            session=session, slug=SLUG, edit=PageEdit(base=1, title="x", body="y"), author=rita
        )


def test_passage_anchor_is_checked_and_goes_outdated(session: Session, alice: User) -> None:
    tid = _open(session, alice, quote="arrives from the business", revision=1)
    view = service.get_thread(session=session, thread_id=tid, user=alice)
    assert view.thread.anchor_kind is AnchorKind.passage
    assert view.thread.anchor_revision == 1
    assert not view.outdated
    with pytest.raises(Invalid, match="not on the page"):
        _open(session, alice, quote="text that is nowhere", revision=1)
    with pytest.raises(Invalid, match="section"):
        _open(session, alice, heading="h-nope")
    # an edit elsewhere keeps the anchor; an edit of the passage makes it outdated
    pages.save_page(
        session=session,
        slug=SLUG,
        edit=PageEdit(base=1, title="R2V", body=BODY.replace("weekly", "daily")),
        author=alice,
    )
    assert not service.get_thread(session=session, thread_id=tid, user=alice).outdated
    pages.save_page(
        session=session,
        slug=SLUG,
        edit=PageEdit(base=2, title="R2V", body=BODY.replace("**arrives**", "**comes**")),
        author=alice,
    )
    view = service.get_thread(session=session, thread_id=tid, user=alice)
    assert view.outdated
    assert view.thread.anchor_quote == "arrives from the business"
    assert view.thread.anchor_revision == 1


def test_heading_anchor_and_markers(session: Session, alice: User) -> None:
    tid = _open(session, alice, heading="h-triage")
    view = service.get_thread(session=session, thread_id=tid, user=alice)
    assert view.thread.anchor_heading_text == "Triage"
    page = pages.get_page(session=session, slug=SLUG, user=alice)
    html = pages.render_revision(
        session=session, revision=pages.current_revision(session=session, page=page)
    ).html
    out, placed = service.place_markers(
        html=html, threads=[view], marker=lambda ids: f"<aside>{ids}</aside>"
    )
    assert placed == {tid}
    assert out.index("<aside>") > out.index('id="h-triage"')


def test_replies_quote_and_mentions(session: Session, alice: User, rita: User) -> None:
    tid = _open(session, rita)
    first = service.get_thread(session=session, thread_id=tid, user=rita).comments[0].comment
    service.reply(
        session=session,
        thread_id=tid,
        data=CommentCreate(body="Ask @rita, not me (mail alice@example.com)", reply_to=first.id),
        author=alice,
    )
    view = service.get_thread(session=session, thread_id=tid, user=alice)
    second = view.comments[1]
    assert second.reply_to is not None
    assert second.reply_to.id == first.id
    assert 'href="/discussions?participant=rita"' in second.comment.html
    assert "alice@example.com" in second.comment.html
    assert view.thread.comment_count == 2
    with pytest.raises(Invalid, match="@nobody"):
        service.reply(
            session=session, thread_id=tid, data=CommentCreate(body="cc @nobody"), author=alice
        )
    mine = service.my_discussions(session=session, user=rita)
    assert [(v.thread.id, how) for v, how in mine] == [(tid, {"started", "replied", "mentioned"})]


def test_bad_input_writes_nothing(session: Session, alice: User) -> None:
    tid = _open(session, alice)
    before = len(session.exec(select(OutboxEvent)).all())
    with pytest.raises(Invalid, match="empty"):
        service.reply(session=session, thread_id=tid, data=CommentCreate(body="  \n"), author=alice)
    with pytest.raises(TooLarge):
        service.reply(
            session=session, thread_id=tid, data=CommentCreate(body="x" * 20_001), author=alice
        )
    with pytest.raises(NotFound):
        service.reply(session=session, thread_id=999, data=CommentCreate(body="hi"), author=alice)
    other = make_page(session, slug="other", title="Other", body="text", author=alice)
    foreign = service.open_thread(
        session=session, slug=other.slug, data=ThreadCreate(body="elsewhere"), author=alice
    )
    foreign_comment = service.get_thread(
        session=session, thread_id=foreign.id or 0, user=alice
    ).comments[0]
    with pytest.raises(Invalid, match="not in this discussion"):
        service.reply(
            session=session,
            thread_id=tid,
            data=CommentCreate(body="hi", reply_to=foreign_comment.comment.id),
            author=alice,
        )
    with pytest.raises(Unauthorized):
        service.reply(session=session, thread_id=tid, data=CommentCreate(body="hi"), author=None)
    session.rollback()
    view = service.get_thread(session=session, thread_id=tid, user=alice)
    assert view.thread.comment_count == 1
    # only the "elsewhere" thread (thread + comment + its page's revision) added outbox rows
    assert len(session.exec(select(OutboxEvent)).all()) == before + 3


def test_replies_to_a_deleted_page_are_refused(session: Session, alice: User) -> None:
    tid = _open(session, alice)
    pages.delete_page(session=session, slug=SLUG, author=alice)
    with pytest.raises(Invalid, match="deleted"):
        service.reply(session=session, thread_id=tid, data=CommentCreate(body="hi"), author=alice)


def test_edit_keeps_versions_and_only_the_author_may(
    session: Session, alice: User, rita: User
) -> None:
    tid = _open(session, rita, body="first text")
    cid = service.get_thread(session=session, thread_id=tid, user=rita).comments[0].comment.id or 0
    with pytest.raises(Forbidden):
        service.edit_comment(
            session=session, comment_id=cid, data=CommentUpdate(body="hijack"), user=alice
        )
    service.edit_comment(
        session=session, comment_id=cid, data=CommentUpdate(body="second text"), user=rita
    )
    view, versions = service.comment_versions(session=session, comment_id=cid, user=alice)
    assert view.comment.body == "second text"
    assert view.comment.edited_at is not None
    assert view.comment.version == 2
    assert [(v.version, v.body) for v in versions] == [(1, "first text")]
    assert len(session.exec(select(CommentVersion)).all()) == 1


def test_delete_own_and_moderators_hide_with_reason(
    session: Session, alice: User, rita: User
) -> None:
    facilitator = make_user(session, username="fran", role=Role.facilitator)
    tid = _open(session, rita, body="mine")
    service.reply(session=session, thread_id=tid, data=CommentCreate(body="rude"), author=alice)
    view = service.get_thread(session=session, thread_id=tid, user=rita)
    mine, rude = (c.comment.id or 0 for c in view.comments)
    with pytest.raises(Forbidden):
        service.delete_comment(session=session, comment_id=rude, user=rita)
    service.delete_comment(session=session, comment_id=mine, user=rita)
    with pytest.raises(Forbidden):
        service.hide_comment(session=session, comment_id=rude, reason="x", user=alice)
    with pytest.raises(Invalid, match="why"):
        service.hide_comment(session=session, comment_id=rude, reason=" ", user=facilitator)
    service.hide_comment(session=session, comment_id=rude, reason="off topic", user=facilitator)
    view = service.get_thread(session=session, thread_id=tid, user=rita)
    assert [c.removed for c in view.comments] == [True, False]
    assert [c.hidden for c in view.comments] == [False, True]
    assert view.comments[1].comment.hidden_reason == "off topic"
    # the hidden text stays private to moderators, the removed one to everyone
    with pytest.raises(NotFound):
        service.comment_versions(session=session, comment_id=rude, user=rita)
    assert service.comment_versions(session=session, comment_id=rude, user=facilitator)
    with pytest.raises(NotFound):
        service.comment_versions(session=session, comment_id=mine, user=facilitator)


def test_resolve_rules_and_triage_lists(session: Session, alice: User, rita: User) -> None:
    bob = make_user(session, username="bob", role=Role.reader)
    tid = _open(session, rita, title="Rita's")
    other = _open(session, alice, title="Alice's")
    with pytest.raises(Forbidden):
        service.set_status(session=session, thread_id=other, status=ThreadStatus.resolved, user=bob)
    service.set_status(session=session, thread_id=tid, status=ThreadStatus.resolved, user=rita)
    thread = service.get_thread(session=session, thread_id=tid, user=rita)
    assert thread.thread.status is ThreadStatus.resolved
    assert thread.resolved_by is not None
    assert thread.resolved_by.username == "rita"
    service.set_status(session=session, thread_id=other, status=ThreadStatus.resolved, user=alice)
    service.set_status(session=session, thread_id=other, status=ThreadStatus.open, user=alice)

    open_, total = service.list_discussions(session=session, user=None, status="open")
    assert total == 1
    assert open_[0].thread.title == "Alice's"
    everything, total = service.list_discussions(session=session, user=None, status="all")
    assert total == 2
    assert everything[0].thread.title == "Alice's"  # latest activity first
    assert service.list_discussions(session=session, user=None, prefix="roles")[1] == 0
    assert service.list_discussions(session=session, user=None, prefix="core-processes")[1] == 1
    by_rita, _ = service.list_discussions(session=session, user=None, status="all", author="rita")
    assert [v.thread.title for v in by_rita] == ["Rita's"]
    with_alice, _ = service.list_discussions(
        session=session, user=None, status="all", participant="alice"
    )
    assert [v.thread.title for v in with_alice] == ["Alice's"]
    counts = service.thread_counts(
        session=session, page=pages.get_page(session=session, slug=SLUG, user=alice)
    )
    assert counts == {"open": 1, "resolved": 1, "all": 2}


def test_page_activity_timeline_and_live_stamp(session: Session, alice: User, rita: User) -> None:
    page = pages.get_page(session=session, slug=SLUG, user=alice)
    stamp0 = service.activity_stamp(session=session, page=page)
    tid = _open(session, rita, title="Q")
    stamp1 = service.activity_stamp(session=session, page=page)
    service.reply(session=session, thread_id=tid, data=CommentCreate(body="A"), author=alice)
    service.set_status(session=session, thread_id=tid, status=ThreadStatus.resolved, user=alice)
    stamp2 = service.activity_stamp(session=session, page=page)
    assert len({stamp0, stamp1, stamp2}) == 3
    kinds = [e.kind for e in service.page_activity(session=session, page=page)]
    assert kinds == ["resolved", "comment", "opened"]


def test_comment_markdown_is_inert(session: Session, alice: User) -> None:
    tid = _open(
        session,
        alice,
        body="<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>",
    )
    html = service.get_thread(session=session, thread_id=tid, user=alice).comments[0].comment.html
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html


def test_threads_and_comments_reach_the_search_outbox(session: Session, alice: User) -> None:
    tid = _open(session, alice)
    kinds = {(e.kind, e.ref_id) for e in session.exec(select(OutboxEvent))}
    assert ("thread", tid) in kinds
    assert any(kind == "comment" for kind, _ in kinds)


def test_passage_across_links_and_emphasis_is_found(session: Session, alice: User) -> None:
    make_page(
        session,
        slug="x",
        title="X",
        body="Handled by [[Request to Fulfil]] and *restoration* (see [[Incident]]).\n",
        author=alice,
    )
    data = ThreadCreate(
        body="?", quote="Handled by Request to Fulfil and restoration (see Incident)."
    )
    thread = service.open_thread(session=session, slug="x", data=data, author=alice)
    assert thread.anchor_kind is AnchorKind.passage
