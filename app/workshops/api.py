"""Workshops JSON API under /api/v1: every step of a workshop can be scripted."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.core.deps import OptionalUser, SessionDep
from app.core.errors import Conflict
from app.core.problems import problems
from app.workshops import room, service
from app.workshops.models import AgendaItem, IdeaCluster, Workshop
from app.workshops.schemas import (
    AgendaItemCreate,
    AgendaItemRead,
    AgendaItemUpdate,
    BoardRead,
    ClusterCreate,
    ClusterRead,
    DotCreate,
    IdeaCreate,
    IdeaMerge,
    IdeaMove,
    IdeaRead,
    MemberAdd,
    MemberRead,
    Reorder,
    StateChange,
    TimerAction,
    TimerRead,
    WorkshopCreate,
    WorkshopRead,
    WorkshopUpdate,
)

router = APIRouter(prefix="/api/v1/workshops", tags=["workshops"])

ERRORS = problems(401, 403, 404, 409, 422)


class WorkshopLists(BaseModel):
    upcoming: list[WorkshopRead]
    live: list[WorkshopRead]
    closed: list[WorkshopRead]


class NextItem(BaseModel):
    item_id: int | None = None


def _item(item: AgendaItem, slug: str | None) -> AgendaItemRead:
    return AgendaItemRead(
        id=item.id or 0,
        position=item.position,
        title=item.title,
        question=item.question,
        page=slug,
        section=item.section,
        timebox_minutes=item.timebox_minutes,
        dots_per_participant=item.dots_per_participant,
        votes_revealed=item.votes_revealed,
        status=item.status,
    )


def _read(view: service.WorkshopView) -> WorkshopRead:
    w = view.workshop
    timer = view.timer
    return WorkshopRead(
        id=w.id or 0,
        title=w.title,
        goal=w.goal,
        state=w.state,
        starts_at=w.starts_at,
        duration_minutes=w.duration_minutes,
        current_item_id=w.current_item_id,
        revision=w.revision,
        timer=TimerRead(running=timer.running, remaining_seconds=timer.remaining),
        summary_page=view.summary_slug,
        created_at=w.created_at,
        started_at=w.started_at,
        closed_at=w.closed_at,
        members=[
            MemberRead(username=m.user.username, name=m.user.label, role=m.role)
            for m in view.members
        ],
        items=[
            _item(i, p.slug if (p := view.page_of(i)) is not None else None) for i in view.items
        ],
    )


def _workshop(session: SessionDep, user: OptionalUser, workshop_id: int) -> WorkshopRead:
    return _read(service.get_workshop(session=session, workshop_id=workshop_id, user=user))


def _idea(v: room.IdeaView) -> IdeaRead:
    i = v.idea
    return IdeaRead(
        id=i.id or 0,
        item_id=i.item_id,
        author=v.author.username if v.author is not None else None,
        anonymous=i.anonymous,
        body=i.body,
        html=i.html,
        cluster_id=i.cluster_id,
        merged_into_id=i.merged_into_id,
        created_at=i.created_at,
        my_dots=v.my_dots,
        dots=v.dots,
    )


def _cluster(c: IdeaCluster) -> ClusterRead:
    return ClusterRead(id=c.id or 0, item_id=c.item_id, title=c.title, position=c.position)


def _board(
    session: SessionDep, user: OptionalUser, workshop_id: int, item_id: int | None = None
) -> BoardRead:
    r = room.get_room(session=session, workshop_id=workshop_id, user=user, item_id=item_id)
    if r.board is None or r.item is None:
        raise Conflict("No agenda item is being worked on right now; ask for one by its id.")
    page = r.view.page_of(r.item)
    ideas = [_idea(v) for v in r.board.ideas]
    ideas += [_idea(m) for v in r.board.ideas for m in v.merged]
    return BoardRead(
        item=_item(r.item, page.slug if page is not None else None),
        clusters=[_cluster(c.cluster) for c in r.board.clusters],
        ideas=ideas,
        dots_left=r.board.dots_left,
        dots_placed=r.board.dots_placed,
    )


# --- workshops, people, agenda, states -----------------------------------------------------------


@router.get("", responses=ERRORS)
def list_workshops(session: SessionDep, user: OptionalUser) -> WorkshopLists:
    """My upcoming and live workshops, and the closed ones."""
    lists = service.list_workshops(session=session, user=user)

    def read(rows: list[Workshop]) -> list[WorkshopRead]:
        return [_workshop(session, user, w.id or 0) for w in rows]

    return WorkshopLists(
        upcoming=read(lists.upcoming), live=read(lists.live), closed=read(lists.closed)
    )


@router.post("", status_code=201, responses=ERRORS)
def create_workshop(data: WorkshopCreate, session: SessionDep, user: OptionalUser) -> WorkshopRead:
    """Create a draft workshop with its facilitators, participants and agenda."""
    workshop = service.create_workshop(session=session, data=data, user=user)
    return _workshop(session, user, workshop.id or 0)


@router.get("/{workshop_id}", responses=ERRORS)
def get_workshop(workshop_id: int, session: SessionDep, user: OptionalUser) -> WorkshopRead:
    return _workshop(session, user, workshop_id)


@router.patch("/{workshop_id}", responses=ERRORS)
def update_workshop(
    workshop_id: int, data: WorkshopUpdate, session: SessionDep, user: OptionalUser
) -> WorkshopRead:
    """Change a draft or scheduled workshop's title, goal, date or duration."""
    service.update_workshop(session=session, workshop_id=workshop_id, data=data, user=user)
    return _workshop(session, user, workshop_id)


