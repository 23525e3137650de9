"""Managing access (admins only): groups and their members, restricted subtrees and grants.

Every change is one transaction with an audit entry ("permission and role changes" are
audited), drops the cached access views of the session, and — when a restriction appears or
goes — re-indexes the pages of the subtree, so their search documents get the new scope, and
re-renders the pages that link into it (links into restricted subtrees never show whether the
target exists, see ``pages.service``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.access import service as access
from app.access.models import AccessLevel, Grant, Group, GroupMember, Restriction
from app.access.schemas import (
    GrantRead,
    GroupCreate,
    GroupRead,
    GroupUpdate,
    RestrictionCreate,
    RestrictionRead,
)
from app.accounts import service as accounts
from app.accounts.models import User
from app.audit import service as audit
from app.core.db import begin_write
from app.core.errors import Conflict, Invalid, NotFound
from app.pages import service as pages
from app.search import service as search

ACTION = "access.manage"
MAX_NAME = 64
MAX_NOTE = 500


@dataclass(frozen=True)
class GroupView:
    group: Group
    members: list[User]

    def read(self) -> GroupRead:
        g = self.group
        return GroupRead(
            id=g.id or 0,
            name=g.name,
            description=g.description,
            members=[u.username for u in self.members],
            created_at=g.created_at,
        )


@dataclass(frozen=True)
class GrantView:
    group: Group
    level: AccessLevel


@dataclass(frozen=True)
class RestrictionView:
    restriction: Restriction
    grants: list[GrantView]
    pages: int
    created_by: str | None

    def read(self) -> RestrictionRead:
        r = self.restriction
        return RestrictionRead(
            id=r.id or 0,
            root=r.root,
            note=r.note,
            grants=[
                GrantRead(group_id=g.group.id or 0, group=g.group.name, level=g.level)
                for g in self.grants
            ],
            pages=self.pages,
            created_by=self.created_by,
            created_at=r.created_at,
        )


def _admin(user: User | None) -> User:
    return accounts.require_user(user, ACTION)


def _audit(session: Session, actor: User, action: str, target: str, **details: object) -> None:
    audit.record(
        session=session,
        action=action,
        actor=actor if actor.id is not None else None,
        actor_name=actor.username,
        target=target,
        details=details,
    )


def _done(session: Session) -> None:
    access.forget(session)
    session.commit()
    access.forget(session)


# --- groups ------------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise Invalid("A group needs a name.", field="name")
    if len(name) > MAX_NAME:
        raise Invalid(f"A group name can have at most {MAX_NAME} characters.", field="name")
    return name


def _clean_text(text: str, what: str, field: str) -> str:
    text = text.strip()
    if len(text) > MAX_NOTE:
        raise Invalid(f"{what} can have at most {MAX_NOTE} characters.", field=field)
    return text


def _check_free(session: Session, name: str, *, other_than: int | None = None) -> None:
    stmt = select(Group.id).where(func.lower(Group.name) == name.lower())
    if other_than is not None:
        stmt = stmt.where(Group.id != other_than)
    if session.exec(stmt).first() is not None:
        raise Conflict(f"There is already a group called {name!r}.", field="name")


def _group(session: Session, group_id: int) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"There is no group {group_id}.", field="group_id")
    return group


def _members(session: Session, group_ids: Iterable[int]) -> dict[int, list[User]]:
    out: dict[int, list[User]] = {}
    rows = session.exec(
        select(GroupMember.group_id, User)
        .join(User, col(User.id) == GroupMember.user_id)
        .where(col(GroupMember.group_id).in_(list(group_ids)))
        .order_by(col(User.username))
    ).all()
    for group_id, user in rows:
        out.setdefault(group_id, []).append(user)
    return out


def list_groups(*, session: Session, user: User | None) -> list[GroupView]:
    """Every group with its members, by name."""
    _admin(user)
    groups = list(session.exec(select(Group).order_by(func.lower(Group.name))))
    members = _members(session, [g.id or 0 for g in groups])
    return [GroupView(group=g, members=members.get(g.id or 0, [])) for g in groups]


def get_group(*, session: Session, user: User | None, group_id: int) -> GroupView:
    """One group with its members (raises NotFound)."""
    _admin(user)
    group = _group(session, group_id)
    return GroupView(group=group, members=_members(session, [group_id]).get(group_id, []))


def create_group(*, session: Session, user: User | None, data: GroupCreate) -> Group:
    """Create an empty group; names are unique whatever their case."""
    actor = _admin(user)
    name = _clean_name(data.name)
    description = _clean_text(data.description, "A description", "description")
    begin_write(session)
    _check_free(session, name)
    group = Group(name=name, description=description)
    session.add(group)
    session.flush()
    _audit(session, actor, "access.group_created", f"group {name}", group_id=group.id)
    _done(session)
    return group


def update_group(*, session: Session, user: User | None, group_id: int, data: GroupUpdate) -> Group:
    """Rename a group or change its description."""
    actor = _admin(user)
    begin_write(session)
    group = _group(session, group_id)
    old = group.name
    if data.name is not None:
        name = _clean_name(data.name)
        _check_free(session, name, other_than=group_id)
        group.name = name
    if data.description is not None:
        group.description = _clean_text(data.description, "A description", "description")
    session.add(group)
    details: dict[str, object] = {"group_id": group_id}
    if group.name != old:
        details.update(old_name=old, new_name=group.name)
    _audit(session, actor, "access.group_changed", f"group {group.name}", **details)
    _done(session)
    return group


def delete_group(*, session: Session, user: User | None, group_id: int) -> None:
    """Delete a group with its memberships and grants (what it opened closes again)."""
    actor = _admin(user)
    begin_write(session)
    group = _group(session, group_id)
    roots = session.exec(
        select(Restriction.root)
        .join(Grant, col(Grant.restriction_id) == Restriction.id)
        .where(Grant.group_id == group_id)
    ).all()
    session.execute(delete(Grant).where(col(Grant.group_id) == group_id))
    session.execute(delete(GroupMember).where(col(GroupMember.group_id) == group_id))
    session.delete(group)
    _audit(
        session,
        actor,
        "access.group_deleted",
        f"group {group.name}",
        group_id=group_id,
        grants_removed=sorted(roots),
    )
    _done(session)


def _user(session: Session, username: str) -> User:
    found = session.exec(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).first()
    if found is None:
        raise NotFound(f"There is no user {username.strip()!r}.", field="username")
    return found


def add_member(*, session: Session, user: User | None, group_id: int, username: str) -> User:
    """Add a user to a group (refuses one who is already in it)."""
    actor = _admin(user)
    begin_write(session)
    group = _group(session, group_id)
    member = _user(session, username)
    if session.get(GroupMember, (group_id, member.id)) is not None:
        raise Conflict(f"{member.username} is already in {group.name}.", field="username")
    session.add(GroupMember(group_id=group_id, user_id=member.id or 0))
    _audit(
        session,
        actor,
        "access.member_added",
        f"group {group.name}",
        group_id=group_id,
        username=member.username,
    )
    _done(session)
    return member


def remove_member(*, session: Session, user: User | None, group_id: int, username: str) -> None:
    """Take a user out of a group."""
    actor = _admin(user)
    begin_write(session)
    group = _group(session, group_id)
    member = _user(session, username)
    row = session.get(GroupMember, (group_id, member.id))
    if row is None:
        raise NotFound(f"{member.username} is not in {group.name}.", field="username")
    session.delete(row)
    _audit(
        session,
        actor,
        "access.member_removed",
        f"group {group.name}",
        group_id=group_id,
        username=member.username,
    )
    _done(session)


# --- restrictions and grants -------------------------------------------------------------------


def _restriction(session: Session, restriction_id: int) -> Restriction:
    found = session.get(Restriction, restriction_id)
    if found is None:
        raise NotFound(f"There is no restriction {restriction_id}.", field="restriction_id")
    return found


def _views(session: Session, restrictions: list[Restriction]) -> list[RestrictionView]:
    ids = [r.id or 0 for r in restrictions]
    grants: dict[int, list[GrantView]] = {}
    for grant, group in session.exec(
        select(Grant, Group)
        .join(Group, col(Group.id) == Grant.group_id)
        .where(col(Grant.restriction_id).in_(ids))
        .order_by(func.lower(Group.name))
    ):
        grants.setdefault(grant.restriction_id, []).append(
            GrantView(group=group, level=AccessLevel(grant.level))
        )
    creators = accounts.users_by_id(session=session, ids=[r.created_by_id for r in restrictions])
    out = []
    for r in restrictions:
        creator = creators.get(r.created_by_id or 0)
        out.append(
            RestrictionView(
                restriction=r,
                grants=grants.get(r.id or 0, []),
                pages=len(pages.page_ids_under(session=session, prefix=r.root)),
                created_by=creator.username if creator is not None else None,
            )
        )
    return out


def list_restrictions(*, session: Session, user: User | None) -> list[RestrictionView]:
    """Every restricted subtree with its grants, by root."""
    _admin(user)
    return _views(session, list(session.exec(select(Restriction).order_by(col(Restriction.root)))))


def get_restriction(*, session: Session, user: User | None, restriction_id: int) -> RestrictionView:
    """One restricted subtree with its grants (raises NotFound)."""
    _admin(user)
    return _views(session, [_restriction(session, restriction_id)])[0]


def _rescope(session: Session, root: str) -> int:
    """Re-index the subtree's pages (their search scope changed) and re-render its linkers."""
    ids = pages.page_ids_under(session=session, prefix=root)
    for page_id in ids:
        search.enqueue(session=session, kind="page", ref_id=page_id, cascade=True)
    pages.refresh_links_into(session=session, root=root)
    return len(ids)


