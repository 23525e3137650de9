"""Closing a proposal with an outcome. Accepting records the decision and applies the proposed
page changes in one transaction: a conflict or a deleted page writes nothing."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import begin_write
from app.core.errors import Conflict, Invalid, NotFound
from app.core.time import utcnow
from app.decisions import service as decisions
from app.decisions.schemas import DecisionFromProposal, OptionIn, PageLinkIn
from app.pages import service as pages
from app.pages.models import Page
from app.pages.schemas import ConflictDetail, PageEdit
from app.proposals.models import Outcome, Proposal, ProposalChange, ProposalSource, ProposalState
from app.proposals.schemas import ChangeUpdate, ProposalClose
from app.proposals.service import touch_proposal
from app.proposals.views import load_proposal, require_close, require_open, require_read


class ChangeConflict(Conflict):
    """Accepting would overwrite changes made to a page since the proposal was written."""

    def __init__(self, *, proposal_id: int, change_id: int, slug: str, detail: ConflictDetail):
        super().__init__(
            f"The page {slug!r} changed since this proposal was written, in the same lines. "
            "Nothing was decided or saved: update the proposed text and accept again.",
            proposal_id=proposal_id,
            change_id=change_id,
            slug=slug,
            conflict=detail.model_dump(),
        )
        self.change_id = change_id
        self.slug = slug
        self.conflict = detail


def _changes(session: Session, p: Proposal) -> list[ProposalChange]:
    return list(
        session.exec(
            select(ProposalChange)
            .where(ProposalChange.proposal_id == p.id)
            .order_by(col(ProposalChange.id))
        )
    )


def _decision_data(
    p: Proposal, data: ProposalClose, me: User, pages_: list[Page]
) -> DecisionFromProposal:
    return DecisionFromProposal(
        title=p.title,
        context=p.description,
        options=[OptionIn(name=o) for o in p.options],
        chosen_option=data.chosen_option,
        rationale=data.note,
        deciders=[me.username],
        thread_ids=[p.source_id] if p.source == ProposalSource.thread and p.source_id else [],
        pages=[PageLinkIn(slug=page.slug) for page in pages_],
    )


def close_proposal(
    *, session: Session, proposal_id: int, data: ProposalClose, user: User | None
) -> Proposal:
    """Close with an outcome; accepting records DEC-n and applies the page changes, all or none."""
    begin_write(session)
    p = load_proposal(session, proposal_id, lock=True)
    require_read(session, p, user)
    me = require_close(session, p, user)
    require_open(p, "closed")
    if data.chosen_option and data.chosen_option not in p.options:
        raise Invalid(f"{data.chosen_option!r} is not one of the options.", field="chosen_option")
    if data.outcome == Outcome.accepted:
        if data.change_id is not None and data.change_body is not None:
            fix = ChangeUpdate(
                base=data.change_base or 1, title=data.change_title, body=data.change_body
            )
            _fix_change(session, p, data.change_id, fix, me)
        _accept(session, p, data, me)
    p.state = ProposalState.closed
    p.outcome, p.outcome_note = data.outcome, data.note
    p.closed_by_id, p.closed_at = me.id, utcnow()
    touch_proposal(session, p)
    session.commit()
    return p


def _accept(session: Session, p: Proposal, data: ProposalClose, me: User) -> None:
    changes = _changes(session, p)
    page_map = pages.pages_by_id(session=session, ids={c.page_id for c in changes})
    for c in changes:
        page = page_map[c.page_id]
        if page.is_deleted:
            raise Conflict(
                f"The page {page.slug!r} was deleted after this proposal was written, so its "
                "proposed change cannot be applied. Nothing was decided: restore the page, or "
                "close the proposal as rejected or deferred.",
                slug=page.slug,
            )
    touched = [page_map[c.page_id] for c in changes]
    decision = decisions.record_from_proposal(
        session=session, proposal=p, actor=me, data=_decision_data(p, data, me, touched)
    )
    label = decisions.ref(decision.number)
    for c in changes:
        page = page_map[c.page_id]
        edit = PageEdit(
            base=c.base_revision,
            title=c.title,
            body=c.body,
            tags=list(c.tags),
            summary=f"{label}: {p.title}"[:500],
        )
        try:
            result = pages.save_page(
                session=session, slug=page.slug, edit=edit, author=me, commit=False
            )
        except pages.EditConflict as exc:
            session.rollback()  # the decision record goes too: nothing partial
            raise ChangeConflict(
                proposal_id=p.id or 0, change_id=c.id or 0, slug=page.slug, detail=exc.conflict
            ) from None
        revision = result.revision.number if result.revision is not None else page.head
        decisions.link_revision(
            session=session, decision=decision, page_id=page.id or 0, revision=revision
        )
        c.applied_revision = revision
        session.add(c)
    p.decision_id = decision.id


def _fix_change(
    session: Session, p: Proposal, change_id: int, data: ChangeUpdate, me: User
) -> ProposalChange:
    change = session.get(ProposalChange, change_id)
    if change is None or change.proposal_id != p.id:
        raise NotFound(f"Proposal #{p.id} has no change #{change_id}.")
    page = pages.pages_by_id(session=session, ids=[change.page_id])[change.page_id]
    if page.is_deleted:
        raise Conflict(f"The page {page.slug!r} was deleted.", slug=page.slug)
    accounts.require(me, "page.edit")
    if data.base > page.head:
        raise Invalid(f"Revision {data.base} of {page.slug!r} does not exist.", field="base")
    change.base_revision = data.base
    change.body = data.body
    if data.title.strip():
        change.title = data.title.strip()
    session.add(change)
    session.flush()
    return change


def update_change(
    *, session: Session, proposal_id: int, change_id: int, data: ChangeUpdate, user: User | None
) -> ProposalChange:
    """The closer rewrites a proposed page text against the page's newer revision (after a
    conflict), so that accepting applies it cleanly."""
    begin_write(session)
    p = load_proposal(session, proposal_id, lock=True)
    require_read(session, p, user)
    me = require_close(session, p, user)
    require_open(p, "changed")
    change = _fix_change(session, p, change_id, data, me)
    touch_proposal(session, p)
    session.commit()
    return change
