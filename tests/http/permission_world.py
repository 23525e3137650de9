"""The world the permission matrix runs in: one user per role, one of each object, and factories
for fresh objects that a state-changing request may use up (so no case depends on another)."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.attachments import service as attachments
from app.decisions import service as decisions
from app.decisions.schemas import DecisionCreate
from app.discussions import service as discussions
from app.discussions.schemas import CommentCreate, ThreadCreate
from app.notifications import service as notifications
from app.notifications.models import Notification
from app.pages import service as pages
from app.pages.schemas import PageEdit
from app.proposals import service as proposals
from app.proposals.models import Proposal, ProposalChange
from app.proposals.schemas import ProposalCreate
from app.reviews import service as reviews
from app.reviews.schemas import StewardshipUpdate
from app.webhooks import service as webhooks
from app.webhooks.models import WebhookDeliveryStatus
from app.webhooks.schemas import WebhookCreate
from app.workshops import room
from app.workshops import service as workshops
from app.workshops.models import WorkshopState
from app.workshops.schemas import ClusterCreate, IdeaCreate, WorkshopCreate
from tests.factories import PASSWORD, make_user

# the role each case runs as; None is an anonymous visitor
ROLES: dict[str, Role | None] = {
    "anonymous": None,
    "reader": Role.reader,
    "editor": Role.editor,
    "facilitator": Role.facilitator,
    "admin": Role.admin,
}
USERNAMES = {"reader": "rita", "editor": "eddie", "facilitator": "fran", "admin": "ada"}
OTHER = "olivia"  # an editor who owns the objects nobody in the matrix owns
TARGET = "tina"  # the user whom admins manage in the matrix
PAGE = "matrix/page"
BODY = "Intro.\n\n## Purpose\n\nWhy it exists.\n\n## Owners\n\nWho owns what.\n"

_counter = itertools.count(1)


def unique() -> int:
    """A number no other call returned (for slugs, titles and names)."""
    return next(_counter)


@dataclass
class Workshop:
    id: int
    items: list[int]
    idea: int
    cluster: int


@dataclass
class World:
    """One of each object, made once for the module; cases read it and never use it up."""

    users: dict[str, User]
    page_head: int = 0
    thread: int = 0
    comment: int = 0
    proposal: int = 0
    change: int = 0
    decision: str = "DEC-1"
    attachment: str = "notes.txt"
    endpoint: int = 0
    delivery: int = 0
    workshops: dict[tuple[bool, bool], Workshop] = field(default_factory=dict)
    closed_workshop: int = 0


def user(session: Session, name: str) -> User:
    """A user freshly loaded in ``session``."""
    return accounts.get_user(session=session, username=name)


def make_users(session: Session) -> dict[str, User]:
    """One user per role, the owner of others' things, the admins' target, and spare users for
    the cases that end all of a user's sessions or change their password."""
    made: dict[str, User] = {}
    for role, name in USERNAMES.items():
        made[role] = make_user(session, username=name, role=Role(role))
        for prefix in ("pw", "all"):
            make_user(session, username=f"{prefix}-{name}", role=Role(role))
    made[OTHER] = make_user(session, username=OTHER, role=Role.editor)
    made[TARGET] = make_user(session, username=TARGET, role=Role.reader)
    return made


def build(session: Session) -> World:
    """Make the world: a page with revisions, sections and an attachment, a discussion, four
    workshops, a proposal with a page edit, a decision, notifications and a webhook."""
    world = World(users=make_users(session))
    other = user(session, OTHER)
    admin = user(session, USERNAMES["admin"])
    world.page_head = fresh_page(session, slug=PAGE, revisions=2)
    for role in USERNAMES:
        me = user(session, USERNAMES[role])
        notifications.set_watch(
            session=session, page_id=_page_id(session, PAGE), user=me, watching=True
        )
    world.page_head = _edit(session, PAGE, other, "A change everyone is told about.")
    for version in (b"first\n", b"second\n"):
        attachments.upload(
            session=session, slug=PAGE, filename="notes.txt", stream=io.BytesIO(version), user=other
        )
    reviews.set_stewardship(
        session=session,
        slug=PAGE,
        data=StewardshipUpdate(owners=[OTHER], review_months=6),
        user=admin,
    )
    world.thread, world.comment = fresh_thread(session)
    for members in (True, False):
        for live in (True, False):
            world.workshops[(members, live)] = fresh_workshop(session, members=members, live=live)
    closed = fresh_workshop(session, members=True, live=True)
    workshops.set_state(
        session=session,
        workshop_id=closed.id,
        state=WorkshopState.closed,
        user=user(session, USERNAMES["facilitator"]),
    )
    world.closed_workshop = closed.id
    world.proposal, world.change = fresh_proposal(session, author=OTHER, with_change=True)
    decisions.create_decision(
        session=session, data=DecisionCreate(title="Matrix decision"), user=admin
    )
    endpoint = webhooks.create_endpoint(
        session=session,
        user=admin,
        data=WebhookCreate(url="https://hooks.example.com/atrium", events=["page.saved"]),
    )
    world.endpoint = endpoint.id or 0
    world.delivery = (
        webhooks.send_test(session=session, user=admin, endpoint_id=world.endpoint).id or 0
    )
    return world


