"""Proposals HTML screens and fragments: the list, a proposal, the new/edit forms, responding,
the live tally, closing (with the conflict screen when accepting conflicts) and withdrawing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from app.accounts.models import User
from app.core.deps import OptionalUser, SessionDep
from app.core.templating import is_htmx, redirect, render
from app.proposals import closing, service
from app.proposals.schemas import ProposalClose, ProposalForm, ResponseCreate, StateFilter

router = APIRouter(include_in_schema=False)


def _ctx(session: SessionDep, proposal_id: int, user: User | None) -> dict[str, Any]:
    view = service.get_proposal(session=session, proposal_id=proposal_id, user=user)
    return {
        "view": view,
        "p": view.proposal,
        "stamp": service.tally_stamp(session=session, proposal_id=proposal_id, user=user),
    }


@router.get("/proposals", name="proposals.list")
def proposals(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    state: StateFilter = "open",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    per_page = 50
    found, total = service.list_proposals(
        session=session, user=user, state=state, limit=per_page, offset=(page - 1) * per_page
    )
    ctx = {
        "proposals": found,
        "total": total,
        "state": state,
        "page_no": page,
        "pages": max(1, (total + per_page - 1) // per_page),
    }
    block = "results" if is_htmx(request) else None
    return render(request, "proposals/list.html", ctx, block=block)


@router.get("/proposals/new", name="proposals.new")
def new(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    idea: int | None = None,
    thread: int | None = None,
    page: str | None = None,
) -> Response:
    draft = service.draft_proposal(session=session, user=user, idea=idea, thread=thread, page=page)
    return render(request, "proposals/new.html", {"draft": draft})


@router.post("/proposals/new", name="proposals.create")
def create(
    request: Request, form: Annotated[ProposalForm, Form()], session: SessionDep, user: OptionalUser
) -> Response:
    p = service.create_proposal(session=session, data=form.to_create(), author=user)
    return redirect(request, f"/proposals/{p.id}")


@router.get("/proposals/{proposal_id}", name="proposals.view")
def view(request: Request, proposal_id: int, session: SessionDep, user: OptionalUser) -> Response:
    ctx = _ctx(session, proposal_id, user)
    return render(request, "proposals/view.html", ctx, block="live" if is_htmx(request) else None)


@router.get("/proposals/{proposal_id}/tally", name="proposals.tally")
def tally(
    request: Request, proposal_id: int, session: SessionDep, user: OptionalUser, since: str = ""
) -> Response:
    stamp = service.tally_stamp(session=session, proposal_id=proposal_id, user=user)
    if since and since == stamp and is_htmx(request):
        return Response(status_code=204)  # nothing new: htmx keeps what is on screen
    ctx = _ctx(session, proposal_id, user)
    return render(request, "proposals/view.html", ctx, block="live")


@router.post("/proposals/{proposal_id}/respond", name="proposals.respond")
def respond(
    request: Request,
    proposal_id: int,
    form: Annotated[ResponseCreate, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.respond(session=session, proposal_id=proposal_id, data=form, user=user)
    if not is_htmx(request):
        return redirect(request, f"/proposals/{proposal_id}#responses")
    return render(request, "proposals/view.html", _ctx(session, proposal_id, user), block="live")


@router.get("/proposals/{proposal_id}/edit", name="proposals.edit_form")
def edit_form(
    request: Request, proposal_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    view = service.get_proposal(session=session, proposal_id=proposal_id, user=user)
    if not view.can_edit:
        return redirect(request, f"/proposals/{proposal_id}")
    return render(request, "proposals/edit.html", {"view": view, "p": view.proposal})


@router.post("/proposals/{proposal_id}/edit", name="proposals.edit")
def edit(
    request: Request,
    proposal_id: int,
    form: Annotated[ProposalForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.edit_proposal(
        session=session, proposal_id=proposal_id, data=form.to_update(), user=user
    )
    return redirect(request, f"/proposals/{proposal_id}")


@router.post("/proposals/{proposal_id}/close", name="proposals.close")
def close(
    request: Request,
    proposal_id: int,
    form: Annotated[ProposalClose, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    try:
        closing.close_proposal(session=session, proposal_id=proposal_id, data=form, user=user)
    except closing.ChangeConflict as exc:
        # the facilitator sees both texts and can update the proposed one, then accept again
        ctx = {
            **_ctx(session, proposal_id, user),
            "conflict": exc.conflict,
            "change_id": exc.change_id,
            "slug": exc.slug,
            "form": form,
        }
        return render(request, "proposals/conflict.html", ctx, status_code=409)
    return redirect(request, f"/proposals/{proposal_id}")


@router.post("/proposals/{proposal_id}/withdraw", name="proposals.withdraw")
def withdraw(
    request: Request, proposal_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    service.withdraw(session=session, proposal_id=proposal_id, user=user)
    return redirect(request, f"/proposals/{proposal_id}")


@router.get("/proposals/{proposal_id}/versions", name="proposals.versions")
def versions(
    request: Request, proposal_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    view = service.get_proposal(session=session, proposal_id=proposal_id, user=user)
    texts = service.versions(session=session, proposal_id=proposal_id, user=user)
    return render(
        request, "proposals/versions.html", {"view": view, "p": view.proposal, "versions": texts}
    )
