"""Accounts: users, password sign-in, server-side sessions, API tokens and permissions."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.accounts.models import ApiToken, LoginSession, Role, User
from app.accounts.schemas import UserCreate
from app.core.db import begin_write
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.core.time import as_utc, utcnow

_hasher = PasswordHash((Argon2Hasher(),))
# verifying against this keeps the time of a sign-in with an unknown user like a known one's
_DUMMY_HASH = _hasher.hash("atrium-timing-equaliser")
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)

# --- permissions -----------------------------------------------------------------------------

# What each role may do; anonymous visitors may only read (and only when public reading is on,
# which the request layer enforces before any service runs).
_EDIT = {"page.create", "page.edit", "page.move", "page.revert", "page.delete", "page.undelete"}
# readers take part in discussions: they comment, resolve their own threads, edit their comments
_TALK = {"comment.create"}
# editors may also resolve or reopen anyone's thread; facilitators and admins moderate
_TRIAGE = {"thread.resolve_any"}
_MODERATE = {"comment.moderate"}
# every signed-in user may watch pages and read their own inbox
_NOTIFY = {"page.watch", "notification.read"}
# workshops: members (of any role) add ideas, vote and respond — checked against membership in
# the workshops service; editors may also put proposals; facilitators and admins create and run
# workshops and record decisions
_TAKE_PART = {"workshop.take_part", "proposal.respond"}
_PROPOSE = {"proposal.create"}
_FACILITATE = {"workshop.create", "workshop.run", "decision.record"}
_ALL_READ = {"page.read", "token.own"}
PERMISSIONS: dict[Role | None, frozenset[str]] = {
    None: frozenset({"page.read"}),
    Role.reader: frozenset({*_ALL_READ, *_TALK, *_NOTIFY, *_TAKE_PART}),
    Role.editor: frozenset(
        {*_ALL_READ, *_EDIT, *_TALK, *_TRIAGE, *_NOTIFY, *_TAKE_PART, *_PROPOSE}
    ),
    Role.facilitator: frozenset(
        {
            *_ALL_READ,
            *_EDIT,
            *_TALK,
            *_TRIAGE,
            *_MODERATE,
            *_NOTIFY,
            *_TAKE_PART,
            *_PROPOSE,
            *_FACILITATE,
        }
    ),
    Role.admin: frozenset(
        {
            *_ALL_READ,
            "user.manage",
            "webhook.manage",  # webhooks see every change: only admins register them
            *_EDIT,
            *_TALK,
            *_TRIAGE,
            *_MODERATE,
            *_NOTIFY,
            *_TAKE_PART,
            *_PROPOSE,
            *_FACILITATE,
        }
    ),
}


def can(user: User | None, action: str) -> bool:
    """Whether ``user`` (None for anonymous) may perform ``action``."""
    if user is not None and not user.is_active:
        return False
    return action in PERMISSIONS[user.role if user is not None else None]


def require(user: User | None, action: str) -> User | None:
    """Raise Unauthorized/Forbidden unless ``user`` may perform ``action``."""
    if can(user, action):
        return user
    if user is None:
        raise Unauthorized("Please sign in to do this.")
    raise Forbidden(f"Your role ({user.role}) does not allow this ({action}).")


def require_user(user: User | None, action: str) -> User:
    """Like require(), for actions only a signed-in user can do; returns the user."""
    require(user, action)
    if user is None:  # pragma: no cover - require() already refused anonymous
        raise Unauthorized("Please sign in to do this.")
    return user


# --- users -------------------------------------------------------------------------------------


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_user(*, session: Session, data: UserCreate) -> User:
    """Create a user with a hashed password."""
    begin_write(session)
    if session.exec(select(User).where(User.username == data.username)).first():
        raise Conflict(f"The username {data.username!r} is taken.")
    user = User(
        username=data.username,
        display_name=data.display_name,
        email=data.email,
        role=data.role,
        password_hash=_hasher.hash(data.password),
    )
    session.add(user)
    session.commit()
    return user


def get_user(*, session: Session, username: str) -> User:
    """The user with this username (raises NotFound)."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


def count_users(*, session: Session) -> int:
    """How many users exist."""
    return len(session.exec(select(User.id)).all())


def set_password(*, session: Session, username: str, password: str) -> User:
    """Set a user's password and end all their sessions."""
    if len(password) < 10:
        raise Invalid("A password needs at least 10 characters.")
    begin_write(session)
    user = get_user(session=session, username=username)
    user.password_hash = _hasher.hash(password)
    session.add(user)
    for row in session.exec(select(LoginSession).where(LoginSession.user_id == user.id)):
        session.delete(row)
    session.commit()
    return user


