"""Threads and comments are found by search, and leave it when removed, hidden or resolved."""

from __future__ import annotations

from sqlmodel import Session

from app.accounts.models import Role
from app.discussions import service as discussions
from app.discussions.models import ThreadStatus
from app.discussions.schemas import CommentCreate, ThreadCreate
from tests.factories import make_page, make_user
from tests.unit.search.conftest import Find


def test_threads_and_comments_are_searchable(session: Session, find: Find) -> None:
    alice = make_user(session, username="alice", role=Role.editor)
    fran = make_user(session, username="fran", role=Role.facilitator)
    make_page(session, slug="core-processes/r2v", title="R2V", body="Demand intake.", author=alice)
    thread = discussions.open_thread(
        session=session,
        slug="core-processes/r2v",
        data=ThreadCreate(title="Chargeback model", body="Should showback precede chargeback?"),
        author=alice,
    )
    reply = discussions.reply(
        session=session,
        thread_id=thread.id or 0,
        data=CommentCreate(body="Quarterly reconciliation keeps finance aligned."),
        author=fran,
    )
    results = find("reconciliation")
    assert [(h.kind, h.url) for h in results.hits] == [
        ("comment", f"/threads/{thread.id}#comment-{reply.id}")
    ]
    assert results.hits[0].context == "R2V"
    assert {h.kind for h in find("showback").hits} == {"thread", "comment"}
    assert [h.kind for h in find("showback kind:thread").hits] == ["thread"]
    assert find("reconciliation author:fran").total == 1
    assert find("reconciliation in:roles").total == 0

    discussions.set_status(
        session=session, thread_id=thread.id or 0, status=ThreadStatus.resolved, user=alice
    )
    assert find("showback kind:thread status:resolved").total == 1

    discussions.hide_comment(session=session, comment_id=reply.id or 0, reason="x", user=fran)
    assert find("reconciliation").total == 0


def test_moving_or_deleting_a_page_carries_its_discussions(session: Session, find: Find) -> None:
    from app.pages import service as pages

    alice = make_user(session, username="alice", role=Role.editor)
    make_page(session, slug="drafts/r2v", title="R2V", body="Demand intake.", author=alice)
    discussions.open_thread(
        session=session,
        slug="drafts/r2v",
        data=ThreadCreate(title="Funding", body="Who pays for the discovery sprint?"),
        author=alice,
    )
    assert find("discovery in:drafts").total == 2
    pages.move_page(session=session, slug="drafts/r2v", new_slug="core-processes/r2v", author=alice)
    assert find("discovery in:drafts").total == 0
    assert find("discovery in:core-processes").total == 2
    pages.delete_page(session=session, slug="core-processes/r2v", author=alice)
    assert find("discovery").total == 0
    pages.undelete_page(session=session, slug="core-processes/r2v", author=alice)
    assert find("discovery").total == 2