@router.post("/{workshop_id}/members", responses=ERRORS)
def add_member(
    workshop_id: int, data: MemberAdd, session: SessionDep, user: OptionalUser
) -> WorkshopRead:
    """Add a facilitator or participant (or change a member's role)."""
    return _read(service.add_member(session=session, workshop_id=workshop_id, data=data, user=user))


@router.delete("/{workshop_id}/members/{username}", responses=ERRORS)
def remove_member(
    workshop_id: int, username: str, session: SessionDep, user: OptionalUser
) -> WorkshopRead:
    view = service.remove_member(
        session=session, workshop_id=workshop_id, username=username, user=user
    )
    return _read(view)


@router.post("/{workshop_id}/items", status_code=201, responses=ERRORS)
def add_item(
    workshop_id: int, data: AgendaItemCreate, session: SessionDep, user: OptionalUser
) -> WorkshopRead:
    """Add an agenda item at the end (draft or scheduled workshops)."""
    service.add_item(session=session, workshop_id=workshop_id, data=data, user=user)
    return _workshop(session, user, workshop_id)


@router.patch("/{workshop_id}/items/{item_id}", responses=ERRORS)
def update_item(
    workshop_id: int,
    item_id: int,
    data: AgendaItemUpdate,
    session: SessionDep,
    user: OptionalUser,
) -> WorkshopRead:
    service.update_item(
        session=session, workshop_id=workshop_id, item_id=item_id, data=data, user=user
    )
    return _workshop(session, user, workshop_id)


@router.delete("/{workshop_id}/items/{item_id}", responses=ERRORS)
def remove_item(
    workshop_id: int, item_id: int, session: SessionDep, user: OptionalUser
) -> WorkshopRead:
    service.remove_item(session=session, workshop_id=workshop_id, item_id=item_id, user=user)
    return _workshop(session, user, workshop_id)


@router.put("/{workshop_id}/items", responses=ERRORS)
def reorder_items(
    workshop_id: int, data: Reorder, session: SessionDep, user: OptionalUser
) -> WorkshopRead:
    """Put the agenda in a new order: every item id exactly once."""
    service.reorder_items(
        session=session, workshop_id=workshop_id, item_ids=data.item_ids, user=user
    )
    return _workshop(session, user, workshop_id)


@router.post("/{workshop_id}/state", responses=ERRORS)
def set_state(
    workshop_id: int, data: StateChange, session: SessionDep, user: OptionalUser
) -> WorkshopRead:
    """Move the workshop forward (scheduled, live, closed); closing writes the summary page."""
    service.set_state(session=session, workshop_id=workshop_id, state=data.state, user=user)
    return _workshop(session, user, workshop_id)


# --- the live room -------------------------------------------------------------------------------


@router.post("/{workshop_id}/timer", responses=ERRORS)
def timer(
    workshop_id: int, data: TimerAction, session: SessionDep, user: OptionalUser
) -> TimerRead:
    """Start (or resume), pause, extend or reset the shared timer."""
    room.set_timer(
        session=session,
        workshop_id=workshop_id,
        action=data.action,
        minutes=data.minutes,
        user=user,
    )
    t = service.get_workshop(session=session, workshop_id=workshop_id, user=user).timer
    return TimerRead(running=t.running, remaining_seconds=t.remaining)


