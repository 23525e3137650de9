"""Workshops use cases: create and plan a workshop (people, agenda), move it through its states,
and the lookups other domains use (membership, ``touch`` for live views).

The live room (timer, ideas, clusters, dots, next item) is in ``app.workshops.room``; the summary
page written on close in ``app.workshops.summary``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core.db import begin_write
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.core.time import as_utc, utcnow
from app.discussions import service as discussions
from app.notifications import service as notifications
from app.pages import service as pages
from app.pages.models import Page
from app.search import service as search
from app.workshops.models import (
    AgendaItem,
    Idea,
    ItemStatus,
    MemberRole,
    Workshop,
    WorkshopMember,
    WorkshopState,
)
from app.workshops.schemas import (
    AgendaItemCreate,
    AgendaItemUpdate,
    MemberAdd,
    WorkshopCreate,
    WorkshopUpdate,
)

MAX_ITEMS = 50
STATE_ORDER = (
    WorkshopState.draft,
    WorkshopState.scheduled,
    WorkshopState.live,
    WorkshopState.closed,
)
PLANNING = frozenset({WorkshopState.draft, WorkshopState.scheduled})


# --- views handed to templates and the API --------------------------------------------------------


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


# --- lookups and checks (also used by proposals and decisions) ------------------------------------


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
    summary = None
    if workshop.summary_page_id:
        found = pages.pages_by_id(session=session, ids=[workshop.summary_page_id])
        page = found.get(workshop.summary_page_id)
        summary = page.slug if page is not None and not page.is_deleted else None
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


def get_plan(
    *, session: Session, workshop_id: int, user: User | None
) -> tuple[WorkshopView, dict[int, list[tuple[str, str]]]]:
    """A workshop for its facilitators' plan screen, with the sections of each item's page."""
    require_facilitator(session=session, workshop_id=workshop_id, user=user)
    view = get_workshop(session=session, workshop_id=workshop_id, user=user)
    sections = {
        item.id or 0: discussions.section_choices(session=session, page=page)
        for item in view.items
        if (page := view.page_of(item)) is not None and not page.is_deleted
    }
    return view, sections


# --- planning: create, edit, people, agenda -------------------------------------------------------


def _people(session: Session, names: Sequence[str]) -> list[User]:
    found = accounts.users_by_username(session=session, names=names)
    unknown = [n for n in names if n.lower() not in found]
    if unknown:
        listed = ", ".join(unknown)
        raise Invalid(f"There is no user {listed}. Check the spelling.", field="members")
    users = [found[n.lower()] for n in names]
    inactive = [u.username for u in users if not u.is_active]
    if inactive:
        raise Invalid(f"{', '.join(inactive)} can no longer sign in.", field="members")
    return users


def _check_facilitator_role(user: User) -> None:
    if not accounts.can(user, "workshop.run"):
        raise Invalid(
            f"{user.label} is a {user.role} and cannot facilitate a workshop; "
            "add them as a participant, or ask an admin to make them a facilitator.",
            field="facilitators",
        )


def _check_title(title: str) -> str:
    if not title:
        raise Invalid("Give the workshop a title.", field="title")
    return title


def _item_target(session: Session, user: User, slug: str, section: str) -> tuple[Page | None, str]:
    if not slug:
        if section:
            raise Invalid("Choose the page the section belongs to.", field="page")
        return None, ""
    page = pages.find_page(session=session, slug=slug)
    if page is None:
        raise Invalid(f"There is no page {slug!r}.", field="page")
    pages.get_page(session=session, slug=slug, user=user)
    if section:
        ids = {hid for hid, _ in discussions.section_choices(session=session, page=page)}
        if section not in ids:
            raise Invalid(
                f"The page {page.title!r} has no section {section!r} (it may have been renamed).",
                field="section",
            )
    return page, section


def _item_title(title: str, question: str, page: Page | None) -> str:
    if title:
        return title
    if question:
        first = " ".join(question.split())
        return first if len(first) <= 120 else first[:119] + "…"
    if page is not None:
        return page.title
    raise Invalid(
        "An agenda item needs a title, an open question or a page to work on.", field="title"
    )


def _new_item(
    session: Session, user: User, workshop_id: int, position: int, data: AgendaItemCreate
) -> AgendaItem:
    page, section = _item_target(session, user, data.page, data.section)
    return AgendaItem(
        workshop_id=workshop_id,
        position=position,
        title=_item_title(data.title, data.question, page)[:200],
        question=data.question,
        page_id=page.id if page is not None else None,
        section=section,
        timebox_minutes=data.timebox_minutes,
        dots_per_participant=data.dots_per_participant,
    )


def create_workshop(*, session: Session, data: WorkshopCreate, user: User | None) -> Workshop:
    """Create a draft workshop; its creator facilitates it."""
    me = accounts.require_user(user, "workshop.create")
    title = _check_title(data.title)
    begin_write(session)
    facilitators = _people(session, data.facilitators)
    for person in facilitators:
        _check_facilitator_role(person)
    participants = _people(session, data.participants)
    # every item is checked before anything is written
    items = [_new_item(session, me, 0, n, item) for n, item in enumerate(data.items)]
    now = utcnow()
    workshop = Workshop(
        title=title,
        goal=data.goal,
        starts_at=data.starts_at,
        duration_minutes=data.duration_minutes,
        created_by_id=me.id,
        created_at=now,
        updated_at=now,
    )
    session.add(workshop)
    session.flush()
    wid = workshop.id or 0
    roles: dict[int, MemberRole] = {me.id or 0: MemberRole.facilitator}
    for person in facilitators:
        roles[person.id or 0] = MemberRole.facilitator
    for person in participants:
        roles.setdefault(person.id or 0, MemberRole.participant)
    for uid, role in roles.items():
        session.add(WorkshopMember(workshop_id=wid, user_id=uid, role=role))
    for item in items:
        item.workshop_id = wid
        session.add(item)
    search.enqueue(session=session, kind="workshop", ref_id=wid)
    session.commit()
    return workshop


def _planning(session: Session, workshop_id: int, user: User | None) -> tuple[User, Workshop]:
    """Lock a workshop whose plan may still change, for its facilitator."""
    me = require_facilitator(session=session, workshop_id=workshop_id, user=user)
    begin_write(session)
    workshop = lock(session, workshop_id)
    if workshop.state not in PLANNING:
        raise Conflict(
            f"This workshop is {workshop.state}: its details and agenda can only change "
            "while it is a draft or scheduled."
        )
    return me, workshop


def update_workshop(
    *, session: Session, workshop_id: int, data: WorkshopUpdate, user: User | None
) -> Workshop:
    """Change a draft or scheduled workshop's title, goal, date or duration."""
    _, workshop = _planning(session, workshop_id, user)
    if data.title is not None:
        workshop.title = _check_title(data.title)
    if data.goal is not None:
        workshop.goal = data.goal
    if data.clear_start:
        workshop.starts_at = None
    elif data.starts_at is not None:
        workshop.starts_at = data.starts_at
    if data.duration_minutes is not None:
        workshop.duration_minutes = data.duration_minutes
    bump(workshop)
    session.add(workshop)
    search.enqueue(session=session, kind="workshop", ref_id=workshop_id)
    session.commit()
    return workshop


