"""Workshops are found by search (kind:workshop): title, goal, state; closed ones by everyone,
open ones only by admins (members find theirs on /workshops)."""

from __future__ import annotations

from sqlmodel import Session

from app.accounts.models import Role
from app.workshops import service as workshops
from app.workshops.models import WorkshopState
from app.workshops.schemas import WorkshopCreate, WorkshopUpdate
from tests.factories import make_user
from tests.unit.search.conftest import Find


def test_workshops_are_searchable_by_kind_and_state(session: Session, find: Find) -> None:
    fran = make_user(session, username="fran", role=Role.facilitator)
    ada = make_user(session, username="ada", role=Role.admin)
    w = workshops.create_workshop(
        session=session,
        data=WorkshopCreate(
            title="Service ownership model",
            goal="Agree who owns a service",
            items=[{"title": "Who owns?"}],
        ),
        user=fran,
    )
    wid = w.id or 0
    assert find("ownership kind:workshop").total == 0  # a draft is not for everyone
    assert find("ownership kind:workshop", user=fran).total == 0
    assert find("ownership kind:workshop", user=ada).total == 1

    workshops.update_workshop(
        session=session,
        workshop_id=wid,
        data=WorkshopUpdate(goal="Name accountable owners"),
        user=fran,
    )
    for state in (WorkshopState.live, WorkshopState.closed):
        workshops.set_state(session=session, workshop_id=wid, state=state, user=fran)
    hits = find("accountable kind:workshop").hits
    assert [(h.kind, h.url, h.status) for h in hits] == [
        ("workshop", f"/workshops/{wid}", "closed")
    ]
    assert find("ownership kind:workshop status:closed").total == 1
    assert find("ownership kind:workshop status:live").total == 0
