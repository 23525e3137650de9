"""What the workshop room shows: the current item (or, once closed, any item), its page or
page section, and its board of ideas, clusters and dots as one person may see it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.errors import NotFound
from app.pages import service as pages
from app.workshops import service
from app.workshops.models import AgendaItem, DotVote, Idea, IdeaCluster, Workshop, WorkshopState
from app.workshops.service import WorkshopView


@dataclass
class IdeaView:
    idea: Idea
    author: User | None  # None when the author is hidden from the viewer (or gone)
    author_hidden: bool  # anonymous to the viewer
    mine: bool
    my_dots: int
    dots: int | None  # every dot on it; None until the facilitator reveals the votes
    merged: list[IdeaView] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.idea.id or 0


@dataclass
class ClusterView:
    cluster: IdeaCluster
    ideas: list[IdeaView]

    @property
    def dots(self) -> int | None:
        counts = [v.dots for v in self.ideas]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)


@dataclass
class Board:
    item: AgendaItem
    clusters: list[ClusterView]
    loose: list[IdeaView]  # ideas in no cluster
    dots_left: int
    dots_placed: int
    my_dots: int

    @property
    def revealed(self) -> bool:
        return self.item.votes_revealed

    @property
    def ideas(self) -> list[IdeaView]:
        return [v for c in self.clusters for v in c.ideas] + self.loose

    @property
    def count(self) -> int:
        return len(self.ideas)


@dataclass
class RoomView:
    view: WorkshopView
    item: AgendaItem | None  # the item shown: the current one while live
    board: Board | None
    page_html: Markup
    section_missing: bool = False

    @property
    def workshop(self) -> Workshop:
        return self.view.workshop


def _board(session: Session, view: WorkshopView, item: AgendaItem, user: User | None) -> Board:
    ideas = list(
        session.exec(
            select(Idea)
            .where(Idea.item_id == item.id, col(Idea.deleted_at).is_(None))
            .order_by(col(Idea.created_at), col(Idea.id))
        )
    )
    clusters = list(
        session.exec(
            select(IdeaCluster)
            .where(IdeaCluster.item_id == item.id)
            .order_by(col(IdeaCluster.position), col(IdeaCluster.id))
        )
    )
    totals: dict[int, int] = dict(
        session.exec(
            select(DotVote.idea_id, func.count())
            .where(DotVote.item_id == item.id)
            .group_by(col(DotVote.idea_id))
        ).all()
    )
    me = user.id if user is not None else None
    mine: dict[int, int] = {}
    if me is not None:
        mine = dict(
            session.exec(
                select(DotVote.idea_id, func.count())
                .where(DotVote.item_id == item.id, DotVote.user_id == me)
                .group_by(col(DotVote.idea_id))
            ).all()
        )
    authors = accounts.users_by_id(session=session, ids={i.author_id for i in ideas})
    sees_all = view.can_run
    revealed = item.votes_revealed

    def idea_view(idea: Idea) -> IdeaView:
        own = me is not None and idea.author_id == me
        hidden = idea.anonymous and not sees_all and not own
        return IdeaView(
            idea=idea,
            author=None if hidden else authors.get(idea.author_id or 0),
            author_hidden=hidden,
            mine=own,
            my_dots=mine.get(idea.id or 0, 0),
            dots=totals.get(idea.id or 0, 0) if revealed else None,
        )

    by_id = {i.id: idea_view(i) for i in ideas}
    top: list[IdeaView] = []
    for idea in ideas:
        v = by_id[idea.id]
        parent = by_id.get(idea.merged_into_id) if idea.merged_into_id else None
        if parent is not None:
            parent.merged.append(v)
        else:
            top.append(v)
    if revealed:
        top.sort(key=lambda v: -(v.dots or 0))
    cluster_views = [
        ClusterView(cluster=c, ideas=[v for v in top if v.idea.cluster_id == c.id])
        for c in clusters
    ]
    known = {c.id for c in clusters}
    used = sum(mine.values())
    return Board(
        item=item,
        clusters=cluster_views,
        loose=[v for v in top if v.idea.cluster_id not in known],
        dots_left=max(0, item.dots_per_participant - used) if view.can_take_part else 0,
        dots_placed=sum(totals.values()),
        my_dots=used,
    )


_HEADING = re.compile(r"<h([1-6])\b[^>]*\bid=\"([^\"]+)\"", re.I)


def section_html(html: str, section: str) -> str | None:
    """The part of rendered page HTML from the heading ``section`` to the next heading of the
    same or a higher level (None when the heading is gone)."""
    start = level = None
    for match in _HEADING.finditer(html):
        if start is None:
            if match.group(2) == section:
                start, level = match.start(), int(match.group(1))
        elif level is not None and int(match.group(1)) <= level:
            return html[start : match.start()]
    return html[start:] if start is not None else None


def _page_html(session: Session, view: WorkshopView, item: AgendaItem) -> tuple[Markup, bool]:
    page = view.page_of(item)
    if page is None or page.is_deleted:
        return Markup(""), False
    revision = pages.current_revision(session=session, page=page)
    html = pages.render_revision(session=session, revision=revision).html
    if item.section:
        part = section_html(html, item.section)
        if part is None:
            return Markup(html), True  # the section was renamed: show the whole page
        html = part
    return Markup(html), False


def get_room(
    *, session: Session, workshop_id: int, user: User | None, item_id: int | None = None
) -> RoomView:
    """What the room shows: the current item (or, once closed, any item), its page and board."""
    view = service.get_workshop(session=session, workshop_id=workshop_id, user=user)
    item = view.current_item
    if item_id is not None:
        item = next((i for i in view.items if i.id == item_id), None)
        if item is None:
            raise NotFound(f"This workshop has no agenda item #{item_id}.")
    elif item is None and view.workshop.state == WorkshopState.closed and view.items:
        item = view.items[0]
    if item is None:
        return RoomView(view=view, item=None, board=None, page_html=Markup(""))
    html, missing = _page_html(session, view, item)
    return RoomView(
        view=view,
        item=item,
        board=_board(session, view, item, user),
        page_html=html,
        section_missing=missing,
    )


def board_of(*, session: Session, view: WorkshopView, item: AgendaItem, user: User | None) -> Board:
    """An item's board as ``user`` sees it (for the summary and the API)."""
    return _board(session, view, item, user)