def _invite(session: Session, workshop: Workshop, user_ids: Iterable[int], actor: User) -> None:
    notifications.workshop_invited(
        session=session,
        workshop_id=workshop.id or 0,
        title=workshop.title,
        starts_at=workshop.starts_at,
        recipients=set(user_ids),
        actor=actor,
    )


def add_member(
    *, session: Session, workshop_id: int, data: MemberAdd, user: User | None
) -> WorkshopView:
    """Add a facilitator or participant (or change a member's role) until the workshop closes."""
    me = require_facilitator(session=session, workshop_id=workshop_id, user=user)
    begin_write(session)
    workshop = lock(session, workshop_id)
    if workshop.state == WorkshopState.closed:
        raise Conflict("This workshop is closed; its members can no longer change.")
    person = _people(session, [data.username])[0]
    if data.role == MemberRole.facilitator:
        _check_facilitator_role(person)
    row = session.get(WorkshopMember, (workshop_id, person.id))
    if row is None:
        session.add(WorkshopMember(workshop_id=workshop_id, user_id=person.id or 0, role=data.role))
        if workshop.state != WorkshopState.draft:
            _invite(session, workshop, [person.id or 0], me)
    else:
        if row.role == MemberRole.facilitator and data.role != MemberRole.facilitator:
            _keep_a_facilitator(session, workshop_id, person)
        row.role = data.role
        session.add(row)
    bump(workshop)
    session.add(workshop)
    session.commit()
    return _view(session, workshop, me)


