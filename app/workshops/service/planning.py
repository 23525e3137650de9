"""Workshops planning: create a workshop, change its details, people and agenda while it is a
draft or scheduled (people until it closes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import begin_write
from app.core.errors import Conflict, Invalid, NotFound
from app.core.time import utcnow
from app.discussions import service as discussions
from app.notifications import service as notifications
from app.pages import service as pages
from app.pages.models import Page
from app.search import service as search
from app.workshops.models import (
    AgendaItem,
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
from app.workshops.service.core import (
    PLANNING,
    WorkshopView,
    _items,
    _view,
    bump,
    get_workshop,
    item_of,
    lock,
    require_facilitator,
)

MAX_ITEMS = 50


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
    # a page the user may not read answers like a missing one (same error, same status)
    page = pages.find_readable_page(session=session, slug=slug, user=user)
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
    kept = pages.find_page(session=session, slug=slug) if data.page is None and slug else None
    page: Page | None = kept
    if kept is not None and pages.find_readable_page(session=session, slug=slug, user=me) is None:
        section = item.section  # a page this facilitator may not read stays as it is
    else:
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
