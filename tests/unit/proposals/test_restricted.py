"""A proposal to change a page in a restricted subtree exists only for those who may read the
page: "not found" for everyone else, and left out of every list."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core.errors import NotFound
from app.notifications import service as notifications
from app.notifications.models import Notification, NotificationKind
from app.proposals import service
from app.proposals.models import Proposal, ProposalSource, Stance
from app.proposals.schemas import ChangeCreate, ProposalCreate, ProposalUpdate, ResponseCreate
from tests.factories import make_page, make_user
from tests.restricted import lift, restrict

SLUG = "hr/salary-bands"


@pytest.fixture
def people(session: Session) -> tuple[User, User]:
    """hanna (may edit hr/) and otto (outside)."""
    return (
        make_user(session, username="hanna", role=Role.editor),
        make_user(session, username="otto", role=Role.facilitator),
    )


def _propose(session: Session, author: User) -> Proposal:
    make_page(session, slug=SLUG, title="Salary bands", body="Band one.\n")
    make_page(session, slug="handbook", title="Handbook", body="Hello.\n")
    change = ChangeCreate(slug=SLUG, base=1, body="Band one and two.\n")
    hidden = service.create_proposal(
        session=session,
        data=ProposalCreate(
            title="Add band two", source=ProposalSource.page_edit, changes=[change]
        ),
        author=author,
    )
    service.create_proposal(
        session=session, data=ProposalCreate(title="Shorter handbook"), author=author
    )
    return hidden


def test_outsiders_never_see_a_proposal_to_change_a_hidden_page(
    session: Session, people: tuple[User, User]
) -> None:
    hanna, otto = people
    restrict(session, "hr", editors=[hanna])
    p = _propose(session, hanna)
    pid = p.id or 0
    attempts: list[Callable[[], object]] = [
        lambda: service.get_proposal(session=session, proposal_id=pid, user=otto),
        lambda: service.get_proposal(session=session, proposal_id=pid, user=None),
        lambda: service.tally(session=session, proposal_id=pid, user=otto),
        lambda: service.versions(session=session, proposal_id=pid, user=otto),
        lambda: service.respond(
            session=session, proposal_id=pid, data=ResponseCreate(stance=Stance.agree), user=otto
        ),
        lambda: service.edit_proposal(
            session=session, proposal_id=pid, data=ProposalUpdate(title="x"), user=otto
        ),
    ]
    for attempt in attempts:
        session.rollback()
        with pytest.raises(NotFound, match=f"no proposal #{pid}"):
            attempt()
    listed, total = service.list_proposals(session=session, user=otto, state="all")
    assert [v.proposal.title for v in listed] == ["Shorter handbook"]
    assert total == 1
    # the author (in the group) sees both, with the change's diff
    _, total = service.list_proposals(session=session, user=hanna, state="all")
    assert total == 2
    view = service.get_proposal(session=session, proposal_id=pid, user=hanna)
    assert [c.page.slug for c in view.changes] == [SLUG]


def test_lifting_the_restriction_shows_the_proposal_again(
    session: Session, people: tuple[User, User]
) -> None:
    hanna, otto = people
    restrict(session, "hr", editors=[hanna])
    p = _propose(session, hanna)
    lift(session, "hr")
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=otto)
    assert view.proposal.title == "Add band two"


def test_only_those_who_may_read_every_changed_page_are_asked(
    session: Session, people: tuple[User, User]
) -> None:
    hanna, otto = people
    handbook = make_page(session, slug="handbook", title="Handbook", body="Hello.\n")
    bands = make_page(session, slug=SLUG, title="Salary bands", body="Band one.\n")
    carol = make_user(session, username="carol", role=Role.editor)
    for page in (handbook, bands):
        for person in (otto, carol):
            notifications.set_watch(
                session=session, page_id=page.id or 0, user=person, watching=True
            )
    restrict(session, "hr", editors=[hanna, carol])
    service.create_proposal(
        session=session,
        data=ProposalCreate(
            title="Link the bands from the handbook",
            source=ProposalSource.page_edit,
            changes=[
                ChangeCreate(slug="handbook", base=1, body="Hello. See the bands.\n"),
                ChangeCreate(slug=SLUG, base=1, body="Band one, see the handbook.\n"),
            ],
        ),
        author=hanna,
    )
    session.rollback()
    asked = session.exec(
        select(Notification.user_id).where(Notification.kind == NotificationKind.proposal)
    ).all()
    assert asked == [carol.id]
