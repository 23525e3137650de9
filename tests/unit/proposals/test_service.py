"""Proposals service: sources, versions, responses and their rules, tallies, closing, accepting
with page changes (merged, conflicting, deleted base page), withdrawing, notifications."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core.db import begin_write
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.core.time import utcnow
from app.decisions.models import Decision, DecisionLink, DecisionStatus
from app.discussions import service as discussions
from app.discussions.schemas import ThreadCreate
from app.notifications.models import Notification, NotificationKind
from app.pages import service as pages
from app.pages.schemas import PageEdit
from app.proposals import closing, service
from app.proposals.models import (
    Outcome,
    Proposal,
    ProposalChange,
    ProposalSource,
    ProposalState,
    Stance,
)
from app.proposals.schemas import (
    ChangeCreate,
    ChangeUpdate,
    ProposalClose,
    ProposalCreate,
    ProposalUpdate,
    ResponseCreate,
)
from app.search.models import OutboxEvent
from app.workshops import service as workshops
from app.workshops.models import Idea
from app.workshops.schemas import AgendaItemCreate, WorkshopCreate
from tests.factories import make_page, make_user

SLUG = "operating-model/intake"
BODY = "## Intake\n\nRequests arrive by e-mail.\n\n## Triage\n\nThe BRM sorts requests weekly.\n"


@pytest.fixture
def ed(session: Session) -> User:
    return make_user(session, username="ed", role=Role.editor)


@pytest.fixture
def fran(session: Session) -> User:
    return make_user(session, username="fran", role=Role.facilitator)


@pytest.fixture
def pat(session: Session) -> User:
    return make_user(session, username="pat", role=Role.reader)


@pytest.fixture
def quinn(session: Session) -> User:
    return make_user(session, username="quinn", role=Role.editor)


@pytest.fixture
def admin(session: Session) -> User:
    return make_user(session, username="root", role=Role.admin)


@pytest.fixture
def page_slug(session: Session, ed: User) -> str:
    make_page(session, slug=SLUG, title="Intake", body=BODY, author=ed)
    return SLUG


@pytest.fixture
def idea(session: Session, fran: User, pat: User, quinn: User) -> Idea:
    """An idea in fran's workshop, where pat and quinn take part."""
    assert quinn.id is not None  # quinn must exist before being invited
    w = workshops.create_workshop(
        session=session,
        data=WorkshopCreate(
            title="Intake redesign",
            participants=["pat", "quinn"],
            items=[AgendaItemCreate(title="How do requests arrive?")],
        ),
        user=fran,
    )
    view = workshops.get_workshop(session=session, workshop_id=w.id or 0, user=fran)
    found = Idea(
        workshop_id=w.id or 0,
        item_id=view.items[0].id or 0,
        author_id=pat.id,
        body="A single intake form instead of e-mail",
    )
    begin_write(session)
    session.add(found)
    session.commit()
    return found


def _plain(session: Session, user: User | None, **kw: object) -> Proposal:
    data = ProposalCreate(title=str(kw.pop("title", "Weekly triage")), **kw)
    return service.create_proposal(session=session, data=data, author=user)


def _from_idea(session: Session, idea: Idea, user: User, **kw: object) -> Proposal:
    return _plain(session, user, source=ProposalSource.idea, source_id=idea.id, **kw)


def _edit_page(session: Session, slug: str, user: User, base: int, body: str) -> Proposal:
    change = ChangeCreate(slug=slug, base=base, body=body)
    return _plain(
        session,
        user,
        title="Use a form",
        source=ProposalSource.page_edit,
        changes=[change],
        options=["form", "e-mail"],
    )


def _respond(
    session: Session, p: Proposal, user: User | None, stance: Stance, **kw: object
) -> None:
    service.respond(
        session=session,
        proposal_id=p.id or 0,
        data=ResponseCreate(stance=stance, **kw),
        user=user,
    )


# --- creating ------------------------------------------------------------------------------------


def test_editor_proposes_with_options_and_it_is_indexed(session: Session, ed: User) -> None:
    p = _plain(session, ed, description="Sort **weekly**", options="a\nb\n\na")
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=ed)
    assert view.proposal.options == ["a", "b"]
    assert "<strong>weekly</strong>" in view.html
    assert view.proposal.state is ProposalState.open
    assert view.can_edit
    assert view.can_withdraw
    assert not view.can_close
    kinds = session.exec(select(OutboxEvent.kind, OutboxEvent.ref_id)).all()
    assert ("proposal", p.id) in kinds