def _page_id(session: Session, slug: str) -> int:
    page = pages.find_page(session=session, slug=slug)
    assert page is not None
    return page.id or 0


def _edit(session: Session, slug: str, author: User, text: str) -> int:
    page = pages.find_page(session=session, slug=slug)
    assert page is not None
    edit = PageEdit(title=page.title, body=BODY + "\n" + text + "\n", base=page.head)
    return pages.save_page(session=session, slug=slug, edit=edit, author=author).page.head


def fresh_page(
    session: Session, *, slug: str | None = None, revisions: int = 1, deleted: bool = False
) -> int:
    """A page by the other editor with ``revisions`` revisions; returns its head revision."""
    slug = slug or f"matrix/p{unique()}"
    other = user(session, OTHER)
    edit = PageEdit(title=f"Matrix page {slug}", body=BODY)
    head = pages.save_page(session=session, slug=slug, edit=edit, author=other).page.head
    for n in range(1, revisions):
        head = _edit(session, slug, other, f"Revision {n + 1}.")
    if deleted:
        pages.delete_page(session=session, slug=slug, author=other)
    return head


def page_slug() -> str:
    """A fresh page's slug (call fresh_page with it)."""
    return f"matrix/p{unique()}"


def fresh_thread(session: Session, *, author: str = OTHER) -> tuple[int, int]:
    """A discussion on the world's page; returns its id and its first comment's id."""
    me = user(session, author)
    thread = discussions.open_thread(
        session=session,
        slug=PAGE,
        data=ThreadCreate(title=f"Thread {unique()}", body="What about this?"),
        author=me,
    )
    view = discussions.get_thread(session=session, thread_id=thread.id or 0, user=me)
    return thread.id or 0, view.comments[0].comment.id or 0


def fresh_comment(session: Session, *, author: str, hidden: bool = False) -> int:
    """A reply on a fresh discussion, by ``author``; hidden by a moderator if asked."""
    thread, _ = fresh_thread(session)
    comment = discussions.reply(
        session=session,
        thread_id=thread,
        data=CommentCreate(body=f"A reply {unique()}."),
        author=user(session, author),
    )
    if hidden:
        discussions.hide_comment(
            session=session,
            comment_id=comment.id or 0,
            reason="off topic",
            user=user(session, USERNAMES["admin"]),
        )
    return comment.id or 0


def fresh_workshop(session: Session, *, members: bool, live: bool) -> Workshop:
    """A workshop (scheduled, or live with an idea and a dot) with two agenda items.

    With ``members`` the facilitator runs it and the reader, the editor and the other editor
    take part; without, only the admin runs it and nobody else in the matrix is part of it.
    """
    creator = user(session, USERNAMES["facilitator"] if members else USERNAMES["admin"])
    participants = [USERNAMES["reader"], USERNAMES["editor"], OTHER] if members else [OTHER]
    data = WorkshopCreate.model_validate(
        {
            "title": f"Matrix workshop {unique()}",
            "starts_at": datetime(2027, 1, 1, 10, 0, tzinfo=UTC),
            "participants": participants,
            "items": [
                {"title": "First", "page": PAGE, "section": "h-purpose", "dots_per_participant": 3},
                {"question": "What next?"},
            ],
        }
    )
    w = workshops.create_workshop(session=session, data=data, user=creator)
    wid = w.id or 0
    workshops.set_state(
        session=session, workshop_id=wid, state=WorkshopState.scheduled, user=creator
    )
    items = [
        i.id or 0
        for i in workshops.get_workshop(session=session, workshop_id=wid, user=creator).items
    ]
    if not live:
        return Workshop(id=wid, items=items, idea=0, cluster=0)
    workshops.set_state(session=session, workshop_id=wid, state=WorkshopState.live, user=creator)
    other = user(session, OTHER)
    idea = room.add_idea(
        session=session, workshop_id=wid, data=IdeaCreate(body="An idea"), user=other
    )
    room.place_dot(session=session, workshop_id=wid, idea_id=idea.id or 0, user=other)
    cluster = room.create_cluster(
        session=session, workshop_id=wid, data=ClusterCreate(title="A cluster"), user=creator
    )
    return Workshop(id=wid, items=items, idea=idea.id or 0, cluster=cluster.id or 0)


