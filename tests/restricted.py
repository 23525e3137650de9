"""Restricted subtrees for tests, written straight into the access tables.

What the access management service does, minus its checks and audit: the rows, ``forget`` so the
session sees them, and the pages under the root re-queued for search (with their discussions).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, delete, select

from app.access import service as access
from app.access.models import AccessLevel, Grant, Group, GroupMember, Restriction
from app.accounts.models import User
from app.pages import service as pages
from app.search import service as search


def _rescope(session: Session, root: str) -> None:
    for page_id in pages.page_ids_under(session=session, prefix=root):
        search.enqueue(session=session, kind="page", ref_id=page_id, cascade=True)


def restrict(
    session: Session,
    root: str,
    *,
    readers: Iterable[User] = (),
    editors: Iterable[User] = (),
    group: str = "",
) -> Restriction:
    """Close the subtree at ``root`` to all but a group of ``readers`` and ``editors``."""
    name = group or f"team-{root.replace('/', '-')}"
    team = Group(name=name)
    restriction = Restriction(root=root)
    session.add_all([team, restriction])
    session.flush()
    grants = [(team, AccessLevel.read, list(readers))]
    if editors:
        grants.append((Group(name=name + "-editors"), AccessLevel.edit, list(editors)))
    for grantee, level, people in grants:
        session.add(grantee)
        session.flush()
        for person in people:
            session.add(GroupMember(group_id=grantee.id or 0, user_id=person.id or 0))
        session.add(
            Grant(restriction_id=restriction.id or 0, group_id=grantee.id or 0, level=level)
        )
    _rescope(session, root)
    session.commit()
    access.forget(session)
    return restriction


def lift(session: Session, root: str) -> None:
    """Remove the restriction at ``root`` (its grants go with it)."""
    found = session.exec(select(Restriction).where(Restriction.root == root)).one()
    session.execute(delete(Grant).where(col(Grant.restriction_id) == found.id))
    session.delete(found)
    _rescope(session, root)
    session.commit()
    access.forget(session)


def join(session: Session, user: User, group: str) -> None:
    """Add ``user`` to the group named ``group``."""
    team = session.exec(select(Group).where(Group.name == group)).one()
    session.add(GroupMember(group_id=team.id or 0, user_id=user.id or 0))
    session.commit()
    access.forget(session)