def test_readers_and_anonymous_cannot_propose(session: Session, pat: User) -> None:
    with pytest.raises(Forbidden):
        _plain(session, pat)
    with pytest.raises(Unauthorized):
        _plain(session, None)


def test_a_proposal_needs_a_title_and_a_future_closing_time(session: Session, ed: User) -> None:
    with pytest.raises(Invalid, match="title"):
        _plain(session, ed, title="  ")
    with pytest.raises(Invalid, match="future"):
        _plain(session, ed, closes_at=utcnow() - timedelta(minutes=1))
    assert session.exec(select(func.count()).select_from(Proposal)).one() == 0


def test_idea_proposal_belongs_to_its_workshop_and_item(
    session: Session, idea: Idea, fran: User, quinn: User, pat: User
) -> None:
    p = _from_idea(session, idea, quinn)
    assert (p.workshop_id, p.item_id) == (idea.workshop_id, idea.item_id)
    assert [v.id for v in service.item_proposals(session=session, item_id=idea.item_id, user=pat)]
    listed = service.workshop_proposals(session=session, workshop_id=idea.workshop_id, user=fran)
    assert [v.proposal.title for v in listed] == ["Weekly triage"]
    # members are asked to respond (not the author)
    asked = session.exec(
        select(Notification.user_id).where(Notification.kind == NotificationKind.proposal)
    ).all()
    assert set(asked) == {fran.id, pat.id}


def test_an_editor_outside_the_workshop_cannot_propose_there(
    session: Session, idea: Idea, ed: User
) -> None:
    with pytest.raises(Forbidden):
        _from_idea(session, idea, ed)


def test_thread_proposal(session: Session, page_slug: str, ed: User) -> None:
    thread = discussions.open_thread(
        session=session, slug=page_slug, data=ThreadCreate(body="Use a form?"), author=ed
    )
    p = _plain(session, ed, source=ProposalSource.thread, source_id=thread.id)
    assert p.source_id == thread.id
    with pytest.raises(NotFound):
        _plain(session, ed, source=ProposalSource.thread, source_id=9999)


def test_page_edit_proposal_shows_a_diff_and_notifies_watchers(
    session: Session, page_slug: str, ed: User, quinn: User
) -> None:
    pages.save_page(
        session=session,
        slug=page_slug,
        edit=PageEdit(base=1, title="Intake", body=BODY + "\nMore.\n"),
        author=quinn,
    )  # quinn now watches the page
    new = BODY.replace("by e-mail", "through a form") + "\nMore.\n"
    p = _edit_page(session, page_slug, ed, 2, new)
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=ed)
    [change] = view.changes
    assert change.change.base_revision == 2
    assert change.diff.added == 1
    assert change.diff.removed == 1
    # not saved as a revision
    assert pages.get_page(session=session, slug=page_slug, user=ed).head == 2
    asked = session.exec(
        select(Notification.user_id).where(Notification.kind == NotificationKind.proposal)
    ).all()
    assert quinn.id in asked


def test_a_page_edit_that_changes_nothing_is_refused(
    session: Session, page_slug: str, ed: User
) -> None:
    with pytest.raises(Invalid, match="does not change"):
        _edit_page(session, page_slug, ed, 1, BODY)


# --- responding ----------------------------------------------------------------------------------


def test_block_needs_a_reason(session: Session, ed: User, quinn: User) -> None:
    p = _plain(session, ed)
    with pytest.raises(Invalid, match="block needs a reason"):
        _respond(session, p, quinn, Stance.block)
    _respond(session, p, quinn, Stance.block, reason="Breaks the SLA")
    _respond(session, p, ed, Stance.agree)  # other stances need none


def test_require_reasons_makes_every_response_need_one(
    session: Session, ed: User, quinn: User
) -> None:
    p = _plain(session, ed, require_reasons=True)
    with pytest.raises(Invalid, match="reason"):
        _respond(session, p, quinn, Stance.agree)
    _respond(session, p, quinn, Stance.agree, reason="Fine by me")