@router.get("/{workshop_id}/board", responses=ERRORS)
def board(
    workshop_id: int, session: SessionDep, user: OptionalUser, item_id: int | None = None
) -> BoardRead:
    """The ideas, clusters and (once revealed) dot totals of the current item or ``item_id``."""
    return _board(session, user, workshop_id, item_id)


@router.post("/{workshop_id}/ideas", status_code=201, responses=ERRORS)
def add_idea(
    workshop_id: int, data: IdeaCreate, session: SessionDep, user: OptionalUser
) -> IdeaRead:
    """Add an idea to the current agenda item (``anonymous`` hides you from other participants)."""
    idea = room.add_idea(session=session, workshop_id=workshop_id, data=data, user=user)
    found = _board(session, user, workshop_id, idea.item_id).ideas
    return next(i for i in found if i.id == idea.id)


@router.delete("/{workshop_id}/ideas/{idea_id}", status_code=204, responses=ERRORS)
def delete_idea(
    workshop_id: int, idea_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    room.delete_idea(session=session, workshop_id=workshop_id, idea_id=idea_id, user=user)
    return Response(status_code=204)


@router.put("/{workshop_id}/ideas/{idea_id}/cluster", responses=ERRORS)
def move_idea(
    workshop_id: int, idea_id: int, data: IdeaMove, session: SessionDep, user: OptionalUser
) -> BoardRead:
    """Put an idea into a cluster (``cluster_id: null`` takes it out)."""
    idea = room.move_idea(
        session=session,
        workshop_id=workshop_id,
        idea_id=idea_id,
        cluster_id=data.cluster_id,
        user=user,
    )
    return _board(session, user, workshop_id, idea.item_id)


@router.post("/{workshop_id}/ideas/{idea_id}/merge", responses=ERRORS)
def merge_idea(
    workshop_id: int, idea_id: int, data: IdeaMerge, session: SessionDep, user: OptionalUser
) -> BoardRead:
    """Merge a duplicate into ``into_id``: it is shown under it and its dots move there."""
    kept = room.merge_ideas(
        session=session, workshop_id=workshop_id, idea_id=idea_id, into_id=data.into_id, user=user
    )
    return _board(session, user, workshop_id, kept.item_id)


@router.post("/{workshop_id}/clusters", status_code=201, responses=ERRORS)
def add_cluster(
    workshop_id: int, data: ClusterCreate, session: SessionDep, user: OptionalUser
) -> ClusterRead:
    cluster = room.create_cluster(session=session, workshop_id=workshop_id, data=data, user=user)
    return _cluster(cluster)


@router.delete("/{workshop_id}/clusters/{cluster_id}", status_code=204, responses=ERRORS)
def delete_cluster(
    workshop_id: int, cluster_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    """Dissolve a cluster; its ideas stay."""
    room.delete_cluster(session=session, workshop_id=workshop_id, cluster_id=cluster_id, user=user)
    return Response(status_code=204)


@router.post("/{workshop_id}/dots", status_code=201, responses=ERRORS)
def place_dot(
    workshop_id: int, data: DotCreate, session: SessionDep, user: OptionalUser
) -> BoardRead:
    """Put one of your dots on an idea (``slot``: which of your dots; default the next free)."""
    room.place_dot(
        session=session, workshop_id=workshop_id, idea_id=data.idea_id, slot=data.slot, user=user
    )
    return _board(session, user, workshop_id)


@router.delete("/{workshop_id}/ideas/{idea_id}/dots", responses=ERRORS)
def take_dot(workshop_id: int, idea_id: int, session: SessionDep, user: OptionalUser) -> BoardRead:
    """Take one of your dots back from an idea."""
    room.take_dot(session=session, workshop_id=workshop_id, idea_id=idea_id, user=user)
    return _board(session, user, workshop_id)


@router.post("/{workshop_id}/reveal", responses=ERRORS)
def reveal(workshop_id: int, session: SessionDep, user: OptionalUser) -> BoardRead:
    """Reveal the dot totals of the current item (its voting ends)."""
    item = room.reveal_votes(session=session, workshop_id=workshop_id, user=user)
    return _board(session, user, workshop_id, item.id)


@router.post("/{workshop_id}/next", responses=ERRORS)
def next_item(
    workshop_id: int, session: SessionDep, user: OptionalUser, data: NextItem | None = None
) -> WorkshopRead:
    """Finish the current item and move to the next one (or to ``item_id``)."""
    room.go_to_item(
        session=session,
        workshop_id=workshop_id,
        item_id=data.item_id if data is not None else None,
        user=user,
    )
    return _workshop(session, user, workshop_id)
