"""Managing groups, members, restricted subtrees and grants: validation, audit, nesting."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from app.access import manage
from app.access import service as access
from app.access.models import AccessLevel, Grant, GroupMember
from app.access.schemas import GroupCreate, GroupUpdate, RestrictionCreate
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.audit.models import AuditEntry
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.search.models import OutboxEvent
from tests.factories import make_page, make_user


@pytest.fixture
def root(session: Session) -> User:
    return make_user(session, username="root", role=Role.admin)


def _audit(session: Session, action: str) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def _team(session: Session, root: User, name: str, *people: User) -> int:
    group = manage.create_group(session=session, user=root, data=GroupCreate(name=name))
    for person in people:
        manage.add_member(
            session=session, user=root, group_id=group.id or 0, username=person.username
        )
    return group.id or 0


def _restrict(session: Session, root: User, slug: str, **grants: AccessLevel) -> int:
    made = manage.create_restriction(session=session, user=root, data=RestrictionCreate(root=slug))
    for group_id, level in grants.items():
        manage.set_grant(
            session=session,
            user=root,
            restriction_id=made.id or 0,
            group_id=int(group_id.removeprefix("g")),
            level=level,
        )
    return made.id or 0


def test_only_admins_manage_access(session: Session, root: User) -> None:
    alice = make_user(session, username="alice", role=Role.facilitator)
    assert accounts.can(root, "access.manage")
    assert not accounts.can(alice, "access.manage")
    with pytest.raises(Forbidden):
        manage.create_group(session=session, user=alice, data=GroupCreate(name="HR"))
    with pytest.raises(Forbidden):
        manage.list_restrictions(session=session, user=alice)
    with pytest.raises(Unauthorized):
        manage.list_groups(session=session, user=None)


def test_groups_and_members_with_clear_refusals(session: Session, root: User) -> None:
    alice = make_user(session, username="alice")
    group = manage.create_group(
        session=session, user=root, data=GroupCreate(name="  HR   team ", description="People")
    )
    assert group.name == "HR team"
    with pytest.raises(Conflict, match="already a group called 'hr TEAM'"):
        manage.create_group(session=session, user=root, data=GroupCreate(name="hr TEAM"))
    session.rollback()
    with pytest.raises(Invalid, match="needs a name"):
        manage.create_group(session=session, user=root, data=GroupCreate(name="   "))
    with pytest.raises(Invalid, match="at most 64"):
        manage.create_group(session=session, user=root, data=GroupCreate(name="x" * 65))
    gid = group.id or 0
    manage.add_member(session=session, user=root, group_id=gid, username="Alice")
    with pytest.raises(Conflict, match="alice is already in HR team"):
        manage.add_member(session=session, user=root, group_id=gid, username="alice")
    session.rollback()
    with pytest.raises(NotFound, match="no user 'nobody'"):
        manage.add_member(session=session, user=root, group_id=gid, username="nobody")
    session.rollback()
    with pytest.raises(NotFound, match="no group 999"):
        manage.add_member(session=session, user=root, group_id=999, username="alice")
    session.rollback()
    view = manage.get_group(session=session, user=root, group_id=gid)
    assert [u.username for u in view.members] == ["alice"]
    assert view.read().members == ["alice"]

    other = manage.create_group(session=session, user=root, data=GroupCreate(name="Board"))
    with pytest.raises(Conflict):
        manage.update_group(
            session=session, user=root, group_id=other.id or 0, data=GroupUpdate(name="hr team")
        )
    session.rollback()
    manage.update_group(session=session, user=root, group_id=gid, data=GroupUpdate(name="People"))
    assert [g.group.name for g in manage.list_groups(session=session, user=root)] == [
        "Board",
        "People",
    ]
    manage.remove_member(session=session, user=root, group_id=gid, username="alice")
    with pytest.raises(NotFound, match="alice is not in People"):
        manage.remove_member(session=session, user=root, group_id=gid, username="alice")
    session.rollback()
    manage.delete_group(session=session, user=root, group_id=gid)
    assert session.exec(select(GroupMember).where(GroupMember.group_id == gid)).all() == []
    assert alice.id is not None


def test_every_change_is_audited(session: Session, root: User) -> None:
    bob = make_user(session, username="bob")
    gid = _team(session, root, "HR", bob)
    rid = _restrict(session, root, "hr", **{f"g{gid}": AccessLevel.edit})
    manage.set_grant(
        session=session, user=root, restriction_id=rid, group_id=gid, level=AccessLevel.read
    )
    manage.remove_grant(session=session, user=root, restriction_id=rid, group_id=gid)
    manage.remove_member(session=session, user=root, group_id=gid, username="bob")
    manage.update_group(session=session, user=root, group_id=gid, data=GroupUpdate(name="People"))
    manage.delete_restriction(session=session, user=root, restriction_id=rid)
    manage.delete_group(session=session, user=root, group_id=gid)
    for action in (
        "access.group_created",
        "access.member_added",
        "access.restriction_created",
        "access.member_removed",
        "access.group_changed",
        "access.restriction_deleted",
        "access.group_deleted",
    ):
        entries = _audit(session, action)
        assert len(entries) == 1, action
        assert entries[0].actor_name == "root"
    granted = _audit(session, "access.grant_set")
    assert [(e.details["level"], e.details["before"]) for e in granted] == [
        ("edit", None),
        ("read", "edit"),
    ]
    assert _audit(session, "access.member_added")[0].details["username"] == "bob"
    assert _audit(session, "access.restriction_created")[0].target == "hr"
    assert _audit(session, "access.group_changed")[0].details["old_name"] == "HR"


def test_restriction_roots_are_checked_and_nest(session: Session, root: User) -> None:
    with pytest.raises(Invalid, match="not a valid page address"):
        manage.create_restriction(
            session=session, user=root, data=RestrictionCreate(root="Not a slug!")
        )
    with pytest.raises(Invalid):
        manage.create_restriction(session=session, user=root, data=RestrictionCreate(root=""))
    made = manage.create_restriction(
        session=session, user=root, data=RestrictionCreate(root="/hr/", note="People data")
    )
    assert made.root == "hr"
    with pytest.raises(Conflict, match="already restricted"):
        manage.create_restriction(session=session, user=root, data=RestrictionCreate(root="hr"))
    session.rollback()
    inner = manage.create_restriction(
        session=session, user=root, data=RestrictionCreate(root="hr/salaries")
    )
    roots = [r.restriction.root for r in manage.list_restrictions(session=session, user=root)]
    assert roots == ["hr", "hr/salaries"]
    with pytest.raises(NotFound):
        manage.set_grant(
            session=session,
            user=root,
            restriction_id=inner.id or 0,
            group_id=12345,
            level=AccessLevel.read,
        )


def test_nesting_needs_a_grant_under_each_restriction(session: Session, root: User) -> None:
    bob = make_user(session, username="bob")
    carol = make_user(session, username="carol")
    hr = _team(session, root, "HR", bob, carol)
    pay = _team(session, root, "Payroll", bob)
    _restrict(session, root, "hr", **{f"g{hr}": AccessLevel.edit})
    _restrict(session, root, "hr/salaries", **{f"g{pay}": AccessLevel.read})
    bob_view = access.access_for(session=session, user=bob)
    carol_view = access.access_for(session=session, user=carol)
    assert bob_view.can_read("hr/salaries/2027")
    assert not bob_view.can_edit("hr/salaries/2027")
    assert bob_view.can_edit("hr/handbook")
    assert carol_view.can_read("hr/handbook")
    assert not carol_view.can_read("hr/salaries")
    anyone = access.access_for(session=session, user=None)
    assert not anyone.can_read("hr")
    assert anyone.can_read("hrm")
    assert anyone.can_read("home")
    assert access.readers_of(session=session, slug="hr/salaries/x") == ["Payroll"]
    assert access.readers_of(session=session, slug="hr/x") == ["HR"]


def test_changes_are_seen_at_once_and_reindex_the_subtree(session: Session, root: User) -> None:
    bob = make_user(session, username="bob")
    make_page(session, slug="hr/handbook", title="Handbook")
    make_page(session, slug="hr/salaries", title="Salaries")
    make_page(session, slug="hrm", title="Not below hr")
    before = session.exec(select(OutboxEvent.id)).all()
    assert access.access_for(session=session, user=bob).can_read("hr/handbook")
    gid = _team(session, root, "HR")
    rid = _restrict(session, root, "hr", **{f"g{gid}": AccessLevel.read})
    # the cached view of bob was dropped: he is outside the group now
    assert not access.access_for(session=session, user=bob).can_read("hr/handbook")
    manage.add_member(session=session, user=root, group_id=gid, username="bob")
    assert access.access_for(session=session, user=bob).can_read("hr/handbook")
    queued = session.exec(
        select(OutboxEvent.ref_id).where(
            OutboxEvent.kind == "page", col(OutboxEvent.id).not_in(before)
        )
    ).all()
    view = manage.get_restriction(session=session, user=root, restriction_id=rid)
    assert view.pages == 2
    assert len(set(queued)) == 2  # the two pages under hr, not hrm
    manage.delete_group(session=session, user=root, group_id=gid)
    assert session.exec(select(Grant).where(Grant.group_id == gid)).all() == []
    assert not access.access_for(session=session, user=bob).can_read("hr/handbook")


def test_the_system_actor_does_not_share_the_anonymous_view(session: Session, root: User) -> None:
    _restrict(session, root, "hr")
    assert not access.access_for(session=session, user=None).can_read("hr")
    assert access.access_for(session=session, user=accounts.system_actor()).can_read("hr")
    assert not access.access_for(session=session, user=None).can_read("hr")
