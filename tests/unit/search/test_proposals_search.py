"""Proposals are found by search: title, description, options and status or outcome; those of a
workshop that is not closed yet only by admins (members find them in the room)."""

from __future__ import annotations

from sqlmodel import Session

from app.accounts.models import Role
from app.core.db import begin_write
from app.proposals import closing
from app.proposals import service as proposals
from app.proposals.models import Outcome, ProposalSource
from app.proposals.schemas import ProposalClose, ProposalCreate
from app.workshops import service as workshops
from app.workshops.models import Idea
from app.workshops.schemas import AgendaItemCreate, WorkshopCreate
from tests.factories import make_user
from tests.unit.search.conftest import Find


def test_proposals_are_searchable_with_kind_and_status(session: Session, find: Find) -> None:
    ed = make_user(session, username="ed", role=Role.editor)
    fran = make_user(session, username="fran", role=Role.facilitator)
    data = ProposalCreate(
        title="Chargeback pilot",
        description="Business units dispute IT costs.",
        options=["Showback", "Kubernetes metering"],
    )
    p = proposals.create_proposal(session=session, data=data, author=ed)
    hits = find("kubernetes metering").hits
    assert [(h.kind, h.url) for h in hits] == [("proposal", f"/proposals/{p.id}")]
    assert find("chargeback kind:proposal status:open").total == 1
    close = ProposalClose(outcome=Outcome.rejected, note="Metering is immature")
    closing.close_proposal(session=session, proposal_id=p.id or 0, data=close, user=fran)
    assert find("chargeback kind:proposal status:open").total == 0
    assert find("chargeback kind:proposal status:rejected").total == 1
    assert find("immature kind:proposal").total == 1


def test_open_workshop_proposals_are_found_by_admins_only(session: Session, find: Find) -> None:
    fran = make_user(session, username="fran", role=Role.facilitator)
    admin = make_user(session, username="root", role=Role.admin)
    reader = make_user(session, username="rita", role=Role.reader)
    w = workshops.create_workshop(
        session=session,
        data=WorkshopCreate(title="Costs", items=[AgendaItemCreate(title="Chargeback")]),
        user=fran,
    )
    view = workshops.get_workshop(session=session, workshop_id=w.id or 0, user=fran)
    begin_write(session)
    idea = Idea(workshop_id=w.id or 0, item_id=view.items[0].id or 0, body="Showback first")
    session.add(idea)
    session.commit()
    data = ProposalCreate(title="Showback first", source=ProposalSource.idea, source_id=idea.id)
    proposals.create_proposal(session=session, data=data, author=fran)
    assert find("showback kind:proposal", user=reader).total == 0
    assert find("showback kind:proposal", user=admin).total == 1