def create_restriction(
    *, session: Session, user: User | None, data: RestrictionCreate
) -> Restriction:
    """Close the subtree at ``data.root`` to all but the groups granted later (admins excepted).

    Restrictions may nest: below a restricted subtree, another one narrows it further.
    """
    actor = _admin(user)
    root = data.root.strip().strip("/").lower()
    pages.check_slug(root, field="root")
    note = _clean_text(data.note, "A note", "note")
    begin_write(session)
    if session.exec(select(Restriction.id).where(Restriction.root == root)).first() is not None:
        raise Conflict(f"The subtree {root!r} is already restricted.", field="root")
    restriction = Restriction(root=root, note=note, created_by_id=actor.id)
    session.add(restriction)
    session.flush()
    access.forget(session)  # the re-render below must already see the restriction
    count = _rescope(session, root)
    _audit(
        session,
        actor,
        "access.restriction_created",
        root,
        restriction_id=restriction.id,
        pages=count,
        note=note,
    )
    _done(session)
    return restriction


def delete_restriction(*, session: Session, user: User | None, restriction_id: int) -> None:
    """Open a restricted subtree again (to everyone its role and any outer restriction allow)."""
    actor = _admin(user)
    begin_write(session)
    restriction = _restriction(session, restriction_id)
    root = restriction.root
    groups = session.exec(
        select(Group.name)
        .join(Grant, col(Grant.group_id) == Group.id)
        .where(Grant.restriction_id == restriction_id)
    ).all()
    session.execute(delete(Grant).where(col(Grant.restriction_id) == restriction_id))
    session.delete(restriction)
    session.flush()
    access.forget(session)
    count = _rescope(session, root)
    _audit(
        session,
        actor,
        "access.restriction_deleted",
        root,
        restriction_id=restriction_id,
        pages=count,
        grants_removed=sorted(groups),
    )
    _done(session)


