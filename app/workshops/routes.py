"""Workshops HTML screens: the list, the new-workshop form, the plan, the live room and its
actions (each answers htmx with the room fragment, browsers with a redirect), the summary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.deps import OptionalUser, SessionDep
from app.core.templating import is_htmx, redirect, render
from app.proposals import service as proposals
from app.workshops import room, service, summary
from app.workshops.models import WorkshopState
from app.workshops.schemas import (
    AgendaItemCreate,
    AgendaItemUpdate,
    ClusterCreate,
    IdeaCreate,
    MemberAdd,
    WorkshopEditForm,
    WorkshopForm,
)

router = APIRouter(include_in_schema=False)


def _room_ctx(
    session: SessionDep, user: User | None, workshop_id: int, item_id: int | None = None
) -> dict[str, Any]:
    view = room.get_room(session=session, workshop_id=workshop_id, user=user, item_id=item_id)
    item_proposals = (
        proposals.item_proposals(session=session, item_id=view.item.id or 0, user=user)
        if view.item is not None
        else []
    )
    return {
        "r": view,
        "w": view.workshop,
        "v": view.view,
        "proposals": item_proposals,
        # members who may put proposals (editors and up) get "Make a proposal from this idea"
        "can_propose": view.view.can_take_part and accounts.can(user, "proposal.create"),
    }


def _room(request: Request, session: SessionDep, user: User | None, workshop_id: int) -> Response:
    """After an action: the room fragment for htmx, a redirect to the room otherwise."""
    if not is_htmx(request):
        return redirect(request, f"/workshops/{workshop_id}")
    return render(
        request, "workshops/room.html", _room_ctx(session, user, workshop_id), block="room"
    )


@router.get("/workshops", name="workshops.list")
def workshops(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    lists = service.list_workshops(session=session, user=user)
    return render(request, "workshops/list.html", {"lists": lists})


@router.get("/workshops/new", name="workshops.new")
def new(request: Request, user: OptionalUser) -> Response:
    service.check_can_create(user=user)
    return render(request, "workshops/new.html", {"form": WorkshopForm()})


@router.post("/workshops", name="workshops.create")
def create(
    request: Request,
    form: Annotated[WorkshopForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    workshop = service.create_workshop(session=session, data=form.to_create(), user=user)
    return redirect(request, f"/workshops/{workshop.id}/plan")


@router.get("/workshops/{workshop_id}", name="workshops.room")
def room_view(
    request: Request,
    workshop_id: int,
    session: SessionDep,
    user: OptionalUser,
    item: int | None = None,
) -> Response:
    ctx = _room_ctx(session, user, workshop_id, item)
    return render(request, "workshops/room.html", ctx, block="room" if is_htmx(request) else None)


@router.get("/workshops/{workshop_id}/live", name="workshops.live")
def live(
    request: Request,
    workshop_id: int,
    session: SessionDep,
    user: OptionalUser,
    since: int = -1,
    state: str = "",
) -> Response:
    revision, current = service.live_stamp(session=session, workshop_id=workshop_id, user=user)
    if state and state != current:
        # the screen changes shape (started, closed): the browser reloads it
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    if since == revision:
        return Response(status_code=204)  # nothing new: htmx keeps what is on screen
    return render(
        request, "workshops/room.html", _room_ctx(session, user, workshop_id), block="room"
    )


@router.get("/workshops/{workshop_id}/summary.md", name="workshops.summary")
def summary_md(workshop_id: int, session: SessionDep, user: OptionalUser) -> Response:
    name, text = summary.download(session=session, workshop_id=workshop_id, user=user)
    return Response(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- the plan (facilitators) ----------------------------------------------------------------------


@router.get("/workshops/{workshop_id}/plan", name="workshops.plan")
def plan(request: Request, workshop_id: int, session: SessionDep, user: OptionalUser) -> Response:
    view, sections = service.get_plan(session=session, workshop_id=workshop_id, user=user)
    return render(
        request, "workshops/plan.html", {"v": view, "w": view.workshop, "sections": sections}
    )


def _to_plan(request: Request, workshop_id: int, anchor: str = "") -> Response:
    return redirect(request, f"/workshops/{workshop_id}/plan{anchor}")


@router.post("/workshops/{workshop_id}/plan", name="workshops.update")
def update(
    request: Request,
    workshop_id: int,
    form: Annotated[WorkshopEditForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.update_workshop(
        session=session, workshop_id=workshop_id, data=form.to_update(), user=user
    )
    return _to_plan(request, workshop_id)


@router.post("/workshops/{workshop_id}/members", name="workshops.add_member")
def add_member(
    request: Request,
    workshop_id: int,
    form: Annotated[MemberAdd, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.add_member(session=session, workshop_id=workshop_id, data=form, user=user)
    return _to_plan(request, workshop_id, "#people")


@router.post("/workshops/{workshop_id}/members/{username}/remove", name="workshops.remove_member")
def remove_member(
    request: Request, workshop_id: int, username: str, session: SessionDep, user: OptionalUser
) -> Response:
    service.remove_member(session=session, workshop_id=workshop_id, username=username, user=user)
    return _to_plan(request, workshop_id, "#people")


@router.post("/workshops/{workshop_id}/items", name="workshops.add_item")
def add_item(
    request: Request,
    workshop_id: int,
    form: Annotated[AgendaItemCreate, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    item = service.add_item(session=session, workshop_id=workshop_id, data=form, user=user)
    return _to_plan(request, workshop_id, f"#item-{item.id}")


@router.post("/workshops/{workshop_id}/items/{item_id}", name="workshops.update_item")
def update_item(
    request: Request,
    workshop_id: int,
    item_id: int,
    form: Annotated[AgendaItemCreate, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    data = AgendaItemUpdate.model_validate(form.model_dump())
    service.update_item(
        session=session, workshop_id=workshop_id, item_id=item_id, data=data, user=user
    )
    return _to_plan(request, workshop_id, f"#item-{item_id}")


@router.post("/workshops/{workshop_id}/items/{item_id}/delete", name="workshops.remove_item")
def remove_item(
    request: Request, workshop_id: int, item_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    service.remove_item(session=session, workshop_id=workshop_id, item_id=item_id, user=user)
    return _to_plan(request, workshop_id, "#agenda")


@router.post("/workshops/{workshop_id}/items/{item_id}/move", name="workshops.move_item")
def move_item(
    request: Request,
    workshop_id: int,
    item_id: int,
    offset: Annotated[int, Form(ge=-1, le=1)],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.move_item(
        session=session, workshop_id=workshop_id, item_id=item_id, offset=offset, user=user
    )
    return _to_plan(request, workshop_id, f"#item-{item_id}")


@router.post("/workshops/{workshop_id}/state", name="workshops.state")
def set_state(
    request: Request,
    workshop_id: int,
    state: Annotated[WorkshopState, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.set_state(session=session, workshop_id=workshop_id, state=state, user=user)
    return redirect(request, f"/workshops/{workshop_id}")


# --- the live room --------------------------------------------------------------------------------


@router.post("/workshops/{workshop_id}/timer", name="workshops.timer")
def timer(
    request: Request,
    workshop_id: int,
    action: Annotated[str, Form(max_length=16)],
    session: SessionDep,
    user: OptionalUser,
    minutes: Annotated[int, Form(ge=1, le=240)] = 5,
) -> Response:
    room.set_timer(
        session=session, workshop_id=workshop_id, action=action, minutes=minutes, user=user
    )
    return _room(request, session, user, workshop_id)


@router.post("/workshops/{workshop_id}/ideas", name="workshops.add_idea")
def add_idea(
    request: Request,
    workshop_id: int,
    form: Annotated[IdeaCreate, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    room.add_idea(session=session, workshop_id=workshop_id, data=form, user=user)
    return _room(request, session, user, workshop_id)


@router.post("/workshops/{workshop_id}/ideas/{idea_id}/delete", name="workshops.delete_idea")
def delete_idea(
    request: Request, workshop_id: int, idea_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    room.delete_idea(session=session, workshop_id=workshop_id, idea_id=idea_id, user=user)
    return _room(request, session, user, workshop_id)


@router.post("/workshops/{workshop_id}/ideas/{idea_id}/cluster", name="workshops.move_idea")
def move_idea(
    request: Request,
    workshop_id: int,
    idea_id: int,
    session: SessionDep,
    user: OptionalUser,
    cluster_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    target = int(cluster_id) if cluster_id.isdigit() else None
    room.move_idea(
        session=session, workshop_id=workshop_id, idea_id=idea_id, cluster_id=target, user=user
    )
    return _room(request, session, user, workshop_id)


@router.post("/workshops/{workshop_id}/ideas/{idea_id}/merge", name="workshops.merge_idea")
def merge_idea(
    request: Request,
    workshop_id: int,
    idea_id: int,
    into_id: Annotated[int, Form(ge=1)],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    room.merge_ideas(
        session=session, workshop_id=workshop_id, idea_id=idea_id, into_id=into_id, user=user
    )
    return _room(request, session, user, workshop_id)


@router.post("/workshops/{workshop_id}/ideas/{idea_id}/dot", name="workshops.dot")
def dot(
    request: Request, workshop_id: int, idea_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    room.place_dot(session=session, workshop_id=workshop_id, idea_id=idea_id, user=user)
    return _room(request, session, user, workshop_id)


@router.post("/workshops/{workshop_id}/ideas/{idea_id}/undot", name="workshops.undot")
def undot(
    request: Request, workshop_id: int, idea_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    room.take_dot(session=session, workshop_id=workshop_id, idea_id=idea_id, user=user)
    return _room(request, session, user, workshop_id)


@router.post("/workshops/{workshop_id}/clusters", name="workshops.add_cluster")
def add_cluster(
    request: Request,
    workshop_id: int,
    form: Annotated[ClusterCreate, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    room.create_cluster(session=session, workshop_id=workshop_id, data=form, user=user)
    return _room(request, session, user, workshop_id)


@router.post(
    "/workshops/{workshop_id}/clusters/{cluster_id}/delete", name="workshops.delete_cluster"
)
def delete_cluster(
    request: Request, workshop_id: int, cluster_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    room.delete_cluster(session=session, workshop_id=workshop_id, cluster_id=cluster_id, user=user)
    return _room(request, session, user, workshop_id)


@router.post("/workshops/{workshop_id}/reveal", name="workshops.reveal")
def reveal(request: Request, workshop_id: int, session: SessionDep, user: OptionalUser) -> Response:
    room.reveal_votes(session=session, workshop_id=workshop_id, user=user)
    return _room(request, session, user, workshop_id)


@router.post("/workshops/{workshop_id}/next", name="workshops.next")
def next_item(
    request: Request,
    workshop_id: int,
    session: SessionDep,
    user: OptionalUser,
    item_id: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    room.go_to_item(session=session, workshop_id=workshop_id, item_id=item_id, user=user)
    return _room(request, session, user, workshop_id)