def fresh_idea(session: Session, workshop_id: int, *, author: str = OTHER) -> int:
    """Another idea on a live workshop's current item."""
    idea = room.add_idea(
        session=session,
        workshop_id=workshop_id,
        data=IdeaCreate(body=f"Idea {unique()}"),
        user=user(session, author),
    )
    return idea.id or 0


def fresh_proposal(
    session: Session, *, author: str = OTHER, with_change: bool = False
) -> tuple[int, int]:
    """An open proposal to everyone; returns its id and (with a page edit) its change's id."""
    me = user(session, author)
    changes = []
    if with_change:
        page = pages.find_page(session=session, slug=PAGE)
        assert page is not None
        changes = [{"slug": PAGE, "base": page.head, "body": BODY + "\nProposed.\n"}]
    data = ProposalCreate.model_validate(
        {
            "title": f"Proposal {unique()}",
            "description": "Shall we?",
            "source": "page_edit" if with_change else "none",
            "changes": changes,
        }
    )
    if me.role == Role.reader:
        # readers cannot put proposals, but keep (and may withdraw) those from an earlier role
        p = proposals.create_proposal(session=session, data=data, author=user(session, OTHER))
        row = session.get(Proposal, p.id)
        assert row is not None
        row.author_id = me.id
        session.add(row)
        session.commit()
    else:
        p = proposals.create_proposal(session=session, data=data, author=me)
    change = session.exec(
        select(ProposalChange.id).where(ProposalChange.proposal_id == p.id)
    ).first()
    return p.id or 0, change or 0


def fresh_decision(session: Session) -> str:
    """A draft decision; returns its reference (DEC-nnnn)."""
    d = decisions.create_decision(
        session=session,
        data=DecisionCreate(title=f"Decision {unique()}"),
        user=user(session, USERNAMES["admin"]),
    )
    return f"DEC-{d.number}"


def fresh_attachment(session: Session, *, deleted: bool = False) -> str:
    """A text attachment with two versions on the world's page; returns its name."""
    name = f"file{unique()}.txt"
    other = user(session, OTHER)
    for version in (b"one\n", b"two\n"):
        attachments.upload(
            session=session, slug=PAGE, filename=name, stream=io.BytesIO(version), user=other
        )
    if deleted:
        attachments.delete_attachment(session=session, slug=PAGE, name=name, user=other)
    return name


def fresh_token(session: Session, username: str) -> int:
    """A new API token of ``username``; returns its id."""
    row, _ = accounts.create_token(session=session, username=username, name=f"t{unique()}")
    return row.id or 0


def fresh_endpoint(session: Session) -> tuple[int, int]:
    """A webhook endpoint with one test delivery; returns both ids."""
    admin = user(session, USERNAMES["admin"])
    endpoint = webhooks.create_endpoint(
        session=session,
        user=admin,
        data=WebhookCreate(url=f"https://hooks.example.com/{unique()}", events=["page.saved"]),
    )
    delivery = webhooks.send_test(session=session, user=admin, endpoint_id=endpoint.id or 0)
    # a delivery that gave up (the matrix runs no sender), so it may be sent again
    delivery.status = WebhookDeliveryStatus.failed
    session.add(delivery)
    session.commit()
    return endpoint.id or 0, delivery.id or 0


def notification_ids(session: Session, username: str | None) -> list[int]:
    """The ids of a user's notifications (someone else's for an anonymous visitor)."""
    who = user(session, username or OTHER)
    rows = session.exec(select(Notification.id).where(col(Notification.user_id) == who.id))
    return [row for row in rows if row is not None]


__all__ = ["PASSWORD"]


def accepted_decision(session: Session) -> str:
    """A fresh decision, accepted (so it can be amended or superseded)."""
    ref = fresh_decision(session)
    decisions.change_status(
        session=session,
        number=int(ref.removeprefix("DEC-")),
        action="accept",
        user=user(session, USERNAMES["admin"]),
    )
    return ref


def fresh_cluster(session: Session, workshop_id: int, *, members: bool) -> int:
    """Another cluster on a live workshop's current item."""
    runner = user(session, USERNAMES["facilitator"] if members else USERNAMES["admin"])
    cluster = room.create_cluster(
        session=session,
        workshop_id=workshop_id,
        data=ClusterCreate(title=f"Cluster {unique()}"),
        user=runner,
    )
    return cluster.id or 0


def workshop_proposal(session: Session, ws: Workshop, *, members: bool) -> int:
    """An open proposal made from an idea of a live workshop, by the one who runs it."""
    runner = user(session, USERNAMES["facilitator"] if members else USERNAMES["admin"])
    data = ProposalCreate.model_validate(
        {"title": f"From the room {unique()}", "source": "idea", "source_id": ws.idea}
    )
    return proposals.create_proposal(session=session, data=data, author=runner).id or 0
