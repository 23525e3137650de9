"""The live workshop room: timer, ideas, clusters, merges, dot votes, reveal, next item.

Every write locks the workshop row, checks the workshop is live and the person's part in it,
changes what it must, bumps ``Workshop.revision`` (open rooms poll it) and commits once.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.db import begin_write
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.core.time import utcnow
from app.pages import service as pages
from app.workshops import service
from app.workshops.board import (
    Board,
    ClusterView,
    IdeaView,
    RoomView,
    board_of,
    get_room,
    section_html,
)
from app.workshops.models import (
    AgendaItem,
    DotVote,
    Idea,
    IdeaCluster,
    ItemStatus,
    Workshop,
    WorkshopState,
)
from app.workshops.schemas import MAX_IDEA_CHARS, ClusterCreate, IdeaCreate

MAX_CLUSTERS = 40

__all__ = [
    "Board",
    "ClusterView",
    "IdeaView",
    "RoomView",
    "add_idea",
    "board_of",
    "create_cluster",
    "delete_cluster",
    "delete_idea",
    "get_room",
    "go_to_item",
    "merge_ideas",
    "move_idea",
    "place_dot",
    "reveal_votes",
    "section_html",
    "set_timer",
    "take_dot",
]


# --- views ----------------------------------------------------------------------------------------


# --- checks ---------------------------------------------------------------------------------------


def _live(session: Session, workshop_id: int) -> Workshop:
    begin_write(session)
    workshop = service.lock(session, workshop_id)
    if workshop.state == WorkshopState.closed:
        raise Conflict("This workshop is closed; its ideas and votes can no longer change.")
    if workshop.state != WorkshopState.live:
        raise Conflict(
            "This workshop has not started yet; ideas and votes open when a facilitator starts it."
        )
    return workshop


def _member(session: Session, workshop_id: int, user: User | None) -> tuple[User, Workshop]:
    me = service.require_member(session=session, workshop_id=workshop_id, user=user)
    return me, _live(session, workshop_id)


def _facilitator(session: Session, workshop_id: int, user: User | None) -> tuple[User, Workshop]:
    me = service.require_facilitator(session=session, workshop_id=workshop_id, user=user)
    return me, _live(session, workshop_id)


def _current(session: Session, workshop: Workshop, item_id: int | None, doing: str) -> AgendaItem:
    if item_id is not None:
        item = service.item_of(session, workshop.id or 0, item_id)
        if item.id != workshop.current_item_id:
            raise Conflict(
                f"{doing} only on the current agenda item; the facilitator has moved on from "
                f"“{item.title}”. Your text is still in the box."
            )
        return item
    if workshop.current_item_id is None:
        raise Conflict("No agenda item is being worked on right now.")
    return service.item_of(session, workshop.id or 0, workshop.current_item_id)


def _idea(session: Session, workshop_id: int, idea_id: int) -> Idea:
    idea = session.get(Idea, idea_id)
    if idea is None or idea.workshop_id != workshop_id or idea.deleted_at is not None:
        raise NotFound(f"This workshop has no idea #{idea_id}.")
    return idea


def _done(session: Session, workshop: Workshop) -> None:
    service.bump(workshop)
    session.add(workshop)
    session.commit()


# --- the timer ------------------------------------------------------------------------------------


def set_timer(
    *, session: Session, workshop_id: int, action: str, minutes: int = 5, user: User | None
) -> Workshop:
    """Start (or resume), pause, extend by ``minutes`` or reset the shared timer."""
    _, workshop = _facilitator(session, workshop_id, user)
    now = utcnow()
    timer = service.timer_of(workshop, now)
    if action == "start":
        if not timer.running:
            seconds = timer.remaining if timer.remaining else minutes * 60
            workshop.timer_seconds = seconds
            workshop.timer_started_at = now
            workshop.timer_remaining = None
    elif action == "pause":
        if timer.running:
            workshop.timer_remaining = timer.remaining
            workshop.timer_started_at = None
            workshop.timer_seconds = 0
    elif action == "extend":
        if timer.running:
            workshop.timer_seconds += minutes * 60
            if timer.remaining == 0:  # ran out: count from now
                workshop.timer_seconds = minutes * 60
                workshop.timer_started_at = now
        else:
            workshop.timer_remaining = (timer.remaining or 0) + minutes * 60
    elif action == "reset":
        item = (
            service.item_of(session, workshop_id, workshop.current_item_id)
            if workshop.current_item_id
            else None
        )
        workshop.timer_started_at = None
        workshop.timer_seconds = 0
        workshop.timer_remaining = item.timebox_minutes * 60 if item is not None else None
    else:
        raise Invalid(f"Unknown timer action {action!r}: start, pause, extend or reset.")
    _done(session, workshop)
    return workshop


# --- ideas ----------------------------------------------------------------------------------------


def add_idea(*, session: Session, workshop_id: int, data: IdeaCreate, user: User | None) -> Idea:
    """Add an idea (markdown) to the current agenda item, optionally anonymous to others."""
    me = service.require_member(session=session, workshop_id=workshop_id, user=user)
    body = data.body.strip()
    if not body:
        raise Invalid("An idea cannot be empty.", field="body")
    if len(body) > MAX_IDEA_CHARS:
        raise Invalid(
            f"An idea is a short note: at most {MAX_IDEA_CHARS:,} characters "
            f"(this one has {len(body):,}). Put longer text on a page and link to it.",
            field="body",
        )
    workshop = _live(session, workshop_id)
    item = _current(session, workshop, data.item_id, "Ideas can be added")
    html = pages.render_preview(session=session, body=body, user=me).html
    idea = Idea(
        workshop_id=workshop_id,
        item_id=item.id or 0,
        author_id=me.id,
        anonymous=data.anonymous,
        body=body,
        html=html,
        created_at=utcnow(),
    )
    session.add(idea)
    _done(session, workshop)
    return idea


def delete_idea(*, session: Session, workshop_id: int, idea_id: int, user: User | None) -> Idea:
    """Remove an idea: its author or a facilitator (its dots go back to their owners)."""
    me, workshop = _member(session, workshop_id, user)
    idea = _idea(session, workshop_id, idea_id)
    if idea.author_id != me.id and not service.is_facilitator(
        session=session, workshop_id=workshop_id, user=me
    ):
        raise Forbidden("Only its author or a facilitator can remove an idea.")
    idea.deleted_at = utcnow()
    session.add(idea)
    session.execute(delete(DotVote).where(col(DotVote.idea_id) == idea_id))
    session.execute(
        update(Idea).where(col(Idea.merged_into_id) == idea_id).values(merged_into_id=None)
    )
    _done(session, workshop)
    return idea


# --- clusters and merges (facilitators) -----------------------------------------------------------


def create_cluster(
    *, session: Session, workshop_id: int, data: ClusterCreate, user: User | None
) -> IdeaCluster:
    """Start a named group of ideas on the current item."""
    if not data.title:
        raise Invalid("Give the cluster a name.", field="title")
    _, workshop = _facilitator(session, workshop_id, user)
    item = _current(session, workshop, data.item_id, "Clusters can be made")
    existing = list(
        session.exec(select(IdeaCluster.position).where(IdeaCluster.item_id == item.id))
    )
    if len(existing) >= MAX_CLUSTERS:
        raise Invalid(f"An agenda item has at most {MAX_CLUSTERS} clusters.")
    cluster = IdeaCluster(
        item_id=item.id or 0, title=data.title, position=max(existing, default=-1) + 1
    )
    session.add(cluster)
    _done(session, workshop)
    return cluster


def _cluster(session: Session, workshop_id: int, cluster_id: int) -> IdeaCluster:
    cluster = session.get(IdeaCluster, cluster_id)
    item = session.get(AgendaItem, cluster.item_id) if cluster is not None else None
    if cluster is None or item is None or item.workshop_id != workshop_id:
        raise NotFound(f"This workshop has no cluster #{cluster_id}.")
    return cluster


def delete_cluster(
    *, session: Session, workshop_id: int, cluster_id: int, user: User | None
) -> None:
    """Dissolve a cluster; its ideas stay, outside any cluster."""
    _, workshop = _facilitator(session, workshop_id, user)
    cluster = _cluster(session, workshop_id, cluster_id)
    session.execute(update(Idea).where(col(Idea.cluster_id) == cluster_id).values(cluster_id=None))
    session.delete(cluster)
    _done(session, workshop)


def move_idea(
    *, session: Session, workshop_id: int, idea_id: int, cluster_id: int | None, user: User | None
) -> Idea:
    """Put an idea into a cluster of its item (or take it out of any cluster)."""
    _, workshop = _facilitator(session, workshop_id, user)
    idea = _idea(session, workshop_id, idea_id)
    if cluster_id is not None:
        cluster = _cluster(session, workshop_id, cluster_id)
        if cluster.item_id != idea.item_id:
            raise Invalid("That cluster belongs to another agenda item.", field="cluster_id")
    idea.cluster_id = cluster_id
    session.add(idea)
    _done(session, workshop)
    return idea


def merge_ideas(
    *, session: Session, workshop_id: int, idea_id: int, into_id: int, user: User | None
) -> Idea:
    """Merge a duplicate into the idea that is kept: it is shown under it, its dots move."""
    _, workshop = _facilitator(session, workshop_id, user)
    dup = _idea(session, workshop_id, idea_id)
    keep = _idea(session, workshop_id, into_id)
    if dup.id == keep.id:
        raise Invalid("An idea cannot be merged into itself.", field="into_id")
    if dup.item_id != keep.item_id:
        raise Invalid("Only ideas of the same agenda item can be merged.", field="into_id")
    if keep.merged_into_id is not None:
        raise Invalid(
            "That idea was itself merged into another; merge into the one that was kept.",
            field="into_id",
        )
    if dup.merged_into_id is not None:
        raise Conflict("This idea was already merged into another one.")
    dup.merged_into_id = keep.id
    session.add(dup)
    session.execute(
        update(Idea).where(col(Idea.merged_into_id) == dup.id).values(merged_into_id=keep.id)
    )
    session.execute(update(DotVote).where(col(DotVote.idea_id) == dup.id).values(idea_id=keep.id))
    _done(session, workshop)
    return keep


# --- dot voting -----------------------------------------------------------------------------------


def _voting_item(session: Session, workshop: Workshop, idea: Idea) -> AgendaItem:
    item = service.item_of(session, workshop.id or 0, idea.item_id)
    if item.id != workshop.current_item_id:
        raise Conflict(f"Voting on “{item.title}” is over: the workshop has moved on.")
    if item.votes_revealed:
        raise Conflict("The votes on this item are revealed; dots can no longer change.")
    if item.dots_per_participant == 0:
        raise Conflict("There is no dot voting on this agenda item.")
    return item


def place_dot(
    *, session: Session, workshop_id: int, idea_id: int, user: User | None, slot: int | None = None
) -> DotVote:
    """Put one of your dots on an idea (several may go on the same idea)."""
    me, workshop = _member(session, workshop_id, user)
    idea = _idea(session, workshop_id, idea_id)
    if idea.merged_into_id is not None:
        raise Conflict("This idea was merged into another; vote on the one that was kept.")
    item = _voting_item(session, workshop, idea)
    allowed = item.dots_per_participant
    used = set(
        session.exec(
            select(DotVote.slot).where(DotVote.item_id == item.id, DotVote.user_id == me.id)
        )
    )
    if slot is None:
        free = [s for s in range(1, allowed + 1) if s not in used]
        if not free:
            raise Conflict(
                f"You have used all your {allowed} dots on this item; "
                "take one back to put it elsewhere."
            )
        slot = free[0]
    elif slot > allowed:
        raise Invalid(f"You have {allowed} dots on this item (1 to {allowed}).", field="slot")
    elif slot in used:
        raise Conflict(f"You already placed dot {slot}; take it back first to move it.")
    dot = DotVote(item_id=item.id or 0, idea_id=idea_id, user_id=me.id or 0, slot=slot)
    session.add(dot)
    try:
        session.flush()
    except IntegrityError:
        # another request placed the same dot first: the unique slot refuses a second one
        session.rollback()
        raise Conflict(
            "That dot was just placed from another window; reload to see your dots."
        ) from None
    _done(session, workshop)
    return dot


def take_dot(*, session: Session, workshop_id: int, idea_id: int, user: User | None) -> None:
    """Take one of your dots back from an idea."""
    me, workshop = _member(session, workshop_id, user)
    idea = _idea(session, workshop_id, idea_id)
    _voting_item(session, workshop, idea)
    dot = session.exec(
        select(DotVote)
        .where(DotVote.idea_id == idea_id, DotVote.user_id == me.id)
        .order_by(col(DotVote.slot).desc())
    ).first()
    if dot is None:
        raise Invalid("You have no dot on this idea.")
    session.delete(dot)
    _done(session, workshop)


def reveal_votes(
    *, session: Session, workshop_id: int, user: User | None, item_id: int | None = None
) -> AgendaItem:
    """Show everyone the dot totals of the current item; its voting ends."""
    _, workshop = _facilitator(session, workshop_id, user)
    item = _current(session, workshop, item_id, "Votes can be revealed")
    item.votes_revealed = True
    session.add(item)
    _done(session, workshop)
    return item


# --- moving through the agenda --------------------------------------------------------------------


def go_to_item(
    *, session: Session, workshop_id: int, user: User | None, item_id: int | None = None
) -> Workshop:
    """Finish the current item and work on ``item_id`` (default: the next pending item)."""
    _, workshop = _facilitator(session, workshop_id, user)
    items = list(
        session.exec(
            select(AgendaItem)
            .where(AgendaItem.workshop_id == workshop_id)
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        )
    )
    if item_id is None:
        target = next((i for i in items if i.status == ItemStatus.pending), None)
        if target is None:
            raise Conflict("This was the last agenda item; close the workshop to finish.")
    else:
        target = service.item_of(session, workshop_id, item_id)
        if target.id == workshop.current_item_id:
            session.commit()
            return workshop
    for item in items:
        if item.id == workshop.current_item_id:
            item.status = ItemStatus.done
            session.add(item)
    target.status = ItemStatus.current
    session.add(target)
    workshop.current_item_id = target.id
    service.reset_timer(workshop, target)
    _done(session, workshop)
    return workshop
