"""Decisions JSON API under /api/v1: the same services as the HTML screens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.deps import OptionalUser, SessionDep
from app.core.errors import Invalid, NotFound
from app.core.problems import problems
from app.decisions import service, views
from app.decisions.schemas import (
    CurrentAnswer,
    DecisionAmend,
    DecisionCreate,
    DecisionList,
    DecisionRead,
    DecisionUpdate,
    DecisionVersionRead,
    LinkRead,
    LogFilters,
    OptionRead,
    StatusChange,
)

router = APIRouter(prefix="/api/v1", tags=["decisions"])

ERRORS = problems(401, 403, 404, 409, 422)


def _number(value: str) -> int:
    try:
        return service.parse_ref(value)
    except Invalid:
        raise NotFound(f"There is no decision {value[:40]!r}.") from None


def _links(view: views.DecisionView) -> list[LinkRead]:
    return [
        LinkRead(
            kind=str(lv.link.kind),
            page_slug=lv.page.slug if lv.page else None,
            page_title=lv.page.title if lv.page else None,
            section=lv.link.section,
            revision=lv.link.revision,
            thread_id=lv.link.thread_id,
        )
        for lv in view.links
    ]


def _read(view: views.DecisionView) -> DecisionRead:
    d = view.decision
    return DecisionRead(
        id=d.id or 0,
        number=d.number,
        ref=view.ref,
        url=f"/decisions/{view.ref}",
        title=d.title,
        status=d.status,
        context=d.context,
        drivers=d.drivers,
        options=[OptionRead.model_validate({"pros": "", "cons": "", **o}) for o in d.options],
        chosen_option=d.chosen_option,
        rationale=d.rationale,
        consequences=d.consequences,
        method=d.method,
        decided_on=d.decided_on,
        review_on=d.review_on,
        tags=list(d.tags),
        deciders=[u.username for u in view.deciders],
        consulted=[u.username for u in view.consulted],
        informed=[u.username for u in view.informed],
        workshop_id=d.workshop_id,
        proposal_id=d.proposal_id,
        supersedes=service.ref(view.supersedes.number) if view.supersedes else None,
        superseded_by=service.ref(view.superseded_by.number) if view.superseded_by else None,
        version=d.version,
        links=_links(view),
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


def _get(session: SessionDep, user: OptionalUser, number: int) -> DecisionRead:
    return _read(service.get_decision(session=session, number=number, user=user))


@router.get("/decisions", responses=ERRORS)
def list_decisions(
    session: SessionDep,
    user: OptionalUser,
    filters: Annotated[LogFilters, Query()],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DecisionList:
    """The decision log, newest first: filter by status, tag, workshop, page subtree (`under`),
    decided-on range (`since`, `until`), decider, and `review=due`."""
    items, total = service.list_decisions(
        session=session, user=user, filters=filters, limit=limit, offset=offset
    )
    return DecisionList(total=total, items=[_read(v) for v in items])


@router.post("/decisions", status_code=201, responses=ERRORS)
def create_decision(data: DecisionCreate, session: SessionDep, user: OptionalUser) -> DecisionRead:
    """Record a decision (draft or proposed); it gets the next DEC number."""
    decision = service.create_decision(session=session, data=data, user=user)
    return _get(session, user, decision.number)


@router.get("/decisions/current/{ref}", responses=ERRORS)
def current_answer(ref: str, session: SessionDep, user: OptionalUser) -> CurrentAnswer:
    """The decision in force for DEC-n: follows "superseded by" to the end of the chain."""
    number = _number(ref)
    view, path = service.current_answer(session=session, number=number, user=user)
    return CurrentAnswer(
        asked=service.ref(number),
        current=_read(view),
        chain=[service.ref(d.number) for d in path],
    )


@router.get("/decisions/{ref}", responses=ERRORS)
def get_decision(ref: str, session: SessionDep, user: OptionalUser) -> DecisionRead:
    """One decision record (`DEC-0001` or `1`)."""
    return _get(session, user, _number(ref))


@router.put("/decisions/{ref}", responses=ERRORS)
def update_decision(
    ref: str, data: DecisionUpdate, session: SessionDep, user: OptionalUser
) -> DecisionRead:
    """Replace the text and links of a draft or proposed decision (accepted ones are amended)."""
    number = _number(ref)
    service.update_decision(session=session, number=number, data=data, user=user)
    return _get(session, user, number)


@router.post("/decisions/{ref}/status", responses=ERRORS)
def change_status(
    ref: str, data: StatusChange, session: SessionDep, user: OptionalUser
) -> DecisionRead:
    """propose, accept, reject, withdraw, deprecate (or `draft`: back from proposed)."""
    number = _number(ref)
    service.change_status(
        session=session, number=number, action=data.action, user=user, decided_on=data.decided_on
    )
    return _get(session, user, number)


@router.post("/decisions/{ref}/amend", responses=ERRORS)
def amend_decision(
    ref: str, data: DecisionAmend, session: SessionDep, user: OptionalUser
) -> DecisionRead:
    """A new version of an accepted decision, with the reason; the earlier text is kept."""
    number = _number(ref)
    service.amend_decision(session=session, number=number, data=data, user=user)
    return _get(session, user, number)


@router.post("/decisions/{ref}/supersede", status_code=201, responses=ERRORS)
def supersede_decision(
    ref: str, data: DecisionCreate, session: SessionDep, user: OptionalUser
) -> DecisionRead:
    """A new decision that replaces this one once it is accepted."""
    new = service.supersede_decision(session=session, number=_number(ref), data=data, user=user)
    return _get(session, user, new.number)


@router.get("/decisions/{ref}/versions", responses=ERRORS)
def decision_versions(
    ref: str, session: SessionDep, user: OptionalUser
) -> list[DecisionVersionRead]:
    """Earlier versions of an amended decision, newest first."""
    _, rows = service.decision_versions(session=session, number=_number(ref), user=user)
    return [
        DecisionVersionRead(
            version=v.version,
            reason=v.reason,
            author=author.username if author else None,
            created_at=v.created_at,
            snapshot=v.snapshot,
        )
        for v, author in rows
    ]


@router.get("/decisions/{ref}/links", responses=ERRORS)
def decision_links(ref: str, session: SessionDep, user: OptionalUser) -> list[LinkRead]:
    """What the decision governs and changed: pages (sections), revisions, discussions."""
    return _links(service.get_decision(session=session, number=_number(ref), user=user))
