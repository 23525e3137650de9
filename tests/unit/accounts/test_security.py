"""Sign-in hardening: throttling, password rules, token expiry and scopes, revoking sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.accounts import passwords, tokens
from app.accounts import service as accounts
from app.accounts.models import LoginFailure, Role, TokenScope, User
from app.accounts.schemas import UserCreate
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from app.core.time import utcnow
from tests.factories import PASSWORD, make_user

# a clock the tests control; sessions opened "at" T0 still last a day from it
T0 = utcnow()


def _fail(session: Session, username: str, at: datetime, address: str = "10.0.0.1") -> None:
    with pytest.raises(Unauthorized, match="wrong password"):
        accounts.login(
            session=session, username=username, password="not it", days=1, address=address, now=at
        )


def _login(
    session: Session, username: str = "alice", at: datetime = T0, address: str = "10.0.0.1"
) -> accounts.NewSession:
    return accounts.login(
        session=session, username=username, password=PASSWORD, days=1, address=address, now=at
    )


# --- throttling --------------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_for_the_right_password(
    session: Session, editor: User
) -> None:
    for i in range(5):
        _fail(session, "alice", T0 + timedelta(seconds=i))
    with pytest.raises(TooManyRequests) as refused:
        _login(session, at=T0 + timedelta(minutes=1))
    assert str(refused.value) == "Too many failed sign-ins; try again in 15 minutes."
    assert 14 * 60 <= refused.value.retry_after <= 15 * 60
    # the lock is for that account, not for everyone at the address
    make_user(session, username="bob")
    assert _login(session, "bob", at=T0 + timedelta(minutes=1)).user.username == "bob"
    # when the lock-out is over, the right password works again
    assert _login(session, at=T0 + timedelta(minutes=15, seconds=5)).user.id == editor.id


def test_four_failures_do_not_lock_and_success_resets_the_count(
    session: Session, editor: User
) -> None:
    for i in range(4):
        _fail(session, "alice", T0 + timedelta(seconds=i))
    _login(session, at=T0 + timedelta(seconds=10))
    # the count restarted: four more failures still leave the account open
    for i in range(4):
        _fail(session, "alice", T0 + timedelta(seconds=20 + i))
    assert _login(session, at=T0 + timedelta(seconds=30)).user.id == editor.id


def test_failures_older_than_the_window_do_not_count(session: Session, editor: User) -> None:
    for i in range(4):
        _fail(session, "alice", T0 + timedelta(seconds=i))
    _fail(session, "alice", T0 + timedelta(minutes=16))
    assert _login(session, at=T0 + timedelta(minutes=16, seconds=1)).user.id == editor.id


def test_each_further_lockout_within_a_day_lasts_twice_as_long(
    session: Session, editor: User
) -> None:
    for i in range(5):
        _fail(session, "alice", T0 + timedelta(seconds=i))
    later = T0 + timedelta(minutes=16)
    for i in range(5):
        _fail(session, "alice", later + timedelta(seconds=i))
    with pytest.raises(TooManyRequests, match="try again in 30 minutes"):
        _login(session, at=later + timedelta(seconds=10))
    with pytest.raises(TooManyRequests):
        _login(session, at=later + timedelta(minutes=29))
    assert _login(session, at=later + timedelta(minutes=31)).user.id == editor.id


def test_unknown_accounts_are_throttled_like_real_ones(session: Session) -> None:
    for i in range(5):
        _fail(session, "nobody", T0 + timedelta(seconds=i))
    with pytest.raises(TooManyRequests):
        _fail(session, "nobody", T0 + timedelta(seconds=10))


@pytest.mark.usefixtures("editor")
def test_one_address_guessing_at_many_accounts_is_locked(session: Session) -> None:
    # 20 failures spread over accounts (4 each, so no account is locked) lock the address
    for i in range(20):
        _fail(session, f"user{i // 4}", T0 + timedelta(seconds=i), address="203.0.113.9")
    with pytest.raises(TooManyRequests, match="Too many failed sign-ins"):
        _login(session, at=T0 + timedelta(minutes=1), address="203.0.113.9")
    # the same person from elsewhere is not affected
    assert _login(session, at=T0 + timedelta(minutes=1), address="198.51.100.7").user.id
    # a successful sign-in does not reset the address's count
    with pytest.raises(TooManyRequests):
        _login(session, at=T0 + timedelta(minutes=2), address="203.0.113.9")


@pytest.mark.usefixtures("editor")
def test_the_count_is_in_the_database_for_every_process(session: Session) -> None:
    for i in range(5):
        _fail(session, "alice", T0 + timedelta(seconds=i))
    # another process is another session on the same database
    engine = session.get_bind()
    with Session(engine, info=session.info) as other:
        rows = other.exec(select(LoginFailure).where(LoginFailure.account == "alice")).all()
        assert len(rows) == 5
        with pytest.raises(TooManyRequests):
            _login(other, at=T0 + timedelta(minutes=1))


@pytest.mark.usefixtures("editor")
def test_limits_come_from_the_settings(session: Session) -> None:
    settings = session.info["settings"]
    session.info["settings"] = settings.model_copy(
        update={"login_max_failures": 2, "login_lockout_minutes": 3}
    )
    _fail(session, "alice", T0)
    _fail(session, "alice", T0 + timedelta(seconds=1))
    with pytest.raises(TooManyRequests, match="try again in 3 minutes"):
        _login(session, at=T0 + timedelta(seconds=2))


# --- password rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pass1", "at least 12 characters"),
        ("alice", "at least 12 characters"),
        ("alicealice12", "must not be your username"),
        ("Alice1234567", "must not be your username"),
        ("qwertyuiop123", "most commonly used"),
        ("1qaz2wsx3edc", "most commonly used"),
        ("password1234!", "most commonly used"),
        ("Sunshine2026!!", "most commonly used"),
    ],
)
def test_password_rules_refuse_with_a_clear_reason(password: str, reason: str) -> None:
    assert reason in (passwords.problem(password, "alice") or "")


@pytest.mark.parametrize(
    "password", [PASSWORD, "Tangerine-Marmot-Quietly-7", "alice in the blue garden"]
)
def test_good_passwords_pass(password: str) -> None:
    assert passwords.problem(password, "alice") is None


def test_the_common_list_is_the_packaged_one() -> None:
    common = passwords.common_passwords()
    assert len(common) >= 10_000
    assert {"123456", "password", "iloveyou", "qwertyuiop"} <= common


def test_rules_apply_on_create_and_on_every_password_change(session: Session) -> None:
    with pytest.raises(Invalid, match="at least 12"):
        accounts.create_user(session=session, data=UserCreate(username="bob", password="x" * 11))
    with pytest.raises(Invalid, match="username"):
        accounts.create_user(
            session=session, data=UserCreate(username="bobby", password="bobby-bobby1")
        )
    bob = make_user(session, username="bob")
    with pytest.raises(Invalid, match="most commonly used"):
        accounts.set_password(session=session, username="bob", password="baseball123456")
    with pytest.raises(Invalid, match="current password"):
        accounts.change_password(session=session, user=bob, current="nope", new=PASSWORD + "!")
    with pytest.raises(Invalid, match="most commonly used"):
        accounts.change_password(session=session, user=bob, current=PASSWORD, new="iloveyou12345")
    accounts.change_password(session=session, user=bob, current=PASSWORD, new="Marmot-Harbour-91")
    assert accounts.authenticate(session=session, username="bob", password="Marmot-Harbour-91")


def test_changing_ones_password_ends_the_other_sessions(session: Session, editor: User) -> None:
    here, there = _login(session), _login(session)
    accounts.change_password(
        session=session,
        user=editor,
        current=PASSWORD,
        new="Marmot-Harbour-91",
        keep_session=here.token,
    )
    assert accounts.user_for_session(session=session, token=here.token) is not None
    assert accounts.user_for_session(session=session, token=there.token) is None


# --- sessions ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("editor")
def test_login_rotates_the_session_id_and_ends_the_previous_one(session: Session) -> None:
    first = _login(session)
    second = accounts.login(
        session=session, username="alice", password=PASSWORD, days=1, previous=first.token
    )
    assert second.token != first.token
    assert accounts.user_for_session(session=session, token=first.token) is None
    assert accounts.user_for_session(session=session, token=second.token) is not None


def test_log_out_everywhere_ends_every_session(session: Session, editor: User) -> None:
    a, b = _login(session), _login(session)
    make_user(session, username="bob")
    other = _login(session, "bob")
    assert accounts.logout_everywhere(session=session, user=editor) == 2
    assert accounts.user_for_session(session=session, token=a.token) is None
    assert accounts.user_for_session(session=session, token=b.token) is None
    assert accounts.user_for_session(session=session, token=other.token) is not None


def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(
    session: Session, editor: User
) -> None:
    admin = make_user(session, username="root", role=Role.admin)
    signed_in = _login(session)
    _, token = accounts.create_token(session=session, username="alice")
    with pytest.raises(Forbidden):
        accounts.set_active(session=session, actor=editor, username="root", active=False)
    accounts.set_active(session=session, actor=admin, username="alice", active=False)
    assert accounts.user_for_session(session=session, token=signed_in.token) is None
    with pytest.raises(Unauthorized, match="disabled"):
        accounts.user_for_token(session=session, token=token)
    with pytest.raises(Unauthorized):
        _login(session, at=utcnow())
    accounts.set_active(session=session, actor=admin, username="alice", active=True)
    assert _login(session, at=utcnow()).user.id == editor.id
    assert accounts.user_for_token(session=session, token=token).id == editor.id


def test_admins_cannot_lock_themselves_or_the_wiki_out(session: Session) -> None:
    admin = make_user(session, username="root", role=Role.admin)
    with pytest.raises(Conflict, match="your own account"):
        accounts.set_active(session=session, actor=admin, username="root", active=False)
    with pytest.raises(Conflict, match="at least one active administrator"):
        accounts.set_role(session=session, actor=admin, username="root", role=Role.editor)
    make_user(session, username="bob")
    accounts.set_role(session=session, actor=admin, username="bob", role=Role.admin)
    assert accounts.get_user(session=session, username="bob").role == Role.admin
    with pytest.raises(NotFound):
        accounts.set_role(session=session, actor=admin, username="ghost", role=Role.reader)


# --- API tokens --------------------------------------------------------------------------------


@pytest.mark.usefixtures("editor")
def test_tokens_are_stored_hashed(session: Session) -> None:
    row, token = accounts.create_token(session=session, username="alice", scope=TokenScope.read)
    assert token.startswith("atr_")
    assert token not in row.token_hash
    assert row.token_hash == tokens._sha256(token)
    assert row.scopes == "read"


def test_expired_tokens_are_refused_with_a_clear_reason(
    session: Session, editor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = accounts.create_token(session=session, username="alice", days=1)
    assert accounts.user_for_token(session=session, token=token).id == editor.id
    later = utcnow() + timedelta(days=1, minutes=1)
    monkeypatch.setattr(tokens, "utcnow", lambda: later)
    with pytest.raises(Unauthorized, match="expired on"):
        accounts.user_for_token(session=session, token=token)
    with pytest.raises(Invalid):
        accounts.create_token(session=session, username="alice", days=0)


def test_a_read_token_may_read_but_not_write(session: Session, editor: User) -> None:
    _, read = accounts.create_token(session=session, username="alice", scope=TokenScope.read)
    _, write = accounts.create_token(session=session, username="alice", scope=TokenScope.write)
    assert accounts.user_for_token(session=session, token=read, write=False).id == editor.id
    with pytest.raises(Forbidden, match="only has the read scope"):
        accounts.user_for_token(session=session, token=read, write=True)
    assert accounts.user_for_token(session=session, token=write, write=True).id == editor.id


def test_revoked_tokens_stop_at_once_and_only_their_owner_revokes(
    session: Session, editor: User
) -> None:
    row, token = accounts.create_token(session=session, username="alice")
    bob = make_user(session, username="bob")
    with pytest.raises(NotFound):
        accounts.revoke_token(session=session, user=bob, token_id=row.id or 0)
    accounts.revoke_token(session=session, user=editor, token_id=row.id or 0)
    with pytest.raises(Unauthorized, match="revoked"):
        accounts.user_for_token(session=session, token=token)
    with pytest.raises(Unauthorized, match="not known"):
        accounts.user_for_token(session=session, token="atr_made-up")


def test_last_used_is_kept_at_most_every_few_minutes(
    session: Session, editor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    row, token = accounts.create_token(session=session, username="alice")
    assert row.last_used_at is None
    accounts.user_for_token(session=session, token=token)
    first = accounts.list_tokens(session=session, user=editor)[0].last_used_at
    assert first is not None
    accounts.user_for_token(session=session, token=token)
    assert accounts.list_tokens(session=session, user=editor)[0].last_used_at == first
    later = utcnow() + tokens.USE_INTERVAL + timedelta(seconds=1)
    monkeypatch.setattr(tokens, "utcnow", lambda: later)
    accounts.user_for_token(session=session, token=token)
    assert accounts.list_tokens(session=session, user=editor)[0].last_used_at != first


def test_a_token_for_a_username_and_password_is_throttled(session: Session, editor: User) -> None:
    row, token = accounts.token_for_credentials(
        session=session, username="alice", password=PASSWORD, scope=TokenScope.read, days=7
    )
    assert row.scopes == "read"
    assert accounts.user_for_token(session=session, token=token).id == editor.id
    for _ in range(5):
        with pytest.raises(Unauthorized):
            accounts.token_for_credentials(session=session, username="alice", password="nope")
    with pytest.raises(TooManyRequests):
        accounts.token_for_credentials(session=session, username="alice", password=PASSWORD)
