"""Workshops service: planning, states, the live room, dot votes, the summary page, search."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core.config import Settings
from app.core.db import open_session
from app.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthorized
from app.notifications.models import Notification, NotificationKind
from app.pages import service as pages
from app.search.models import OutboxEvent
from app.search.sources import sources
from app.workshops import room, service, summary
from app.workshops.models import DotVote, Idea, ItemStatus, Workshop, WorkshopState
from app.workshops.schemas import (
    AgendaItemCreate,
    AgendaItemUpdate,
    ClusterCreate,
    IdeaCreate,
    MemberAdd,
    WorkshopCreate,
    WorkshopUpdate,
)
from tests.factories import make_page, make_user

SLUG = "ops/service-ownership"
BODY = (
    "## Purpose\n\nWhy services have owners.\n\n## Owners\n\nWho owns what.\n\n## Later\n\nMore.\n"
)


@pytest.fixture
def fran(session: Session) -> User:
    return make_user(session, username="fran", role=Role.facilitator)


@pytest.fixture
def alice(session: Session) -> User:
    return make_user(session, username="alice", role=Role.editor)


@pytest.fixture
def rita(session: Session) -> User:
    return make_user(session, username="rita", role=Role.reader)


@pytest.fixture
def bob(session: Session) -> User:
    """An editor who is not part of the workshop."""
    return make_user(session, username="bob", role=Role.editor)


@pytest.fixture
def ada(session: Session) -> User:
    return make_user(session, username="ada", role=Role.admin)


@pytest.fixture
def page(session: Session, alice: User) -> str:
    make_page(session, slug=SLUG, title="Service ownership", body=BODY, author=alice)
    return SLUG


def _create(session: Session, fran: User, **kw: object) -> Workshop:
    data = {
        "title": "Ownership model",
        "goal": "Agree who owns a service",
        "starts_at": datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        "participants": ["alice", "rita"],
        "items": [
            {"title": "Who owns?", "question": "Who owns a service?", "dots_per_participant": 2},
            {"question": "What does an owner decide?", "timebox_minutes": 20},
        ],
    }
    data.update(kw)
    return service.create_workshop(
        session=session, data=WorkshopCreate.model_validate(data), user=fran
    )


@pytest.fixture
def workshop(session: Session, fran: User, alice: User, rita: User) -> Workshop:
    return _create(session, fran, participants=[alice.username, rita.username])


@pytest.fixture
def live(session: Session, workshop: Workshop, fran: User) -> Workshop:
    return service.set_state(
        session=session, workshop_id=workshop.id or 0, state=WorkshopState.live, user=fran
    )


def _idea(
    session: Session, w: Workshop, user: User, body: str = "Product owners", **kw: object
) -> Idea:
    data = IdeaCreate.model_validate({"body": body, **kw})
    return room.add_idea(session=session, workshop_id=w.id or 0, data=data, user=user)


def _dot(session: Session, w: Workshop, idea: Idea, user: User, slot: int | None = None) -> None:
    room.place_dot(
        session=session, workshop_id=w.id or 0, idea_id=idea.id or 0, user=user, slot=slot
    )


# --- 1. planning and states -----------------------------------------------------------------------


def test_facilitator_creates_a_draft_with_people_and_agenda(
    session: Session, workshop: Workshop, fran: User
) -> None:
    view = service.get_workshop(session=session, workshop_id=workshop.id or 0, user=fran)
    assert view.workshop.state is WorkshopState.draft
    assert [u.username for u in view.facilitators] == ["fran"]
    assert sorted(u.username for u in view.participants) == ["alice", "rita"]
    assert [i.title for i in view.items] == ["Who owns?", "What does an owner decide?"]
    assert view.items[0].dots_per_participant == 2
    assert view.can_run
    assert session.exec(select(OutboxEvent).where(OutboxEvent.kind == "workshop")).first()


@pytest.mark.parametrize("role", [Role.reader, Role.editor])
def test_only_facilitators_and_admins_create(session: Session, role: Role) -> None:
    user = make_user(session, username="someone", role=role)
    with pytest.raises(Forbidden):
        _create(session, user, participants=[])
    with pytest.raises(Unauthorized):
        service.create_workshop(session=session, data=WorkshopCreate(title="x"), user=None)
    ada = make_user(session, username="ada", role=Role.admin)
    assert _create(session, ada, participants=[]).id


def test_bad_planning_input_is_refused_whole(
    session: Session, fran: User, alice: User, page: str
) -> None:
    people = [alice.username]
    with pytest.raises(Invalid, match="no user nobody"):
        _create(session, fran, participants=["alice", "nobody"])
    with pytest.raises(Invalid, match="cannot facilitate"):
        _create(session, fran, facilitators=["alice"])
    with pytest.raises(Invalid, match="title"):
        _create(session, fran, title="  ", participants=people)
    with pytest.raises(Invalid, match="no page"):
        _create(session, fran, participants=people, items=[{"page": "no/such/page"}])
    with pytest.raises(Invalid, match="no section"):
        _create(session, fran, participants=people, items=[{"page": page, "section": "h-nope"}])
    with pytest.raises(Invalid, match="needs a title"):
        _create(session, fran, participants=people, items=[{"timebox_minutes": 5}])
    assert session.exec(select(Workshop)).all() == []


def test_item_on_a_page_section_and_edits_while_planning(
    session: Session, workshop: Workshop, fran: User, page: str
) -> None:
    wid = workshop.id or 0
    item = service.add_item(
        session=session,
        workshop_id=wid,
        data=AgendaItemCreate(page=page, section="h-owners", timebox_minutes=5),
        user=fran,
    )
    assert item.title == "Service ownership"  # from the page
    r = room.get_room(session=session, workshop_id=wid, user=fran, item_id=item.id)
    assert "Who owns what." in r.page_html
    assert "Why services have owners." not in r.page_html
    assert "More." not in r.page_html
    service.update_item(
        session=session,
        workshop_id=wid,
        item_id=item.id or 0,
        data=AgendaItemUpdate(title="Owners section", dots_per_participant=5),
        user=fran,
    )
    service.update_workshop(
        session=session, workshop_id=wid, data=WorkshopUpdate(title="Owners"), user=fran
    )
    view = service.get_workshop(session=session, workshop_id=wid, user=fran)
    assert view.workshop.title == "Owners"
    assert view.items[-1].title == "Owners section"
    assert view.items[-1].dots_per_participant == 5


def test_reorder_and_remove_items(session: Session, workshop: Workshop, fran: User) -> None:
    wid = workshop.id or 0
    ids = [
        i.id or 0 for i in service.get_workshop(session=session, workshop_id=wid, user=fran).items
    ]
    service.reorder_items(session=session, workshop_id=wid, item_ids=ids[::-1], user=fran)
    view = service.get_workshop(session=session, workshop_id=wid, user=fran)
    assert [i.id for i in view.items] == ids[::-1]
    with pytest.raises(Invalid, match="exactly once"):
        service.reorder_items(session=session, workshop_id=wid, item_ids=[ids[0]], user=fran)
    service.move_item(session=session, workshop_id=wid, item_id=ids[0], offset=1, user=fran)
    service.remove_item(session=session, workshop_id=wid, item_id=ids[1], user=fran)
    view = service.get_workshop(session=session, workshop_id=wid, user=fran)
    assert [i.id for i in view.items] == [ids[0]]
    with pytest.raises(NotFound):
        service.remove_item(session=session, workshop_id=wid, item_id=9999, user=fran)


def test_states_only_move_forward(session: Session, workshop: Workshop, fran: User) -> None:
    wid = workshop.id or 0
    for state in (WorkshopState.scheduled, WorkshopState.live, WorkshopState.closed):
        service.set_state(session=session, workshop_id=wid, state=state, user=fran)
    with pytest.raises(Conflict, match="closed and cannot be moved back to live"):
        service.set_state(session=session, workshop_id=wid, state=WorkshopState.live, user=fran)
    with pytest.raises(Conflict, match="only change while it is a draft or scheduled"):
        service.update_workshop(
            session=session, workshop_id=wid, data=WorkshopUpdate(title="x"), user=fran
        )
    assert session.get(Workshop, wid).state is WorkshopState.closed  # type: ignore[union-attr]


def test_live_cannot_go_back_and_needs_an_agenda(session: Session, fran: User) -> None:
    empty = _create(session, fran, participants=[], items=[])
    with pytest.raises(Invalid, match="at least one agenda item"):
        service.set_state(
            session=session, workshop_id=empty.id or 0, state=WorkshopState.live, user=fran
        )
    w = _create(session, fran, participants=[])
    service.set_state(session=session, workshop_id=w.id or 0, state=WorkshopState.live, user=fran)
    with pytest.raises(Conflict, match="already live"):
        service.set_state(
            session=session, workshop_id=w.id or 0, state=WorkshopState.scheduled, user=fran
        )


def test_members_are_notified_when_invited_and_when_it_starts(
    session: Session, workshop: Workshop, fran: User, alice: User, bob: User
) -> None:
    wid = workshop.id or 0

    def inbox(user: User) -> list[str]:
        rows = session.exec(
            select(Notification).where(
                Notification.user_id == user.id, Notification.kind == NotificationKind.workshop
            )
        )
        return [n.excerpt for n in rows]

    assert inbox(alice) == []  # a draft notifies nobody
    service.set_state(session=session, workshop_id=wid, state=WorkshopState.scheduled, user=fran)
    assert inbox(alice) == ["Starts 01 Dec 2026, 10:00 UTC"]
    service.add_member(session=session, workshop_id=wid, data=MemberAdd(username="bob"), user=fran)
    assert len(inbox(bob)) == 1
    service.set_state(session=session, workshop_id=wid, state=WorkshopState.live, user=fran)
    assert inbox(alice)[-1] == "Started"
    assert inbox(fran) == []  # never the actor


def test_members_and_the_last_facilitator(
    session: Session, workshop: Workshop, fran: User, alice: User
) -> None:
    wid = workshop.id or 0
    with pytest.raises(Conflict, match="only facilitator"):
        service.remove_member(session=session, workshop_id=wid, username="fran", user=fran)
    with pytest.raises(Invalid, match="cannot facilitate"):
        service.add_member(
            session=session,
            workshop_id=wid,
            data=MemberAdd(username="rita", role="facilitator"),
            user=fran,
        )
    service.remove_member(session=session, workshop_id=wid, username="alice", user=fran)
    assert not service.is_member(session=session, workshop_id=wid, user=alice)
    rita = session.exec(select(User).where(User.username == "rita")).one()
    with pytest.raises(Forbidden, match="Only the workshop's facilitators"):
        service.add_member(
            session=session, workshop_id=wid, data=MemberAdd(username="bob"), user=rita
        )


def test_who_sees_what(
    session: Session, workshop: Workshop, fran: User, rita: User, bob: User, ada: User
) -> None:
    wid = workshop.id or 0
    assert service.get_workshop(session=session, workshop_id=wid, user=rita).is_member
    with pytest.raises(Forbidden, match="not closed yet"):
        service.get_workshop(session=session, workshop_id=wid, user=bob)
    with pytest.raises(Unauthorized):
        service.get_workshop(session=session, workshop_id=wid, user=None)
    admin_view = service.get_workshop(session=session, workshop_id=wid, user=ada)
    assert admin_view.can_run
    assert not admin_view.is_member
    assert service.is_facilitator(session=session, workshop_id=wid, user=ada)
    lists = service.list_workshops(session=session, user=rita)
    assert [w.id for w in lists.upcoming] == [wid]
    assert service.list_workshops(session=session, user=bob).upcoming == []
    for state in (WorkshopState.live, WorkshopState.closed):
        service.set_state(session=session, workshop_id=wid, state=state, user=fran)
    # closed: every reader, even anonymous on a public wiki
    assert service.get_workshop(session=session, workshop_id=wid, user=bob).workshop.id == wid
    assert service.get_workshop(session=session, workshop_id=wid, user=None).workshop.id == wid
    assert [w.id for w in service.list_workshops(session=session, user=None).closed] == [wid]
    with pytest.raises(NotFound):
        service.get_workshop(session=session, workshop_id=999, user=fran)


# --- 2. the live room -----------------------------------------------------------------------------


def test_start_makes_the_first_item_current_with_its_timebox(
    session: Session, live: Workshop, fran: User
) -> None:
    view = service.get_workshop(session=session, workshop_id=live.id or 0, user=fran)
    assert view.current_item is not None
    assert view.current_item.title == "Who owns?"
    assert view.current_item.status is ItemStatus.current
    assert view.timer == service.Timer(running=False, remaining=15 * 60)


def test_timer_start_pause_extend(session: Session, live: Workshop, fran: User, rita: User) -> None:
    wid = live.id or 0
    room.set_timer(session=session, workshop_id=wid, action="start", user=fran)
    w = session.get(Workshop, wid)
    assert w is not None
    assert w.timer_started_at is not None
    later = datetime.now(UTC) + timedelta(seconds=100)
    assert 795 <= service.timer_of(w, later).remaining <= 800  # type: ignore[operator]
    room.set_timer(session=session, workshop_id=wid, action="extend", minutes=5, user=fran)
    assert service.timer_of(w).remaining >= 1195  # type: ignore[operator]
    room.set_timer(session=session, workshop_id=wid, action="pause", user=fran)
    paused = service.timer_of(w)
    assert not paused.running
    assert paused.remaining is not None
    assert paused.remaining > 1190
    room.set_timer(session=session, workshop_id=wid, action="extend", minutes=1, user=fran)
    assert service.timer_of(w).remaining == paused.remaining + 60
    with pytest.raises(Forbidden):
        room.set_timer(session=session, workshop_id=wid, action="start", user=rita)
    with pytest.raises(Invalid):
        room.set_timer(session=session, workshop_id=wid, action="rewind", user=fran)


def test_ideas_are_rendered_and_anonymous_to_other_participants(
    session: Session, live: Workshop, fran: User, alice: User, rita: User
) -> None:
    wid = live.id or 0
    idea = _idea(session, live, rita, "Make **product** owners", anonymous=True)
    assert "<strong>product</strong>" in idea.html
    assert idea.author_id == rita.id  # always recorded

    def seen_by(user: User) -> room.IdeaView:
        r = room.get_room(session=session, workshop_id=wid, user=user)
        assert r.board is not None
        return r.board.ideas[0]

    assert seen_by(alice).author is None
    assert seen_by(alice).author_hidden
    assert seen_by(fran).author == rita  # facilitators see who
    assert seen_by(rita).author == rita
    assert seen_by(rita).mine


def test_every_write_bumps_the_revision(
    session: Session, live: Workshop, fran: User, alice: User
) -> None:
    wid = live.id or 0

    def rev() -> int:
        return service.revision_of(session=session, workshop_id=wid, user=alice)

    before = rev()
    idea = _idea(session, live, alice)
    assert rev() == before + 1
    _dot(session, live, idea, alice)
    room.set_timer(session=session, workshop_id=wid, action="start", user=fran)
    service.touch(session=session, workshop_id=wid)
    session.commit()
    assert rev() == before + 4


def test_bad_ideas(session: Session, live: Workshop, fran: User, alice: User, bob: User) -> None:
    wid = live.id or 0
    with pytest.raises(Invalid, match="cannot be empty"):
        _idea(session, live, alice, "   ")
    with pytest.raises(Invalid, match="short note"):
        _idea(session, live, alice, "x" * 2_001)
    with pytest.raises(Forbidden, match="not part of this workshop"):
        _idea(session, live, bob)
    with pytest.raises(NotFound, match="no agenda item #999"):
        _idea(session, live, alice, item_id=999)
    other = service.get_workshop(session=session, workshop_id=wid, user=fran).items[1]
    with pytest.raises(Conflict, match="moved on"):
        _idea(session, live, alice, item_id=other.id)
    service.set_state(session=session, workshop_id=wid, state=WorkshopState.closed, user=fran)
    with pytest.raises(Conflict, match="closed"):
        _idea(session, live, alice)
    assert session.exec(select(Idea)).all() == []


def test_clusters_move_and_merge(
    session: Session, live: Workshop, fran: User, alice: User, rita: User
) -> None:
    wid = live.id or 0
    a = _idea(session, live, alice, "Product owners")
    b = _idea(session, live, rita, "Product ownership")
    c = _idea(session, live, rita, "A service board")
    cluster = room.create_cluster(
        session=session, workshop_id=wid, data=ClusterCreate(title="People"), user=fran
    )
    room.move_idea(
        session=session, workshop_id=wid, idea_id=a.id or 0, cluster_id=cluster.id, user=fran
    )
    _dot(session, live, b, alice)
    _dot(session, live, b, rita)
    room.merge_ideas(
        session=session, workshop_id=wid, idea_id=b.id or 0, into_id=a.id or 0, user=fran
    )
    dots = session.exec(select(DotVote.idea_id)).all()
    assert dots == [a.id, a.id]  # the duplicate's dots moved to the idea kept
    r = room.get_room(session=session, workshop_id=wid, user=fran)
    assert r.board is not None
    assert [v.idea.id for v in r.board.clusters[0].ideas] == [a.id]
    assert [m.idea.id for m in r.board.clusters[0].ideas[0].merged] == [b.id]
    assert [v.idea.id for v in r.board.loose] == [c.id]
    with pytest.raises(Invalid, match="into itself"):
        room.merge_ideas(
            session=session, workshop_id=wid, idea_id=c.id or 0, into_id=c.id or 0, user=fran
        )
    with pytest.raises(Invalid, match="merged into another"):
        room.merge_ideas(
            session=session, workshop_id=wid, idea_id=c.id or 0, into_id=b.id or 0, user=fran
        )
    with pytest.raises(Forbidden):
        room.create_cluster(
            session=session, workshop_id=wid, data=ClusterCreate(title="x"), user=alice
        )
    with pytest.raises(NotFound):
        room.move_idea(
            session=session, workshop_id=wid, idea_id=c.id or 0, cluster_id=999, user=fran
        )
    room.delete_cluster(session=session, workshop_id=wid, cluster_id=cluster.id or 0, user=fran)
    r = room.get_room(session=session, workshop_id=wid, user=fran)
    assert r.board is not None
    assert r.board.clusters == []
    assert {v.idea.id for v in r.board.loose} == {a.id, c.id}


def test_dot_voting_limits_and_hidden_results(
    session: Session, live: Workshop, fran: User, alice: User, rita: User
) -> None:
    wid = live.id or 0
    a = _idea(session, live, alice, "One")
    b = _idea(session, live, rita, "Two")
    _dot(session, live, a, alice)
    _dot(session, live, a, alice)  # two dots on the same idea are fine
    with pytest.raises(Conflict, match="used all your 2 dots"):
        _dot(session, live, b, alice)
    _dot(session, live, b, rita, slot=1)
    with pytest.raises(Conflict, match="already placed dot 1"):
        _dot(session, live, a, rita, slot=1)
    with pytest.raises(Invalid, match="You have 2 dots"):
        _dot(session, live, b, rita, slot=3)
    # hidden: totals are None for everyone, the facilitator included; own dots are shown
    for user in (alice, rita, fran):
        board = room.get_room(session=session, workshop_id=wid, user=user).board
        assert board is not None
        assert all(v.dots is None for v in board.ideas)
    board = room.get_room(session=session, workshop_id=wid, user=alice).board
    assert board is not None
    assert board.dots_left == 0
    assert {v.idea.id: v.my_dots for v in board.ideas} == {a.id: 2, b.id: 0}
    room.take_dot(session=session, workshop_id=wid, idea_id=a.id or 0, user=alice)
    with pytest.raises(Invalid, match="no dot on this idea"):
        room.take_dot(session=session, workshop_id=wid, idea_id=b.id or 0, user=alice)
    _dot(session, live, b, alice)
    with pytest.raises(Forbidden):
        room.reveal_votes(session=session, workshop_id=wid, user=alice)
    room.reveal_votes(session=session, workshop_id=wid, user=fran)
    board = room.get_room(session=session, workshop_id=wid, user=alice).board
    assert board is not None
    assert board.revealed
    assert {v.idea.id: v.dots for v in board.ideas} == {a.id: 1, b.id: 2}
    assert [v.idea.id for v in board.ideas] == [b.id, a.id]  # most dots first
    with pytest.raises(Conflict, match="revealed"):
        _dot(session, live, a, rita)


def test_the_database_refuses_a_second_dot_in_the_same_slot(
    session: Session, live: Workshop, alice: User
) -> None:
    a = _idea(session, live, alice)
    _dot(session, live, a, alice, slot=1)
    session.add(DotVote(item_id=a.item_id, idea_id=a.id or 0, user_id=alice.id or 0, slot=1))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        session.commit()
    session.rollback()
    assert len(session.exec(select(DotVote)).all()) == 1


def test_concurrent_dots_never_exceed_the_limit(
    engine: Engine, settings: Settings, session: Session, live: Workshop, alice: User
) -> None:
    a = _idea(session, live, alice)
    outcomes: list[str] = []

    def vote() -> None:
        with open_session(engine, settings) as own:
            try:
                room.place_dot(session=own, workshop_id=live.id or 0, idea_id=a.id or 0, user=alice)
                outcomes.append("ok")
            except DomainError as exc:
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=vote) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 2
    assert outcomes.count("Conflict") == 3
    assert len(session.exec(select(DotVote)).all()) == 2


def test_next_item_and_go_to(session: Session, live: Workshop, fran: User, alice: User) -> None:
    wid = live.id or 0
    first, second = service.get_workshop(session=session, workshop_id=wid, user=fran).items
    with pytest.raises(Forbidden):
        room.go_to_item(session=session, workshop_id=wid, user=alice)
    room.go_to_item(session=session, workshop_id=wid, user=fran)
    view = service.get_workshop(session=session, workshop_id=wid, user=fran)
    assert view.current_item is not None
    assert view.current_item.id == second.id
    assert view.items[0].status is ItemStatus.done
    assert view.timer.remaining == 20 * 60
    with pytest.raises(Conflict, match="last agenda item"):
        room.go_to_item(session=session, workshop_id=wid, user=fran)
    room.go_to_item(session=session, workshop_id=wid, item_id=first.id, user=fran)
    view = service.get_workshop(session=session, workshop_id=wid, user=fran)
    assert view.current_item is not None
    assert view.current_item.id == first.id
    with pytest.raises(NotFound):
        room.go_to_item(session=session, workshop_id=wid, item_id=999, user=fran)


# --- 3. the summary page --------------------------------------------------------------------------


@pytest.mark.usefixtures("page")
def test_closing_writes_the_summary_page(
    session: Session, live: Workshop, fran: User, alice: User, rita: User, bob: User
) -> None:
    wid = live.id or 0
    a = _idea(session, live, alice, "Product owners")
    _idea(session, live, rita, "Secret thought", anonymous=True)
    cluster = room.create_cluster(
        session=session, workshop_id=wid, data=ClusterCreate(title="People"), user=fran
    )
    room.move_idea(
        session=session, workshop_id=wid, idea_id=a.id or 0, cluster_id=cluster.id, user=fran
    )
    _dot(session, live, a, alice)
    _dot(session, live, a, rita)
    room.reveal_votes(session=session, workshop_id=wid, user=fran)
    room.go_to_item(session=session, workshop_id=wid, user=fran)
    _idea(session, live, alice, "Hidden votes idea")
    _dot(
        session,
        live,
        session.exec(select(Idea).where(Idea.body == "Hidden votes idea")).one(),
        alice,
    )
    service.set_state(session=session, workshop_id=wid, state=WorkshopState.closed, user=fran)

    view = service.get_workshop(session=session, workshop_id=wid, user=bob)
    assert view.summary_slug == "workshops/2026-12-01-ownership-model"
    summary_page = pages.get_page(session=session, slug=view.summary_slug, user=bob)
    body = pages.current_revision(session=session, page=summary_page).body
    assert "## Participants" in body
    assert "Alice" in body
    assert "Rita" in body
    assert "## Agenda" in body
    assert "1. Who owns?" in body
    assert "#### People (2 dots)" in body
    assert "Product owners" in body
    assert "**2 dots**" in body
    assert "Secret thought\n  — *anonymous*" in body
    assert "The dot votes were not revealed." in body
    assert "## Decisions" in body
    name, text = summary.download(session=session, workshop_id=wid, user=None)
    assert name == "2026-12-01-ownership-model.md"
    assert text.startswith("# Workshop: Ownership model\n")
    # a second workshop with the same title and day gets its own page
    again = _create(session, fran)
    for state in (WorkshopState.live, WorkshopState.closed):
        service.set_state(session=session, workshop_id=again.id or 0, state=state, user=fran)
    view = service.get_workshop(session=session, workshop_id=again.id or 0, user=fran)
    assert view.summary_slug == "workshops/2026-12-01-ownership-model-2"


def test_no_summary_before_closing(session: Session, live: Workshop, fran: User) -> None:
    with pytest.raises(NotFound, match="no summary yet"):
        summary.download(session=session, workshop_id=live.id or 0, user=fran)


# --- search ---------------------------------------------------------------------------------------


def test_search_source(session: Session, workshop: Workshop, fran: User) -> None:
    source = sources()["workshop"]
    doc = source.load(session, [workshop.id or 0])[0]
    assert doc.title == "Ownership model"
    assert "Agree who owns a service" in doc.body
    assert "2026-12-01" in doc.body
    assert doc.status == "draft"
    assert doc.scope
    version = source.versions(session)[workshop.id or 0]
    service.update_workshop(
        session=session,
        workshop_id=workshop.id or 0,
        data=WorkshopUpdate(goal="New goal"),
        user=fran,
    )
    assert source.versions(session)[workshop.id or 0] != version
    for state in (WorkshopState.live, WorkshopState.closed):
        service.set_state(session=session, workshop_id=workshop.id or 0, state=state, user=fran)
    doc = source.load(session, [workshop.id or 0])[0]
    assert doc.status == "closed"
    assert doc.scope == ""
