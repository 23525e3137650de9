"""The audit log: an entry for every kind of event, append only, filters and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Role, TokenScope, User
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.audit.schemas import AuditQuery
from app.core.db import is_sqlite
from app.core.errors import Forbidden, Unauthorized
from app.core.time import utcnow
from app.discussions import service as discussions
from app.discussions.schemas import ThreadCreate
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.factories import PASSWORD, make_page, make_user


def _actions(session: Session) -> list[str]:
    session.commit()  # see what other transactions committed
    return list(session.exec(select(AuditEntry.action).order_by(col(AuditEntry.id))))


@pytest.fixture
def admin(session: Session) -> User:
    return make_user(session, username="root", role=Role.admin)


def test_account_events_are_recorded(session: Session, admin: User) -> None:
    alice = make_user(session, username="alice")
    s = accounts.login(
        session=session, username="alice", password=PASSWORD, days=1, address="1.2.3.4"
    )
    with pytest.raises(Unauthorized):
        accounts.login(
            session=session, username="alice", password="wrong", days=1, address="5.6.7.8"
        )
    accounts.logout(session=session, token=s.token, address="1.2.3.4")
    accounts.logout_everywhere(session=session, user=alice)
    accounts.set_role(session=session, actor=admin, username="alice", role=Role.facilitator)
    accounts.set_active(session=session, actor=admin, username="alice", active=False)
    accounts.set_active(session=session, actor=admin, username="alice", active=True)
    accounts.set_password(session=session, username="alice", password="Marmot-Harbour-91")
    row, token = accounts.create_token(session=session, username="alice", scope=TokenScope.read)
    accounts.user_for_token(session=session, token=token, address="9.9.9.9")
    accounts.user_for_token(session=session, token=token, address="9.9.9.9")  # not again
    accounts.revoke_token(session=session, user=alice, token_id=row.id or 0)
    assert _actions(session) == [
        "user.created",  # root
        "user.created",  # alice
        "user.signed_in",
        "user.sign_in_failed",
        "user.signed_out",
        "user.signed_out_everywhere",
        "user.role_changed",
        "user.disabled",
        "user.enabled",
        "user.password_changed",
        "token.created",
        "token.used",
        "token.revoked",
    ]
    entries = {e.action: e for e in session.exec(select(AuditEntry))}
    failed = entries["user.sign_in_failed"]
    assert (failed.actor_id, failed.actor_name, failed.target, failed.address) == (
        None,
        "alice",
        "alice",
        "5.6.7.8",
    )
    assert entries["user.signed_in"].actor_id == alice.id
    assert entries["user.signed_in"].address == "1.2.3.4"
    assert entries["user.role_changed"].actor_name == "root"
    assert entries["user.role_changed"].details == {"from": "editor", "to": "facilitator"}
    assert entries["token.used"].address == "9.9.9.9"
    assert entries["token.created"].details["scopes"] == "read"


def test_a_failed_sign_in_is_recorded_though_the_sign_in_fails(session: Session) -> None:
    with pytest.raises(Unauthorized):
        accounts.login(
            session=session, username="mallory", password="guess", days=1, address="6.6.6.6"
        )
    session.rollback()  # whatever the caller does afterwards, the entry was committed
    with Session(session.get_bind()) as other:
        rows = other.exec(select(AuditEntry)).all()
        assert [(r.action, r.target, r.address) for r in rows] == [
            ("user.sign_in_failed", "mallory", "6.6.6.6")
        ]


def test_domain_events_are_recorded_in_their_transaction(session: Session) -> None:
    alice = make_user(session, username="alice")
    page = make_page(session, slug="core/r2v", body="one\n", author=alice)
    pages.save_page(
        session=session,
        slug="core/r2v",
        edit=PageEdit(base=1, title=page.title, body="two\n"),
        author=alice,
    )
    pages.move_page(session=session, slug="core/r2v", new_slug="core/req", author=alice)
    thread = discussions.open_thread(
        session=session, slug="core/req", data=ThreadCreate(body="Why?"), author=alice
    )
    pages.delete_page(session=session, slug="core/req", author=alice)
    actions = _actions(session)
    assert actions[1:] == [
        "page.saved",
        "page.saved",
        "page.moved",
        "thread.opened",
        "page.deleted",
    ]
    rows = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))
    moved = rows[3]
    assert (moved.actor_id, moved.actor_name, moved.target) == (alice.id, "alice", "core/req")
    assert moved.details["moved_from"] == "core/r2v"
    assert rows[4].target == f"core/req thread {thread.id}"


def test_there_is_no_way_to_change_or_remove_an_entry(session: Session, admin: User) -> None:
    mutators = [
        n for n in dir(audit) if n.split("_")[0] in {"update", "delete", "remove", "edit", "purge"}
    ]
    assert mutators == []
    if is_sqlite(session):
        return  # the trigger is PostgreSQL's; SQLite relies on the service having no path
    with pytest.raises(DBAPIError, match="append-only"):
        session.connection().execute(text("UPDATE audit_entry SET action = 'x'"))
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.connection().execute(text("DELETE FROM audit_entry"))
    session.rollback()
    assert _actions(session) == ["user.created"]
    assert admin.id


def _seed(session: Session) -> None:
    base = datetime(2026, 3, 1, 12, 0, tzinfo=utcnow().tzinfo)
    rows = [
        ("alice", "user.signed_in", "alice", 0),
        ("alice", "page.saved", "core/r2v", 1),
        ("bob", "page.deleted", "core/old", 2),
        ("bob", "user.sign_in_failed", "bob", 10),
        ("carol", "page.moved", "handbook/intro", 31),
    ]
    for actor, action, target, day in rows:
        session.add(
            AuditEntry(
                actor_name=actor, action=action, target=target, at=base + timedelta(days=day)
            )
        )
    session.commit()


def _list(session: Session, user: User, **kw: object) -> list[str]:
    result = audit.list_entries(session=session, user=user, flt=AuditQuery(**kw))
    return [f"{e.actor_name}:{e.action}" for e in result.entries]


def test_filters(session: Session, admin: User) -> None:
    _seed(session)
    assert _list(session, admin, actor="BOB") == ["bob:user.sign_in_failed", "bob:page.deleted"]
    assert _list(session, admin, action="page") == [
        "carol:page.moved",
        "bob:page.deleted",
        "alice:page.saved",
    ]
    assert _list(session, admin, action="page.saved") == ["alice:page.saved"]
    assert _list(session, admin, target="CORE/") == ["bob:page.deleted", "alice:page.saved"]
    # both ends inclusive: 12:00 on 11 March is in, 1 March and 1 April are out
    assert _list(session, admin, since=date(2026, 3, 2), until=date(2026, 3, 11)) == [
        "bob:user.sign_in_failed",
        "bob:page.deleted",
        "alice:page.saved",
    ]
    assert _list(session, admin, until=date(2026, 3, 10)) == [
        "bob:page.deleted",
        "alice:page.saved",
        "alice:user.signed_in",
    ]
    assert _list(session, admin, actor="alice", action="user") == ["alice:user.signed_in"]
    assert _list(session, admin, target="100%_") == []


def test_paging(session: Session, admin: User) -> None:
    for i in range(audit.PAGE_SIZE + 5):
        audit.record(session=session, action="page.saved", actor_name="bot", target=f"p{i}")
    session.commit()
    first = audit.list_entries(session=session, user=admin, flt=AuditQuery(actor="bot"))
    second = audit.list_entries(session=session, user=admin, flt=AuditQuery(actor="bot"), page=2)
    assert (first.total, first.pages, len(first.entries)) == (
        audit.PAGE_SIZE + 5,
        2,
        audit.PAGE_SIZE,
    )
    assert [e.target for e in second.entries] == ["p4", "p3", "p2", "p1", "p0"]


def test_only_admins_read_or_export(session: Session) -> None:
    editor = make_user(session, username="alice", role=Role.editor)
    with pytest.raises(Unauthorized):
        audit.list_entries(session=session, user=None, flt=AuditQuery())
    with pytest.raises(Forbidden, match="Only administrators"):
        audit.list_entries(session=session, user=editor, flt=AuditQuery())
    with pytest.raises(Forbidden):
        list(audit.export_csv(session=session, user=editor, flt=AuditQuery()))


def test_csv_export_escapes_and_defuses_formulas(session: Session, admin: User) -> None:
    audit.record(session=session, action="page.saved", actor_name="eve", target='=HYPERLINK("x")')
    audit.record(
        session=session,
        action="page.saved",
        actor_name="eve",
        target='a, "quoted"\nsecond line',
        details={"summary": "@SUM(A1)", "n": 1},
    )
    audit.record(session=session, action="user.signed_in", actor_name="+bob", target="-1+1")
    session.commit()
    chunks = list(audit.export_csv(session=session, user=admin, flt=AuditQuery(), batch=2))
    assert len(chunks) >= 2  # streamed in batches
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert rows[0] == list(audit.CSV_HEADER)
    body = rows[1:]
    assert [r[3] for r in body] == ["user.created", "page.saved", "page.saved", "user.signed_in"]
    assert body[1][4] == '\'=HYPERLINK("x")'
    assert body[2][4] == 'a, "quoted"\nsecond line'
    assert body[2][6] == '{"n": 1, "summary": "@SUM(A1)"}'
    assert (body[3][2], body[3][4]) == ("'+bob", "'-1+1")
    only = list(
        csv.reader(
            io.StringIO(
                "".join(audit.export_csv(session=session, user=admin, flt=AuditQuery(actor="+bob")))
            )
        )
    )
    assert len(only) == 2