def generate_password() -> str:
    """A strong random one-time password."""
    return secrets.token_urlsafe(15)


def ensure_admin(*, session: Session) -> tuple[User, str] | None:
    """Create an admin with a one-time password when there is no user at all."""
    if count_users(session=session) > 0:
        return None
    password = generate_password()
    user = create_user(
        session=session,
        data=UserCreate(username="admin", password=password, role=Role.admin, display_name="Admin"),
    )
    return user, password


# --- sign-in sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    token: str  # goes into the cookie; only its hash is stored
    user: User


def authenticate(*, session: Session, username: str, password: str) -> User:
    """The user whose credentials these are (raises Unauthorized with one vague message)."""
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None or not user.password_hash:
        _hasher.verify(password, _DUMMY_HASH)
        raise Unauthorized("Unknown username or wrong password.")
    valid, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not valid or not user.is_active:
        raise Unauthorized("Unknown username or wrong password.")
    if new_hash:
        begin_write(session)
        user.password_hash = new_hash
        session.add(user)
        session.commit()
    return user


def login(
    *, session: Session, username: str, password: str, days: int, user_agent: str = ""
) -> NewSession:
    """Check the credentials and open a new server-side session (a fresh id every sign-in)."""
    user = authenticate(session=session, username=username, password=password)
    token = secrets.token_urlsafe(32)
    begin_write(session)
    session.add(
        LoginSession(
            id_hash=_sha256(token),
            user_id=user.id,  # type: ignore[arg-type]
            expires_at=utcnow() + timedelta(days=days),
            user_agent=user_agent[:255],
        )
    )
    session.commit()
    return NewSession(token=token, user=user)


def logout(*, session: Session, token: str) -> None:
    """End the session behind this cookie value."""
    begin_write(session)
    row = session.get(LoginSession, _sha256(token))
    if row is not None:
        session.delete(row)
    session.commit()


def user_for_session(*, session: Session, token: str) -> User | None:
    """The active user behind a session cookie, or None if it is unknown or expired."""
    row = session.get(LoginSession, _sha256(token))
    if row is None:
        return None
    now = utcnow()
    if as_utc(row.expires_at) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - as_utc(row.last_seen_at) > SESSION_TOUCH_INTERVAL:
        begin_write(session)
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return user


# --- API tokens ----------------------------------------------------------------------------


def create_token(
    *, session: Session, username: str, name: str = "", days: int | None = None
) -> tuple[ApiToken, str]:
    """Create an API bearer token for a user; returns the row and the token (shown once)."""
    user = get_user(session=session, username=username)
    token = "atr_" + secrets.token_urlsafe(32)
    begin_write(session)
    row = ApiToken(
        user_id=user.id,  # type: ignore[arg-type]
        name=name,
        token_hash=_sha256(token),
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.commit()
    return row, token


def user_for_token(*, session: Session, token: str) -> User:
    """The active user a bearer token belongs to (raises Unauthorized)."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _sha256(token))).first()
    now = utcnow()
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and as_utc(row.expires_at) <= now)
    ):
        raise Unauthorized("The API token is unknown, expired or revoked.")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("The API token's user is disabled.")
    return user


def list_users(*, session: Session) -> list[User]:
    """All users by username."""
    return list(session.exec(select(User).order_by(col(User.username))))


def system_actor() -> User:
    """The unsaved actor for work the system does itself (seed import); not attributed to anyone."""
    return User(username="atrium", display_name="Atrium", role=Role.admin)


def users_by_id(*, session: Session, ids: Iterable[int | None]) -> dict[int, User]:
    """The users with these ids, by id (unknown ids are left out)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id or 0: u for u in session.exec(select(User).where(col(User.id).in_(wanted)))}


def users_by_username(*, session: Session, names: Iterable[str]) -> dict[str, User]:
    """The active users with these usernames (case-insensitive), by lower-case username."""
    wanted = {n.lower() for n in names}
    if not wanted:
        return {}
    rows = session.exec(select(User).where(func.lower(User.username).in_(wanted)))
    return {u.username.lower(): u for u in rows if u.is_active}


def suggest_users(*, session: Session, prefix: str, limit: int = 8) -> list[User]:
    """Active users whose username or display name starts with ``prefix`` (for @mentions)."""
    prefix = prefix.strip().lower()
    stmt = select(User).where(col(User.is_active).is_(True))
    if prefix:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                func.lower(User.username).like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    return list(session.exec(stmt.order_by(col(User.username)).limit(limit)))