def test_responding_twice_to_a_version_is_refused_changing_is_explicit(
    session: Session, ed: User, quinn: User
) -> None:
    p = _plain(session, ed)
    _respond(session, p, quinn, Stance.agree)
    with pytest.raises(Conflict, match="already responded to version 1"):
        _respond(session, p, quinn, Stance.disagree)
    _respond(session, p, quinn, Stance.disagree, change=True)
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=quinn)
    assert [r.response.stance for r in view.responses] == [Stance.disagree]
    assert view.mine is not None
    assert view.tally.counts[Stance.disagree] == 1


def test_no_response_after_the_closing_time(session: Session, ed: User, quinn: User) -> None:
    p = _plain(session, ed, closes_at=utcnow() + timedelta(hours=1))
    p.closes_at = utcnow() - timedelta(seconds=1)  # time passes
    session.add(p)
    session.commit()
    with pytest.raises(Conflict, match="time to respond is over"):
        _respond(session, p, quinn, Stance.agree)
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=quinn)
    assert not view.can_respond


def test_only_workshop_members_respond_to_its_proposals(
    session: Session, idea: Idea, fran: User, pat: User, ed: User
) -> None:
    p = _from_idea(session, idea, fran)
    _respond(session, p, pat, Stance.agree)  # a reader who takes part
    with pytest.raises(Forbidden):
        _respond(session, p, ed, Stance.agree)


def test_anonymous_cannot_respond(session: Session, ed: User) -> None:
    p = _plain(session, ed)
    with pytest.raises(Unauthorized):
        _respond(session, p, None, Stance.agree)


def test_option_must_be_one_of_the_options(session: Session, ed: User, quinn: User) -> None:
    p = _plain(session, ed, options=["form", "mail"])
    with pytest.raises(Invalid, match="not one of"):
        _respond(session, p, quinn, Stance.agree, option="phone")
    _respond(session, p, quinn, Stance.agree, option="form")


def test_hidden_results_until_it_closes(
    session: Session, ed: User, quinn: User, fran: User
) -> None:
    p = _plain(session, ed, hide_results=True)
    _respond(session, p, quinn, Stance.agree)
    tally = service.tally(session=session, proposal_id=p.id or 0, user=quinn)
    assert tally.hidden
    close = ProposalClose(outcome=Outcome.rejected, note="Not now")
    closing.close_proposal(session=session, proposal_id=p.id or 0, data=close, user=fran)
    tally = service.tally(session=session, proposal_id=p.id or 0, user=quinn)
    assert not tally.hidden
    assert tally.counts[Stance.agree] == 1


def test_tally_stamp_changes_with_a_response(session: Session, ed: User, quinn: User) -> None:
    p = _plain(session, ed)
    before = service.tally_stamp(session=session, proposal_id=p.id or 0, user=ed)
    assert before == service.tally_stamp(session=session, proposal_id=p.id or 0, user=ed)
    _respond(session, p, quinn, Stance.abstain)
    assert before != service.tally_stamp(session=session, proposal_id=p.id or 0, user=ed)


def test_workshop_proposal_response_touches_the_workshop(
    session: Session, idea: Idea, fran: User, pat: User
) -> None:
    p = _from_idea(session, idea, fran)
    before = workshops.revision_of(session=session, workshop_id=idea.workshop_id, user=fran)
    _respond(session, p, pat, Stance.agree)
    after = workshops.revision_of(session=session, workshop_id=idea.workshop_id, user=fran)
    assert after > before


# --- versions ------------------------------------------------------------------------------------


def test_editing_after_responses_makes_a_new_version(
    session: Session, ed: User, quinn: User
) -> None:
    p = _plain(session, ed, description="v1 text")
    pid = p.id or 0
    upd = ProposalUpdate(title="Weekly triage", description="v1 text, typo fixed")
    service.edit_proposal(session=session, proposal_id=pid, data=upd, user=ed)
    assert service.get_proposal(session=session, proposal_id=pid, user=ed).proposal.version == 1
    _respond(session, p, quinn, Stance.agree)
    upd = ProposalUpdate(title="Weekly triage", description="v2 text")
    service.edit_proposal(session=session, proposal_id=pid, data=upd, user=ed)
    view = service.get_proposal(session=session, proposal_id=pid, user=quinn)
    assert view.proposal.version == 2
    [earlier] = view.responses
    assert not earlier.current
    assert earlier.response.version == 1
    assert view.tally.total == 0
    assert view.tally.earlier == 1
    assert view.mine is None  # quinn may respond again to version 2
    asked = session.exec(
        select(Notification.user_id).where(Notification.kind == NotificationKind.proposal)
    ).all()
    assert quinn.id in asked  # asked again about the new version
    _respond(session, p, quinn, Stance.disagree)
    texts = service.versions(session=session, proposal_id=pid, user=quinn)
    assert [(v.text.version, v.text.description) for v in texts] == [
        (1, "v1 text, typo fixed"),
        (2, "v2 text"),
    ]