def _keep_a_facilitator(session: Session, workshop_id: int, leaving: User) -> None:
    others = session.exec(
        select(WorkshopMember.user_id).where(
            WorkshopMember.workshop_id == workshop_id,
            WorkshopMember.role == MemberRole.facilitator,
            WorkshopMember.user_id != leaving.id,
        )
    ).first()
    if others is None:
        raise Conflict(
            f"{leaving.label} is the workshop's only facilitator; add another one first."
        )


def remove_member(
    *, session: Session, workshop_id: int, username: str, user: User | None
) -> WorkshopView:
    """Take someone off a workshop that is not closed (never its last facilitator)."""
    me = require_facilitator(session=session, workshop_id=workshop_id, user=user)
    begin_write(session)
    workshop = lock(session, workshop_id)
    if workshop.state == WorkshopState.closed:
        raise Conflict("This workshop is closed; its members can no longer change.")
    person = _people(session, [username])[0]
    row = session.get(WorkshopMember, (workshop_id, person.id))
    if row is None:
        raise NotFound(f"{person.label} is not part of this workshop.")
    if row.role == MemberRole.facilitator:
        _keep_a_facilitator(session, workshop_id, person)
    session.delete(row)
    bump(workshop)
    session.add(workshop)
    session.commit()
    return _view(session, workshop, me)


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


def add_item(
    *, session: Session, workshop_id: int, data: AgendaItemCreate, user: User | None
) -> AgendaItem:
    """Add an item at the end of a draft or scheduled workshop's agenda."""
    me, workshop = _planning(session, workshop_id, user)
    items = _items(session, workshop_id)
    if len(items) >= MAX_ITEMS:
        raise Invalid(f"An agenda has at most {MAX_ITEMS} items.")
    position = (items[-1].position + 1) if items else 0
    item = _new_item(session, me, workshop_id, position, data)
    session.add(item)
    bump(workshop)
    session.add(workshop)
    session.commit()
    return item


def update_item(
    *, session: Session, workshop_id: int, item_id: int, data: AgendaItemUpdate, user: User | None
) -> AgendaItem:
    """Change an agenda item of a draft or scheduled workshop."""
    me, workshop = _planning(session, workshop_id, user)
    item = item_of(session, workshop_id, item_id)
    slug = data.page if data.page is not None else _slug_of(session, item.page_id)
    section = data.section if data.section is not None else item.section
    if data.page is not None and data.section is None and slug != _slug_of(session, item.page_id):
        section = ""  # another page: the old section id means nothing there
    page, section = _item_target(session, me, slug, section)
    question = data.question if data.question is not None else item.question
    item.title = _item_title(data.title if data.title is not None else item.title, question, page)[
        :200
    ]
    item.question = question
    item.page_id = page.id if page is not None else None
    item.section = section
    if data.timebox_minutes is not None:
        item.timebox_minutes = data.timebox_minutes
    if data.dots_per_participant is not None:
        item.dots_per_participant = data.dots_per_participant
    session.add(item)
    bump(workshop)
    session.add(workshop)
    session.commit()
    return item


def _slug_of(session: Session, page_id: int | None) -> str:
    if not page_id:
        return ""
    page = pages.pages_by_id(session=session, ids=[page_id]).get(page_id)
    return page.slug if page is not None else ""


def remove_item(*, session: Session, workshop_id: int, item_id: int, user: User | None) -> None:
    """Take an item off a draft or scheduled workshop's agenda."""
    _, workshop = _planning(session, workshop_id, user)
    item = item_of(session, workshop_id, item_id)
    session.delete(item)
    bump(workshop)
    session.add(workshop)
    session.commit()


