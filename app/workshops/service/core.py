"""Workshops: the views, lookups and checks every use case (and other domains) build on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core.errors import Forbidden, NotFound, Unauthorized
from app.core.time import as_utc, utcnow
from app.pages import service as pages
from app.pages.models import Page
from app.workshops.models import (
    AgendaItem,
    Idea,
    ItemStatus,
    MemberRole,
    Workshop,
    WorkshopMember,
    WorkshopState,
)

STATE_ORDER = (
    WorkshopState.draft,
    WorkshopState.scheduled,
    WorkshopState.live,
    WorkshopState.closed,
)


PLANNING = frozenset({WorkshopState.draft, WorkshopState.scheduled})


# --- views handed to templates and the API -------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    user: User
    role: MemberRole


@dataclass(frozen=True)
class Timer:
    """The shared timer as everyone sees it: running or paused, seconds left (None: not set)."""

    running: bool
    remaining: int | None


@dataclass
class WorkshopView:
    workshop: Workshop
    members: list[MemberView]
    items: list[AgendaItem]
    pages: dict[int, Page] = field(default_factory=dict)
    my_role: MemberRole | None = None
    can_run: bool = False  # a facilitator of this workshop, or an admin
    summary_slug: str | None = None

    @property
    def id(self) -> int:
        return self.workshop.id or 0

    @property
    def facilitators(self) -> list[User]:
        return [m.user for m in self.members if m.role == MemberRole.facilitator]

    @property
    def participants(self) -> list[User]:
        return [m.user for m in self.members if m.role == MemberRole.participant]

    @property
    def is_member(self) -> bool:
        return self.my_role is not None

    @property
    def can_take_part(self) -> bool:
        return self.my_role is not None or self.can_run

    @property
    def current_item(self) -> AgendaItem | None:
        wanted = self.workshop.current_item_id
        return next((i for i in self.items if i.id == wanted), None)

    @property
    def next_item(self) -> AgendaItem | None:
        return next((i for i in self.items if i.status == ItemStatus.pending), None)

    @property
    def timer(self) -> Timer:
        return timer_of(self.workshop)

    def page_of(self, item: AgendaItem) -> Page | None:
        return self.pages.get(item.page_id) if item.page_id else None


def timer_of(workshop: Workshop, now: datetime | None = None) -> Timer:
    """The timer's state computed from what is stored (nothing ticks in the database)."""
    if workshop.timer_started_at is not None:
        elapsed = ((now or utcnow()) - as_utc(workshop.timer_started_at)).total_seconds()
        return Timer(running=True, remaining=max(0, int(workshop.timer_seconds - elapsed)))
    return Timer(running=False, remaining=workshop.timer_remaining)


# --- lookups and checks (also used by proposals and decisions) -----------------------------------


def _find(session: Session, workshop_id: int) -> Workshop:
    workshop = session.get(Workshop, workshop_id)
    if workshop is None:
        raise NotFound(f"There is no workshop #{workshop_id}.")
    return workshop


def lock(session: Session, workshop_id: int) -> Workshop:
    """The workshop, locked for this write transaction (FOR UPDATE on PostgreSQL; SQLite's
    write lock is taken by ``begin_write``), so concurrent changes to one workshop queue."""
    workshop = session.exec(
        select(Workshop).where(Workshop.id == workshop_id).with_for_update()
    ).first()
    if workshop is None:
        raise NotFound(f"There is no workshop #{workshop_id}.")
    session.refresh(workshop)
    return workshop


def _role(session: Session, workshop_id: int, user: User | None) -> MemberRole | None:
    if user is None or user.id is None:
        return None
    row = session.get(WorkshopMember, (workshop_id, user.id))
    return row.role if row is not None else None


def _runs(user: User | None, role: MemberRole | None) -> bool:
    if user is None or not accounts.can(user, "workshop.run"):
        return False
    return user.role == Role.admin or role == MemberRole.facilitator


def is_member(*, session: Session, workshop_id: int, user: User | None) -> bool:
    """Whether the user facilitates or takes part in the workshop (admins count as members)."""
    if user is None or not user.is_active:
        return False
    return user.role == Role.admin or _role(session, workshop_id, user) is not None


def is_facilitator(*, session: Session, workshop_id: int, user: User | None) -> bool:
    """Whether the user runs this workshop (admins run every workshop)."""
    return _runs(user, _role(session, workshop_id, user))