def test_partial_update_keeps_the_rest(session: Session, ed: User) -> None:
    p = _plain(session, ed, description="Keep me", options=["a", "b"], hide_results=True)
    upd = ProposalUpdate(title="Renamed")
    service.edit_proposal(session=session, proposal_id=p.id or 0, data=upd, user=ed)
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=ed)
    assert (view.proposal.title, view.proposal.description) == ("Renamed", "Keep me")
    assert view.proposal.options == ["a", "b"]
    assert view.proposal.hide_results


def test_only_author_or_facilitator_edits(session: Session, ed: User, quinn: User) -> None:
    p = _plain(session, ed)
    with pytest.raises(Forbidden):
        service.edit_proposal(
            session=session, proposal_id=p.id or 0, data=ProposalUpdate(title="x"), user=quinn
        )


# --- closing -------------------------------------------------------------------------------------


def test_only_facilitators_close_and_authors_withdraw(
    session: Session, ed: User, quinn: User, fran: User
) -> None:
    p = _plain(session, ed)
    pid = p.id or 0
    deferred = ProposalClose(outcome=Outcome.deferred, note="Later")
    with pytest.raises(Forbidden):
        closing.close_proposal(session=session, proposal_id=pid, data=deferred, user=ed)
    with pytest.raises(Forbidden):
        service.withdraw(session=session, proposal_id=pid, user=quinn)
    closing.close_proposal(session=session, proposal_id=pid, data=deferred, user=fran)
    p2 = service.get_proposal(session=session, proposal_id=pid, user=ed).proposal
    assert (p2.state, p2.outcome, p2.outcome_note) == (
        ProposalState.closed,
        Outcome.deferred,
        "Later",
    )
    with pytest.raises(Conflict):
        _respond(session, p, quinn, Stance.agree)
    with pytest.raises(Conflict):
        service.withdraw(session=session, proposal_id=pid, user=ed)


def test_author_withdraws(session: Session, ed: User, quinn: User) -> None:
    p = _plain(session, ed)
    service.withdraw(session=session, proposal_id=p.id or 0, user=ed)
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=ed)
    assert view.proposal.state is ProposalState.withdrawn
    with pytest.raises(Conflict, match="withdrawn"):
        _respond(session, p, quinn, Stance.agree)


def test_workshop_facilitator_closes_its_proposal_member_cannot(
    session: Session, idea: Idea, fran: User, quinn: User
) -> None:
    p = _from_idea(session, idea, quinn)
    rejected = ProposalClose(outcome=Outcome.rejected)
    with pytest.raises(Forbidden):
        closing.close_proposal(session=session, proposal_id=p.id or 0, data=rejected, user=quinn)
    closing.close_proposal(session=session, proposal_id=p.id or 0, data=rejected, user=fran)


def test_accept_records_a_decision_and_applies_the_change_merged(
    session: Session, page_slug: str, ed: User, quinn: User, fran: User
) -> None:
    p = _edit_page(session, page_slug, ed, 1, BODY.replace("by e-mail", "through a form"))
    # meanwhile someone edits another section
    pages.save_page(
        session=session,
        slug=page_slug,
        edit=PageEdit(base=1, title="Intake", body=BODY.replace("weekly", "daily")),
        author=quinn,
    )
    accept = ProposalClose(outcome=Outcome.accepted, note="Consent", chosen_option="form")
    closing.close_proposal(session=session, proposal_id=p.id or 0, data=accept, user=fran)
    page = pages.get_page(session=session, slug=page_slug, user=ed)
    assert page.head == 3
    rev = pages.current_revision(session=session, page=page)
    assert "through a form" in rev.body
    assert "daily" in rev.body
    assert rev.summary == "DEC-0001: Use a form"
    decision = session.exec(select(Decision)).one()
    assert decision.status is DecisionStatus.accepted
    assert decision.proposal_id == p.id
    links = session.exec(select(DecisionLink.revision).where(DecisionLink.revision == 3)).all()
    assert links == [3]
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=ed)
    assert view.proposal.decision_id == decision.id
    assert view.proposal.outcome is Outcome.accepted
    assert view.changes[0].change.applied_revision == 3