def reorder_items(
    *, session: Session, workshop_id: int, item_ids: Sequence[int], user: User | None
) -> list[AgendaItem]:
    """Put a draft or scheduled workshop's agenda in a new order (every item exactly once)."""
    _, workshop = _planning(session, workshop_id, user)
    items = {i.id or 0: i for i in _items(session, workshop_id)}
    if sorted(item_ids) != sorted(items):
        raise Invalid(
            "Give every agenda item of this workshop exactly once "
            f"(its items are {', '.join(str(i) for i in sorted(items))}).",
            field="item_ids",
        )
    for position, item_id in enumerate(item_ids):
        items[item_id].position = position
        session.add(items[item_id])
    bump(workshop)
    session.add(workshop)
    session.commit()
    return [items[i] for i in item_ids]


def move_item(
    *, session: Session, workshop_id: int, item_id: int, offset: int, user: User | None
) -> list[AgendaItem]:
    """Move an agenda item up (-1) or down (+1) one place."""
    ids = [i.id or 0 for i in _items(session, workshop_id)]
    if item_id not in ids:
        item_of(session, workshop_id, item_id)  # raises NotFound
    at = ids.index(item_id)
    to = max(0, min(len(ids) - 1, at + offset))
    ids.insert(to, ids.pop(at))
    return reorder_items(session=session, workshop_id=workshop_id, item_ids=ids, user=user)


# --- states ---------------------------------------------------------------------------------------


def set_state(
    *, session: Session, workshop_id: int, state: WorkshopState, user: User | None
) -> Workshop:
    """Move a workshop forward: draft → scheduled → live → closed (never back)."""
    me = require_facilitator(session=session, workshop_id=workshop_id, user=user)
    begin_write(session)
    workshop = lock(session, workshop_id)
    old = workshop.state
    if state == old:
        session.commit()
        return workshop
    if STATE_ORDER.index(state) < STATE_ORDER.index(old):
        if old == WorkshopState.closed:
            raise Conflict(
                f"This workshop is closed and cannot be moved back to {state}: a closed "
                "workshop stays closed, with its summary page as the record. "
                "Create a new workshop to continue the work."
            )
        raise Conflict(
            f"This workshop is already {old} and cannot go back to {state}; "
            "workshops only move forward (draft → scheduled → live → closed)."
        )
    items = _items(session, workshop_id)
    now = utcnow()
    members = set(
        session.exec(
            select(WorkshopMember.user_id).where(WorkshopMember.workshop_id == workshop_id)
        )
    )
    if state == WorkshopState.scheduled:
        _invite(session, workshop, members, me)
    if state in (WorkshopState.live, WorkshopState.closed) and old in PLANNING:
        if not items and state == WorkshopState.live:
            raise Invalid("Add at least one agenda item before starting the workshop.")
        workshop.started_at = now
    if state == WorkshopState.live:
        first = next((i for i in items if i.status == ItemStatus.pending), None)
        if first is not None and workshop.current_item_id is None:
            first.status = ItemStatus.current
            session.add(first)
            workshop.current_item_id = first.id
            reset_timer(workshop, first)
        notifications.workshop_started(
            session=session,
            workshop_id=workshop_id,
            title=workshop.title,
            recipients=members,
            actor=me,
        )
    workshop.state = state
    if state == WorkshopState.closed:
        for item in items:
            if item.status == ItemStatus.current:
                item.status = ItemStatus.done
                session.add(item)
        workshop.current_item_id = None
        workshop.timer_started_at = None
        workshop.timer_seconds = 0
        workshop.timer_remaining = None
        workshop.closed_at = now
        from app.workshops import summary

        session.flush()
        page = summary.write_summary_page(session=session, workshop=workshop, actor=me)
        workshop.summary_page_id = page.id
    bump(workshop)
    session.add(workshop)
    search.enqueue(session=session, kind="workshop", ref_id=workshop_id)
    session.commit()
    return workshop


def reset_timer(workshop: Workshop, item: AgendaItem | None) -> None:
    """A new item starts with its time box on a paused timer; the facilitator starts it."""
    workshop.timer_started_at = None
    workshop.timer_seconds = 0
    workshop.timer_remaining = item.timebox_minutes * 60 if item is not None else None


# --- search source --------------------------------------------------------------------------------


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
