"""Finding, linking and creating the account behind a checked identity (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import LoginSession, Role
from app.audit.models import AuditEntry
from app.core.config import Settings
from app.core.db import open_session
from app.sso import service
from app.sso.models import SsoLink
from app.sso.oidc import Identity, SsoFailed
from tests.factories import make_user

ISSUER = "https://id.example"
CAROL = Identity(
    issuer=ISSUER,
    subject="sub-carol",
    email="carol@example.com",
    email_verified=True,
    username="Carol.S",
    name="Carol Smith",
)


def actions(session: Session) -> list[str]:
    return [e.action for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))]


def test_first_sign_in_creates_then_finds(session: Session) -> None:
    first = service.sign_in(session=session, identity=CAROL, address="10.0.0.1")
    assert first.user.username == "carol.s"
    assert first.user.role == Role.reader
    assert first.user.display_name == "Carol Smith"
    again = service.sign_in(session=session, identity=CAROL)
    assert again.user.id == first.user.id
    assert again.token != first.token
    assert len(session.exec(select(LoginSession)).all()) == 2
    assert accounts.user_for_session(session=session, token=again.token) == first.user
    assert actions(session) == ["user.created", "user.signed_in", "user.signed_in"]
    assert service.linked_user_ids(session=session, user_ids=[first.user.id, 999]) == {
        first.user.id
    }


def test_same_subject_of_another_issuer_is_another_person(session: Session) -> None:
    one = service.sign_in(session=session, identity=CAROL)
    other = Identity(issuer="https://other.example", subject="sub-carol", username="carol")
    assert service.sign_in(session=session, identity=other).user.id != one.user.id


def test_role_of_new_accounts_is_configurable(engine: Engine, settings: Settings) -> None:
    editors = settings.model_copy(update={"oidc_default_role": "editor"})
    with open_session(engine, editors) as session:
        assert service.sign_in(session=session, identity=CAROL).user.role == Role.editor


def test_email_shared_by_two_accounts_is_refused(session: Session) -> None:
    for name in ("alice", "alicia"):
        user = make_user(session, username=name)
        user.email = "carol@example.com"
        session.add(user)
    session.commit()
    with pytest.raises(SsoFailed, match="More than one Atrium account"):
        service.sign_in(session=session, identity=CAROL)
    assert session.exec(select(SsoLink)).all() == []
    assert actions(session)[-1] == "user.sign_in_failed"


def test_linked_account_is_not_taken_by_a_second_identity(session: Session) -> None:
    alice = make_user(session, username="alice")
    alice.email = "carol@example.com"
    session.add(alice)
    session.commit()
    assert service.sign_in(session=session, identity=CAROL).user.id == alice.id
    newcomer = Identity(
        issuer=ISSUER, subject="sub-someone-else", email="carol@example.com", email_verified=True
    )
    with pytest.raises(SsoFailed, match="already linked"):
        service.sign_in(session=session, identity=newcomer)
    assert len(session.exec(select(SsoLink)).all()) == 1


def test_no_creation_when_it_is_off(engine: Engine, settings: Settings) -> None:
    closed = settings.model_copy(update={"oidc_allow_create": False})
    with open_session(engine, closed) as session:
        with pytest.raises(SsoFailed, match="no Atrium account for you"):
            service.sign_in(session=session, identity=CAROL)
        assert accounts.list_users(session=session) == []
        assert actions(session) == ["user.sign_in_failed"]


def test_disabled_account_is_refused_and_nothing_is_written(session: Session) -> None:
    admin = make_user(session, username="root", role=Role.admin)
    carol = service.sign_in(session=session, identity=CAROL).user
    accounts.set_active(session=session, actor=admin, username=carol.username, active=False)
    with pytest.raises(SsoFailed, match="disabled"):
        service.sign_in(session=session, identity=CAROL)
    assert len(session.exec(select(LoginSession)).all()) == 0  # ended when she was disabled


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("Carol Smith!", "carol-smith"),
        ("carol@example.com", "carol-example.com"),
        ("x", "user"),
        ("", "user"),
        ("Élodie Müller", "elodie-muller"),
        ("taken", "taken-3"),
    ],
)
def test_free_username(session: Session, wanted: str, expected: str) -> None:
    make_user(session, username="taken")
    make_user(session, username="taken-2")
    assert accounts.free_username(session=session, wanted=wanted) == expected


def test_username_from_email_when_no_preferred_username(session: Session) -> None:
    anon = Identity(issuer=ISSUER, subject="s", email="dave.x@example.com", email_verified=False)
    new = service.sign_in(session=session, identity=anon)
    assert new.user.username == "dave.x"
    assert new.user.email is None  # an unverified address is not kept on the account
