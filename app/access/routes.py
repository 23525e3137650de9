"""Groups & access admin screen: groups with their members, restricted subtrees with grants.

One screen; each form posts and comes back to it (303), or with htmx the screen's ``panels``
block is swapped in place. A refused change shows the screen again with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.access import manage
from app.access.models import AccessLevel
from app.access.schemas import GroupCreate, GroupUpdate, RestrictionCreate
from app.accounts.models import User
from app.core.deps import OptionalUser, SessionDep
from app.core.errors import Conflict, Invalid, NotFound
from app.core.templating import is_htmx, redirect, render

router = APIRouter(include_in_schema=False)
BASE = "/admin/access"
REFUSED = (Invalid, Conflict, NotFound)


def _screen(
    request: Request,
    session: SessionDep,
    user: User | None,
    *,
    status_code: int = 200,
    error: str | None = None,
    done: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    ctx = {
        "groups": manage.list_groups(session=session, user=user),
        "restrictions": manage.list_restrictions(session=session, user=user),
        "levels": list(AccessLevel),
        "error": error,
        "done": done,
        "form": form or {},
    }
    block = "panels" if is_htmx(request) else None
    return render(request, "access/admin.html", ctx, status_code=status_code, block=block)


def _after(request: Request, session: SessionDep, user: User | None, done: str) -> Response:
    if is_htmx(request):
        return _screen(request, session, user, done=_DONE[done])
    return redirect(request, f"{BASE}?done={done}")


_DONE = {
    "group-created": "Group created.",
    "group-changed": "Group saved.",
    "group-deleted": "Group deleted; its grants are gone too.",
    "member-added": "Member added.",
    "member-removed": "Member removed.",
    "restricted": "Subtree restricted. Only admins can see it until you grant a group access.",
    "opened": "Restriction removed: the subtree is open again.",
    "granted": "Access granted.",
    "revoked": "Access removed.",
}


@router.get(BASE, name="access.admin")
def admin(request: Request, session: SessionDep, user: OptionalUser, done: str = "") -> Response:
    return _screen(request, session, user, done=_DONE.get(done))


@router.post(f"{BASE}/groups", name="access.create_group")
def create_group(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    data = GroupCreate(name=name, description=description)
    try:
        manage.create_group(session=session, user=user, data=data)
    except REFUSED as exc:
        session.rollback()
        form = {"group_name": name, "group_description": description}
        return _screen(
            request, session, user, status_code=exc.status_code, error=exc.detail, form=form
        )
    return _after(request, session, user, "group-created")


@router.post(f"{BASE}/groups/{{group_id}}/edit", name="access.update_group")
def update_group(
    request: Request,
    group_id: int,
    session: SessionDep,
    user: OptionalUser,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    data = GroupUpdate(name=name, description=description)
    try:
        manage.update_group(session=session, user=user, group_id=group_id, data=data)
    except REFUSED as exc:
        session.rollback()
        return _screen(request, session, user, status_code=exc.status_code, error=exc.detail)
    return _after(request, session, user, "group-changed")


@router.post(f"{BASE}/groups/{{group_id}}/delete", name="access.delete_group")
def delete_group(
    request: Request, group_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    manage.delete_group(session=session, user=user, group_id=group_id)
    return _after(request, session, user, "group-deleted")


@router.post(f"{BASE}/groups/{{group_id}}/members", name="access.add_member")
def add_member(
    request: Request,
    group_id: int,
    session: SessionDep,
    user: OptionalUser,
    username: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        manage.add_member(session=session, user=user, group_id=group_id, username=username)
    except REFUSED as exc:
        session.rollback()
        return _screen(request, session, user, status_code=exc.status_code, error=exc.detail)
    return _after(request, session, user, "member-added")


@router.post(f"{BASE}/groups/{{group_id}}/members/{{username}}/remove", name="access.remove_member")
def remove_member(
    request: Request, group_id: int, username: str, session: SessionDep, user: OptionalUser
) -> Response:
    manage.remove_member(session=session, user=user, group_id=group_id, username=username)
    return _after(request, session, user, "member-removed")


@router.post(f"{BASE}/restrictions", name="access.create_restriction")
def create_restriction(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    root: Annotated[str, Form(max_length=300)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        manage.create_restriction(
            session=session, user=user, data=RestrictionCreate(root=root, note=note)
        )
    except REFUSED as exc:
        session.rollback()
        form = {"root": root, "note": note}
        return _screen(
            request, session, user, status_code=exc.status_code, error=exc.detail, form=form
        )
    return _after(request, session, user, "restricted")


@router.post(f"{BASE}/restrictions/{{restriction_id}}/delete", name="access.delete_restriction")
def delete_restriction(
    request: Request, restriction_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    manage.delete_restriction(session=session, user=user, restriction_id=restriction_id)
    return _after(request, session, user, "opened")


@router.post(f"{BASE}/restrictions/{{restriction_id}}/grants", name="access.set_grant")
def set_grant(
    request: Request,
    restriction_id: int,
    session: SessionDep,
    user: OptionalUser,
    group_id: Annotated[int, Form()],
    level: Annotated[AccessLevel, Form()] = AccessLevel.read,
) -> Response:
    try:
        manage.set_grant(
            session=session,
            user=user,
            restriction_id=restriction_id,
            group_id=group_id,
            level=level,
        )
    except REFUSED as exc:
        session.rollback()
        return _screen(request, session, user, status_code=exc.status_code, error=exc.detail)
    return _after(request, session, user, "granted")


@router.post(
    f"{BASE}/restrictions/{{restriction_id}}/grants/{{group_id}}/remove",
    name="access.remove_grant",
)
def remove_grant(
    request: Request, restriction_id: int, group_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    manage.remove_grant(
        session=session, user=user, restriction_id=restriction_id, group_id=group_id
    )
    return _after(request, session, user, "revoked")