def require_member(*, session: Session, workshop_id: int, user: User | None) -> User:
    """The user, if they take part in the workshop (raises Forbidden otherwise)."""
    me = accounts.require_user(user, "workshop.take_part")
    _find(session, workshop_id)
    if not is_member(session=session, workshop_id=workshop_id, user=me):
        raise Forbidden(
            "You are not part of this workshop. Ask one of its facilitators to add you."
        )
    return me


def require_facilitator(*, session: Session, workshop_id: int, user: User | None) -> User:
    """The user, if they run the workshop (raises Forbidden otherwise)."""
    me = accounts.require_user(user, "workshop.take_part")
    if not is_facilitator(session=session, workshop_id=workshop_id, user=me):
        if not is_member(session=session, workshop_id=workshop_id, user=me):
            raise Forbidden(
                "You are not part of this workshop. Ask one of its facilitators to add you."
            )
        raise Forbidden("Only the workshop's facilitators can do this.")
    return me


def touch(*, session: Session, workshop_id: int) -> None:
    """Bump the workshop's revision (no commit) so every open room refreshes."""
    session.execute(
        update(Workshop)
        .where(col(Workshop.id) == workshop_id)
        .values(revision=Workshop.revision + 1, updated_at=utcnow())
    )


def bump(workshop: Workshop) -> None:
    """Bump a workshop already loaded (and locked) in this transaction."""
    workshop.revision += 1
    workshop.updated_at = utcnow()


def get_idea(*, session: Session, idea_id: int, user: User | None) -> Idea:
    """An idea of a workshop the user may see (raises NotFound / Forbidden)."""
    idea = session.get(Idea, idea_id)
    if idea is None or idea.deleted_at is not None:
        raise NotFound(f"There is no idea #{idea_id}.")
    _check_can_see(session, _find(session, idea.workshop_id), user)
    return idea


def _check_can_see(session: Session, workshop: Workshop, user: User | None) -> MemberRole | None:
    accounts.require(user, "page.read")
    role = _role(session, workshop.id or 0, user)
    if workshop.state == WorkshopState.closed or role is not None:
        return role
    if user is None:
        raise Unauthorized("Please sign in to see this workshop.")
    if user.role != Role.admin:
        raise Forbidden(
            "This workshop is not closed yet: only its facilitators and participants can see it."
        )
    return role


def revision_of(*, session: Session, workshop_id: int, user: User | None) -> int:
    """The workshop's revision (grows with every change to it, proposals' included)."""
    return live_stamp(session=session, workshop_id=workshop_id, user=user)[0]


def live_stamp(
    *, session: Session, workshop_id: int, user: User | None
) -> tuple[int, WorkshopState]:
    """The workshop's revision and state, for live views to tell whether anything changed."""
    workshop = _find(session, workshop_id)
    _check_can_see(session, workshop, user)
    return workshop.revision, workshop.state


RESTRICTED_ITEM = "An agenda item on a restricted page"


def _masked(
    session: Session, items: list[AgendaItem], page_map: dict[int, Page], user: User | None
) -> tuple[list[AgendaItem], dict[int, Page]]:
    """The agenda as ``user`` may see it: an item about a page they may not read keeps its own
    title (unless it is the page's) but loses the page (a detached copy, never written)."""
    view = access.access_for(session=session, user=user)
    hidden = {pid for pid, p in page_map.items() if not view.can_read(p.slug)}
    if not hidden:
        return items, page_map
    out = []
    for item in items:
        if item.page_id in hidden:
            title = RESTRICTED_ITEM if item.title == page_map[item.page_id].title else item.title
            fields = {**item.model_dump(), "title": title, "page_id": None, "section": ""}
            item = AgendaItem(**fields)
        out.append(item)
    return out, {pid: p for pid, p in page_map.items() if pid not in hidden}


def for_everyone(*, session: Session, view: WorkshopView) -> WorkshopView:
    """The workshop as anyone may see it: what goes on its public summary page names no page in
    a restricted subtree."""
    items, page_map = _masked(session, view.items, view.pages, None)
    return replace(view, items=items, pages=page_map)