def test_accept_with_a_conflict_writes_nothing_then_retry_with_fixed_text(
    session: Session, page_slug: str, ed: User, quinn: User, fran: User
) -> None:
    p = _edit_page(session, page_slug, ed, 1, BODY.replace("by e-mail", "through a form"))
    pages.save_page(
        session=session,
        slug=page_slug,
        edit=PageEdit(base=1, title="Intake", body=BODY.replace("by e-mail", "by phone")),
        author=quinn,
    )
    accept = ProposalClose(outcome=Outcome.accepted)
    with pytest.raises(closing.ChangeConflict) as caught:
        closing.close_proposal(session=session, proposal_id=p.id or 0, data=accept, user=fran)
    assert caught.value.conflict.current == 2
    assert "by phone" in caught.value.conflict.their_body
    assert session.exec(select(func.count()).select_from(Decision)).one() == 0
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=ed)
    assert view.proposal.state is ProposalState.open
    assert pages.get_page(session=session, slug=page_slug, user=ed).head == 2
    # the facilitator updates the proposed text against revision 2 and accepts
    fixed = ProposalClose(
        outcome=Outcome.accepted,
        change_id=caught.value.change_id,
        change_base=2,
        change_body=BODY.replace("by e-mail", "by phone or through a form"),
    )
    closing.close_proposal(session=session, proposal_id=p.id or 0, data=fixed, user=fran)
    page = pages.get_page(session=session, slug=page_slug, user=ed)
    assert "by phone or through a form" in pages.current_revision(session=session, page=page).body


def test_update_change_alone(session: Session, page_slug: str, ed: User, fran: User) -> None:
    p = _edit_page(session, page_slug, ed, 1, BODY + "\nOne more line.\n")
    change = session.exec(select(ProposalChange)).one()
    closing.update_change(
        session=session,
        proposal_id=p.id or 0,
        change_id=change.id or 0,
        data=ChangeUpdate(base=1, body=BODY + "\nTwo more lines.\n"),
        user=fran,
    )
    session.refresh(change)
    assert "Two more" in change.body
    with pytest.raises(Forbidden):
        closing.update_change(
            session=session,
            proposal_id=p.id or 0,
            change_id=change.id or 0,
            data=ChangeUpdate(base=1, body="x"),
            user=ed,
        )


def test_accepting_when_the_base_page_was_deleted_is_refused(
    session: Session, page_slug: str, ed: User, fran: User
) -> None:
    p = _edit_page(session, page_slug, ed, 1, BODY + "\nOne more line.\n")
    pages.delete_page(session=session, slug=page_slug, author=ed)
    accept = ProposalClose(outcome=Outcome.accepted)
    with pytest.raises(Conflict, match="was deleted"):
        closing.close_proposal(session=session, proposal_id=p.id or 0, data=accept, user=fran)
    session.rollback()
    assert session.exec(select(func.count()).select_from(Decision)).one() == 0
    view = service.get_proposal(session=session, proposal_id=p.id or 0, user=ed)
    assert view.proposal.state is ProposalState.open
    # it can still be rejected
    reject = ProposalClose(outcome=Outcome.rejected, note="Page is gone")
    closing.close_proposal(session=session, proposal_id=p.id or 0, data=reject, user=fran)


def test_list_filters_open_and_closed(session: Session, ed: User) -> None:
    a = _plain(session, ed, title="A")
    _plain(session, ed, title="B")
    service.withdraw(session=session, proposal_id=a.id or 0, user=ed)
    opened, n = service.list_proposals(session=session, user=ed, state="open")
    assert [v.proposal.title for v in opened] == ["B"]
    assert n == 1
    closed, _ = service.list_proposals(session=session, user=ed, state="closed")
    assert [v.proposal.title for v in closed] == ["A"]


def test_closed_workshop_proposals_hidden_from_outsiders(
    session: Session, idea: Idea, fran: User, ed: User
) -> None:
    p = _from_idea(session, idea, fran)
    with pytest.raises(Forbidden):
        service.get_proposal(session=session, proposal_id=p.id or 0, user=ed)
    listed, _ = service.list_proposals(session=session, user=ed, state="all")
    assert listed == []


def test_unknown_proposal(session: Session, ed: User) -> None:
    with pytest.raises(NotFound):
        service.get_proposal(session=session, proposal_id=42, user=ed)
