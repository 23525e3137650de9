"""Workshops states: draft → scheduled → live → closed, never back; closing writes the summary."""

from __future__ import annotations

from sqlmodel import Session, select

from app.accounts.models import User
from app.core import events
from app.core.db import begin_write
from app.core.errors import Conflict, Invalid
from app.core.time import utcnow
from app.notifications import service as notifications
from app.search import service as search
from app.workshops.models import ItemStatus, Workshop, WorkshopMember, WorkshopState
from app.workshops.service.core import (
    PLANNING,
    STATE_ORDER,
    _items,
    bump,
    lock,
    require_facilitator,
    reset_timer,
)
from app.workshops.service.planning import _invite


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
        events.publish(
            session,
            events.Event(
                name="workshop.closed",
                actor_id=me.id,
                data={
                    "workshop_id": workshop_id,
                    "title": workshop.title,
                    "summary_page_id": page.id,
                    "summary_slug": page.slug,
                },
            ),
        )
    bump(workshop)
    session.add(workshop)
    search.enqueue(session=session, kind="workshop", ref_id=workshop_id)
    session.commit()
    return workshop
