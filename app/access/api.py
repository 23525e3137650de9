"""Groups and restricted subtrees JSON API under /api/v1 (admins only): the screen's services."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.access import manage
from app.access.schemas import (
    GrantRead,
    GrantSet,
    GroupCreate,
    GroupRead,
    GroupUpdate,
    MemberAdd,
    RestrictionCreate,
    RestrictionRead,
)
from app.core.deps import OptionalUser, SessionDep
from app.core.problems import problems

router = APIRouter(prefix="/api/v1", tags=["access"])

ERRORS = problems(401, 403, 404, 422)
WRITE_ERRORS = problems(401, 403, 404, 409, 422)


def _group(session: SessionDep, user: OptionalUser, group_id: int) -> GroupRead:
    return manage.get_group(session=session, user=user, group_id=group_id).read()


def _restriction(session: SessionDep, user: OptionalUser, restriction_id: int) -> RestrictionRead:
    return manage.get_restriction(session=session, user=user, restriction_id=restriction_id).read()


@router.get("/groups", summary="List groups with their members", responses=ERRORS)
def list_groups(session: SessionDep, user: OptionalUser) -> list[GroupRead]:
    return [v.read() for v in manage.list_groups(session=session, user=user)]


@router.post("/groups", status_code=201, summary="Create a group", responses=WRITE_ERRORS)
def create_group(data: GroupCreate, session: SessionDep, user: OptionalUser) -> GroupRead:
    group = manage.create_group(session=session, user=user, data=data)
    return _group(session, user, group.id or 0)


@router.get("/groups/{group_id}", summary="One group with its members", responses=ERRORS)
def get_group(group_id: int, session: SessionDep, user: OptionalUser) -> GroupRead:
    return _group(session, user, group_id)


@router.patch(
    "/groups/{group_id}", summary="Rename a group or change its description", responses=WRITE_ERRORS
)
def update_group(
    group_id: int, data: GroupUpdate, session: SessionDep, user: OptionalUser
) -> GroupRead:
    manage.update_group(session=session, user=user, group_id=group_id, data=data)
    return _group(session, user, group_id)


@router.delete(
    "/groups/{group_id}",
    status_code=204,
    summary="Delete a group (its memberships and grants go too)",
    responses=ERRORS,
)
def delete_group(group_id: int, session: SessionDep, user: OptionalUser) -> Response:
    manage.delete_group(session=session, user=user, group_id=group_id)
    return Response(status_code=204)


@router.get("/groups/{group_id}/members", summary="A group's members", responses=ERRORS)
def list_members(group_id: int, session: SessionDep, user: OptionalUser) -> list[str]:
    return _group(session, user, group_id).members


@router.post(
    "/groups/{group_id}/members",
    status_code=201,
    summary="Add a user to a group",
    responses=WRITE_ERRORS,
)
def add_member(
    group_id: int, data: MemberAdd, session: SessionDep, user: OptionalUser
) -> GroupRead:
    manage.add_member(session=session, user=user, group_id=group_id, username=data.username)
    return _group(session, user, group_id)


@router.delete(
    "/groups/{group_id}/members/{username}",
    status_code=204,
    summary="Take a user out of a group",
    responses=ERRORS,
)
def remove_member(
    group_id: int, username: str, session: SessionDep, user: OptionalUser
) -> Response:
    manage.remove_member(session=session, user=user, group_id=group_id, username=username)
    return Response(status_code=204)


@router.get("/restrictions", summary="List restricted subtrees with their grants", responses=ERRORS)
def list_restrictions(session: SessionDep, user: OptionalUser) -> list[RestrictionRead]:
    return [v.read() for v in manage.list_restrictions(session=session, user=user)]


@router.post(
    "/restrictions",
    status_code=201,
    summary="Restrict a subtree (hidden from all but admins until a group is granted)",
    responses=WRITE_ERRORS,
)
def create_restriction(
    data: RestrictionCreate, session: SessionDep, user: OptionalUser
) -> RestrictionRead:
    restriction = manage.create_restriction(session=session, user=user, data=data)
    return _restriction(session, user, restriction.id or 0)


@router.get("/restrictions/{restriction_id}", summary="One restricted subtree", responses=ERRORS)
def get_restriction(
    restriction_id: int, session: SessionDep, user: OptionalUser
) -> RestrictionRead:
    return _restriction(session, user, restriction_id)


@router.delete(
    "/restrictions/{restriction_id}",
    status_code=204,
    summary="Remove a restriction (the subtree opens again)",
    responses=ERRORS,
)
def delete_restriction(restriction_id: int, session: SessionDep, user: OptionalUser) -> Response:
    manage.delete_restriction(session=session, user=user, restriction_id=restriction_id)
    return Response(status_code=204)


@router.get(
    "/restrictions/{restriction_id}/grants",
    summary="The groups with access to a restricted subtree",
    responses=ERRORS,
)
def list_grants(restriction_id: int, session: SessionDep, user: OptionalUser) -> list[GrantRead]:
    return _restriction(session, user, restriction_id).grants


@router.put(
    "/restrictions/{restriction_id}/grants/{group_id}",
    summary="Give a group read or edit access to a restricted subtree",
    responses=WRITE_ERRORS,
)
def set_grant(
    restriction_id: int, group_id: int, data: GrantSet, session: SessionDep, user: OptionalUser
) -> RestrictionRead:
    manage.set_grant(
        session=session,
        user=user,
        restriction_id=restriction_id,
        group_id=group_id,
        level=data.level,
    )
    return _restriction(session, user, restriction_id)


@router.delete(
    "/restrictions/{restriction_id}/grants/{group_id}",
    status_code=204,
    summary="Take a group's access to a restricted subtree away",
    responses=ERRORS,
)
def remove_grant(
    restriction_id: int, group_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    manage.remove_grant(
        session=session, user=user, restriction_id=restriction_id, group_id=group_id
    )
    return Response(status_code=204)