def set_grant(
    *,
    session: Session,
    user: User | None,
    restriction_id: int,
    group_id: int,
    level: AccessLevel,
) -> Grant:
    """Give a group read or edit access to a restricted subtree (replacing what it had)."""
    actor = _admin(user)
    level = AccessLevel(level)
    begin_write(session)
    restriction = _restriction(session, restriction_id)
    group = _group(session, group_id)
    grant = session.get(Grant, (restriction_id, group_id))
    before = None if grant is None else AccessLevel(grant.level)
    if grant is None:
        grant = Grant(restriction_id=restriction_id, group_id=group_id, level=level)
    grant.level = level
    session.add(grant)
    _audit(
        session,
        actor,
        "access.grant_set",
        restriction.root,
        restriction_id=restriction_id,
        group=group.name,
        level=str(level),
        before=None if before is None else str(before),
    )
    _done(session)
    return grant


def remove_grant(
    *, session: Session, user: User | None, restriction_id: int, group_id: int
) -> None:
    """Take a group's access to a restricted subtree away."""
    actor = _admin(user)
    begin_write(session)
    restriction = _restriction(session, restriction_id)
    group = _group(session, group_id)
    grant = session.get(Grant, (restriction_id, group_id))
    if grant is None:
        raise NotFound(
            f"{group.name} has no access to {restriction.root!r} to remove.", field="group_id"
        )
    level = str(grant.level)
    session.delete(grant)
    _audit(
        session,
        actor,
        "access.grant_removed",
        restriction.root,
        restriction_id=restriction_id,
        group=group.name,
        level=level,
    )
    _done(session)


def group_choices(*, session: Session, user: User | None) -> list[Group]:
    """Every group by name (for the grant form's choice)."""
    _admin(user)
    return list(session.exec(select(Group).order_by(func.lower(Group.name))))