def _view(session: Session, workshop: Workshop, user: User | None) -> WorkshopView:
    members = list(
        session.exec(select(WorkshopMember).where(WorkshopMember.workshop_id == workshop.id))
    )
    users = accounts.users_by_id(session=session, ids={m.user_id for m in members})
    items = list(
        session.exec(
            select(AgendaItem)
            .where(AgendaItem.workshop_id == workshop.id)
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        )
    )
    page_map = pages.pages_by_id(session=session, ids={i.page_id for i in items if i.page_id})
    items, page_map = _masked(session, items, page_map, user)
    summary = None
    if workshop.summary_page_id:
        found = pages.pages_by_id(session=session, ids=[workshop.summary_page_id])
        page = found.get(workshop.summary_page_id)
        if page is not None and not page.is_deleted:
            readable = access.access_for(session=session, user=user).can_read(page.slug)
            summary = page.slug if readable else None
    role = _role(session, workshop.id or 0, user)
    views = [MemberView(user=users[m.user_id], role=m.role) for m in members if m.user_id in users]
    views.sort(key=lambda m: (m.role != MemberRole.facilitator, m.user.label.lower()))
    return WorkshopView(
        workshop=workshop,
        members=views,
        items=items,
        pages=page_map,
        my_role=role,
        can_run=_runs(user, role),
        summary_slug=summary,
    )


def get_workshop(*, session: Session, workshop_id: int, user: User | None) -> WorkshopView:
    """A workshop with its people and agenda (raises NotFound, or Forbidden for a non-member
    while it is not closed)."""
    workshop = _find(session, workshop_id)
    _check_can_see(session, workshop, user)
    return _view(session, workshop, user)


@dataclass
class WorkshopLists:
    upcoming: list[Workshop]
    live: list[Workshop]
    closed: list[Workshop]


def list_workshops(*, session: Session, user: User | None, closed_limit: int = 50) -> WorkshopLists:
    """My upcoming and live workshops (every one for an admin), and the closed ones."""
    accounts.require(user, "page.read")
    open_rows: list[Workshop] = []
    if user is not None and user.id is not None:
        stmt = select(Workshop).where(col(Workshop.state) != WorkshopState.closed)
        if user.role != Role.admin:
            mine = select(WorkshopMember.workshop_id).where(WorkshopMember.user_id == user.id)
            stmt = stmt.where(col(Workshop.id).in_(mine))
        open_rows = list(session.exec(stmt))
    far = datetime.max.replace(tzinfo=UTC)

    def when(w: Workshop) -> datetime:
        return as_utc(w.starts_at) if w.starts_at else far

    closed = list(
        session.exec(
            select(Workshop)
            .where(Workshop.state == WorkshopState.closed)
            .order_by(col(Workshop.closed_at).desc(), col(Workshop.id).desc())
            .limit(closed_limit)
        )
    )
    return WorkshopLists(
        upcoming=sorted(
            (w for w in open_rows if w.state in PLANNING), key=lambda w: (when(w), w.id or 0)
        ),
        live=sorted((w for w in open_rows if w.state == WorkshopState.live), key=when),
        closed=closed,
    )


def check_can_create(*, user: User | None) -> User:
    """The user, if they may create workshops (for the "new workshop" form)."""
    return accounts.require_user(user, "workshop.create")


def _items(session: Session, workshop_id: int) -> list[AgendaItem]:
    return list(
        session.exec(
            select(AgendaItem)
            .where(AgendaItem.workshop_id == workshop_id)
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        )
    )


def item_of(session: Session, workshop_id: int, item_id: int) -> AgendaItem:
    """An agenda item of this workshop (raises NotFound)."""
    item = session.get(AgendaItem, item_id)
    if item is None or item.workshop_id != workshop_id:
        raise NotFound(f"This workshop has no agenda item #{item_id}.")
    return item


def reset_timer(workshop: Workshop, item: AgendaItem | None) -> None:
    """A new item starts with its time box on a paused timer; the facilitator starts it."""
    workshop.timer_started_at = None
    workshop.timer_seconds = 0
    workshop.timer_remaining = item.timebox_minutes * 60 if item is not None else None


# --- search source -------------------------------------------------------------------------------


def workshops_by_id(*, session: Session, ids: Iterable[int]) -> list[Workshop]:
    """Workshops by id, for the search indexer."""
    return list(session.exec(select(Workshop).where(col(Workshop.id).in_(set(ids)))))


def search_version(workshop: Workshop) -> str:
    """Changes whenever the workshop's searchable fields (title, goal, state, date) do."""
    when = as_utc(workshop.starts_at).isoformat() if workshop.starts_at else ""
    text = "\x1f".join((workshop.title, workshop.goal, str(workshop.state), when))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def workshop_versions(*, session: Session) -> dict[int, str]:
    """Workshop id -> search version of every workshop."""
    return {w.id or 0: search_version(w) for w in session.exec(select(Workshop))}
