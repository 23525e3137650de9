"""Proposals JSON API under /api/v1: the same services as the HTML screens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.core.deps import OptionalUser, SessionDep
from app.core.problems import problems
from app.proposals import closing, service
from app.proposals.models import Stance
from app.proposals.schemas import (
    ChangeRead,
    ChangeUpdate,
    ProposalClose,
    ProposalCreate,
    ProposalFull,
    ProposalRead,
    ProposalUpdate,
    ResponseCreate,
    ResponseRead,
    StateFilter,
    Tally,
    VersionRead,
)

router = APIRouter(prefix="/api/v1", tags=["proposals"])

ERRORS = problems(401, 403, 404, 409, 413, 422)


class ProposalList(BaseModel):
    total: int
    items: list[ProposalRead]


def _tally(t: service.TallyView) -> Tally:
    if t.hidden:
        return Tally(hidden=True, version=t.version)
    return Tally(
        hidden=False,
        version=t.version,
        agree=t.counts[Stance.agree],
        abstain=t.counts[Stance.abstain],
        disagree=t.counts[Stance.disagree],
        block=t.counts[Stance.block],
        total=t.total,
        earlier=t.earlier,
    )


def _read(v: service.ProposalView) -> ProposalRead:
    p = v.proposal
    return ProposalRead(
        id=p.id or 0,
        title=p.title,
        description=p.description,
        html=v.html,
        options=list(p.options),
        version=p.version,
        state=p.state,
        source=p.source,
        source_id=p.source_id,
        workshop_id=p.workshop_id,
        item_id=p.item_id,
        require_reasons=p.require_reasons,
        hide_results=p.hide_results,
        closes_at=p.closes_at,
        outcome=p.outcome,
        outcome_note=p.outcome_note,
        decision_id=p.decision_id,
        author=v.author.username if v.author else None,
        closed_by=v.closed_by.username if v.closed_by else None,
        created_at=p.created_at,
        updated_at=p.updated_at,
        closed_at=p.closed_at,
        tally=_tally(v.tally),
    )


def _full(v: service.ProposalView) -> ProposalFull:
    return ProposalFull(
        **_read(v).model_dump(),
        changes=[
            ChangeRead(
                id=c.change.id or 0,
                page_slug=c.page.slug,
                page_title=c.page.title,
                page_deleted=c.page.is_deleted,
                base_revision=c.change.base_revision,
                current_revision=c.page.head,
                title=c.change.title,
                body=c.change.body,
                tags=list(c.change.tags),
                applied_revision=c.change.applied_revision,
            )
            for c in v.changes
        ],
        responses=[
            ResponseRead(
                id=r.response.id or 0,
                user=r.user.username if r.user else None,
                stance=r.response.stance,
                option=r.response.option,
                reason=r.response.reason,
                version=r.response.version,
                current_version=r.current,
                created_at=r.response.created_at,
            )
            for r in v.responses
        ],
    )


def _get(session: SessionDep, proposal_id: int, user: OptionalUser) -> ProposalFull:
    return _full(service.get_proposal(session=session, proposal_id=proposal_id, user=user))


@router.get("/proposals", responses=ERRORS)
def list_proposals(
    session: SessionDep,
    user: OptionalUser,
    state: StateFilter = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ProposalList:
    """Proposals (open, closed or all) the user may see, most recently active first."""
    found, total = service.list_proposals(
        session=session, user=user, state=state, limit=limit, offset=offset
    )
    return ProposalList(total=total, items=[_read(v) for v in found])


@router.post("/proposals", status_code=201, responses=ERRORS)
def create_proposal(data: ProposalCreate, session: SessionDep, user: OptionalUser) -> ProposalFull:
    """Put a proposal: from an idea (`source: idea`), a thread, a page edit (`changes`) or none."""
    p = service.create_proposal(session=session, data=data, author=user)
    return _get(session, p.id or 0, user)


@router.get("/proposals/{proposal_id}", responses=ERRORS)
def get_proposal(proposal_id: int, session: SessionDep, user: OptionalUser) -> ProposalFull:
    return _get(session, proposal_id, user)


@router.patch("/proposals/{proposal_id}", responses=ERRORS)
def edit_proposal(
    proposal_id: int, data: ProposalUpdate, session: SessionDep, user: OptionalUser
) -> ProposalFull:
    """Change the text; after responses to the current version it becomes a new version."""
    service.edit_proposal(session=session, proposal_id=proposal_id, data=data, user=user)
    return _get(session, proposal_id, user)


@router.post("/proposals/{proposal_id}/responses", status_code=201, responses=ERRORS)
def respond(
    proposal_id: int, data: ResponseCreate, session: SessionDep, user: OptionalUser
) -> ResponseRead:
    """Respond to the current version (409 if you already did; send `change: true` to replace)."""
    r = service.respond(session=session, proposal_id=proposal_id, data=data, user=user)
    return ResponseRead(
        id=r.id or 0,
        user=user.username if user else None,
        stance=r.stance,
        option=r.option,
        reason=r.reason,
        version=r.version,
        current_version=True,
        created_at=r.created_at,
    )


@router.get("/proposals/{proposal_id}/tally", responses=ERRORS)
def tally(proposal_id: int, session: SessionDep, user: OptionalUser) -> Tally:
    """The current version's tally (counts left out while results are hidden)."""
    return _tally(service.tally(session=session, proposal_id=proposal_id, user=user))


@router.post("/proposals/{proposal_id}/close", responses=ERRORS)
def close(
    proposal_id: int, data: ProposalClose, session: SessionDep, user: OptionalUser
) -> ProposalFull:
    """Close with an outcome. `accepted` records the decision and applies the page changes;
    409 with `conflict` (both texts) when a page changed in the same lines meanwhile."""
    closing.close_proposal(session=session, proposal_id=proposal_id, data=data, user=user)
    return _get(session, proposal_id, user)


@router.put("/proposals/{proposal_id}/changes/{change_id}", responses=ERRORS)
def update_change(
    proposal_id: int, change_id: int, data: ChangeUpdate, session: SessionDep, user: OptionalUser
) -> ProposalFull:
    """Rewrite a proposed page text against a newer revision (after a conflict)."""
    closing.update_change(
        session=session, proposal_id=proposal_id, change_id=change_id, data=data, user=user
    )
    return _get(session, proposal_id, user)


@router.post("/proposals/{proposal_id}/withdraw", responses=ERRORS)
def withdraw(proposal_id: int, session: SessionDep, user: OptionalUser) -> ProposalFull:
    """The author withdraws the proposal."""
    service.withdraw(session=session, proposal_id=proposal_id, user=user)
    return _get(session, proposal_id, user)


@router.get("/proposals/{proposal_id}/versions", responses=ERRORS)
def versions(proposal_id: int, session: SessionDep, user: OptionalUser) -> list[VersionRead]:
    """Every version of the proposal's text, the current one last."""
    return [
        VersionRead(
            version=v.text.version,
            title=v.text.title,
            description=v.text.description,
            options=list(v.text.options),
            author=v.author.username if v.author else None,
            created_at=v.since,
        )
        for v in service.versions(session=session, proposal_id=proposal_id, user=user)
    ]
