"""Accounts: users, password sign-in, server-side sessions, API tokens and permissions."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.accounts import passwords, throttle, tokens
from app.accounts.models import ApiToken, LoginSession, Role, TokenScope, User
from app.accounts.schemas import UserCreate
from app.audit import service as audit
from app.core.db import begin_write, settings_of
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from app.core.time import as_utc, utcnow

_hasher = PasswordHash((Argon2Hasher(),))
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)


@cache
def _dummy_hash() -> str:
    """A hash to verify against, so a sign-in with an unknown user takes as long as a known one's.

    Made at the first such sign-in, not at import: Argon2 uses 64 MiB for a hash, which every
    process importing this module (the ``atrium serve`` supervisor included) kept as its peak RSS.
    """
    return _hasher.hash("atrium-timing-equaliser")


# --- permissions -----------------------------------------------------------------------------

# What each role may do; anonymous visitors may only read (and only when public reading is on,
# which the request layer enforces before any service runs).
# page.steward: set a page's owners, review status and date, mark it reviewed (its owners may
# too, whatever their role: checked against ownership in the reviews service)
_EDIT = {
    "page.create",
    "page.edit",
    "page.move",
    "page.revert",
    "page.delete",
    "page.undelete",
    "page.steward",
}
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
            "audit.read",
            "webhook.manage",  # webhooks see every change: only admins register them
            "access.manage",  # groups, restricted subtrees and their grants
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


def create_user(*, session: Session, data: UserCreate, actor: User | None = None) -> User:
    """Create a user with a hashed password that follows the password rules."""
    passwords.check(data.password, data.username)
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
    session.flush()
    audit.record(
        session=session,
        action="user.created",
        actor=actor if actor is not None and actor.id is not None else None,
        target=user.username,
        details={"role": str(user.role)},
    )
    session.commit()
    return user


def add_external_user(
    *, session: Session, username: str, display_name: str, email: str | None, role: Role
) -> User:
    """Add a user who signs in through single sign-on (no password) to the caller's transaction.

    The username must be free (see ``free_username``); the caller has begun the write and
    commits. An empty password hash means the password form never lets this user in.
    """
    user = User(username=username, display_name=display_name[:120], email=email, role=role)
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        action="user.created",
        target=user.username,
        details={"role": str(user.role), "via": "single sign-on"},
    )
    return user


def free_username(*, session: Session, wanted: str) -> str:
    """A username that follows the rules and is not taken, as close to ``wanted`` as it can be."""
    ascii_only = unicodedata.normalize("NFKD", wanted).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9_.-]+", "-", ascii_only.strip().lower()).strip("-._")[:56]
    if len(base) < 2:
        base = "user"
    taken = {
        name.lower()
        for name in session.exec(
            select(User.username).where(func.lower(User.username).like(f"{base}%"))
        )
    }
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def find_users_by_email(*, session: Session, email: str) -> list[User]:
    """The users whose e-mail address is ``email`` (case-insensitive)."""
    wanted = email.strip().lower()
    if not wanted:
        return []
    return list(session.exec(select(User).where(func.lower(User.email) == wanted)))


def get_user(*, session: Session, username: str) -> User:
    """The user with this username (raises NotFound)."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


def count_users(*, session: Session) -> int:
    """How many users exist."""
    return len(session.exec(select(User.id)).all())


def _end_sessions(session: Session, user_id: int | None, keep: str | None = None) -> int:
    rows = session.exec(select(LoginSession).where(LoginSession.user_id == user_id)).all()
    ended = 0
    for row in rows:
        if keep is None or row.id_hash != _sha256(keep):
            session.delete(row)
            ended += 1
    return ended


def set_password(
    *, session: Session, username: str, password: str, actor: User | None = None
) -> User:
    """Set a user's password (checked against the rules) and end all their sessions."""
    passwords.check(password, username)
    begin_write(session)
    user = get_user(session=session, username=username)
    user.password_hash = _hasher.hash(password)
    session.add(user)
    _end_sessions(session, user.id)
    audit.record(
        session=session,
        action="user.password_changed",
        actor=actor if actor is not None and actor.id is not None else None,
        target=user.username,
        details={"by": "administrator" if actor is not None else "command line"},
    )
    session.commit()
    return user


def change_password(
    *, session: Session, user: User, current: str, new: str, keep_session: str | None = None
) -> None:
    """A user changes their own password; their other sessions end (this one may stay)."""
    if not user.password_hash or not _hasher.verify(current, user.password_hash):
        raise Invalid("The current password is not right.")
    passwords.check(new, user.username)
    begin_write(session)
    me = session.get(User, user.id)
    if me is None:  # pragma: no cover - the user was just resolved from their session
        raise NotFound("No such user.")
    me.password_hash = _hasher.hash(new)
    session.add(me)
    ended = _end_sessions(session, me.id, keep=keep_session)
    audit.record(
        session=session,
        action="user.password_changed",
        actor=me,
        target=me.username,
        details={"by": "self", "sessions_ended": ended},
    )
    session.commit()


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


def _managed_user(session: Session, actor: User | None, username: str) -> tuple[User, User]:
    me = require_user(actor, "user.manage")
    begin_write(session)
    user = get_user(session=session, username=username)
    return me, user


def _other_active_admins(session: Session, user_id: int | None) -> int:
    return len(
        session.exec(
            select(User.id).where(
                User.role == Role.admin, col(User.is_active).is_(True), User.id != user_id
            )
        ).all()
    )


def set_active(*, session: Session, actor: User | None, username: str, active: bool) -> User:
    """An admin disables a user (their sessions end and their tokens stop working) or enables."""
    me, user = _managed_user(session, actor, username)
    if not active and user.id == me.id:
        raise Conflict("You cannot disable your own account.")
    if user.is_active == active:
        session.commit()
        return user
    user.is_active = active
    session.add(user)
    ended = 0 if active else _end_sessions(session, user.id)
    audit.record(
        session=session,
        action="user.enabled" if active else "user.disabled",
        actor=me,
        target=user.username,
        details={} if active else {"sessions_ended": ended},
    )
    session.commit()
    return user


def set_role(*, session: Session, actor: User | None, username: str, role: Role) -> User:
    """An admin changes a user's role (the last active admin keeps theirs)."""
    me, user = _managed_user(session, actor, username)
    if user.role == role:
        session.commit()
        return user
    if user.role == Role.admin and _other_active_admins(session, user.id) == 0:
        raise Conflict("The wiki needs at least one active administrator.")
    old = user.role
    user.role = role
    session.add(user)
    audit.record(
        session=session,
        action="user.role_changed",
        actor=me,
        target=user.username,
        details={"from": str(old), "to": str(role)},
    )
    session.commit()
    return user


# --- sign-in sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    token: str  # goes into the cookie; only its hash is stored
    user: User


_VAGUE = "Unknown username or wrong password."


def _verify(session: Session, username: str, password: str) -> User | None:
    """The user whose credentials these are, or None (in about the same time either way)."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.password_hash:
        _hasher.verify(password, _dummy_hash())
        return None
    valid, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not valid or not user.is_active:
        return None
    if new_hash:
        user.password_hash = new_hash  # stored with the sign-in's commit
    return user


def authenticate(
    *,
    session: Session,
    username: str,
    password: str,
    address: str = "",
    now: datetime | None = None,
) -> User:
    """The user whose credentials these are; throttled per account and per client address.

    Raises TooManyRequests while locked out, Unauthorized (one vague message) otherwise. A
    failure is counted and audited in its own commit before the error is raised.
    """
    now = now or utcnow()
    account = username.strip().lower()[:64]
    settings = settings_of(session)
    if settings.oidc_enabled and settings.oidc_only:
        raise Unauthorized(
            f"Password sign-in is off on this wiki: sign in with {settings.oidc_provider_name}."
        )
    try:
        throttle.check(
            session=session, settings=settings, account=account, address=address, now=now
        )
    except TooManyRequests:
        begin_write(session)
        audit.record(
            session=session,
            action="user.sign_in_refused",
            actor_name=account,
            target=account,
            address=address,
            details={"reason": "throttled"},
        )
        session.commit()
        raise
    user = _verify(session, account, password)
    begin_write(session)
    if user is None:
        throttle.record_failure(session=session, account=account, address=address, now=now)
        audit.record(
            session=session,
            action="user.sign_in_failed",
            actor_name=account,
            target=account,
            address=address,
        )
        session.commit()
        raise Unauthorized(_VAGUE)
    throttle.clear_account(session=session, account=account)
    session.add(user)
    return user  # the caller's write transaction goes on


def login(
    *,
    session: Session,
    username: str,
    password: str,
    days: int,
    user_agent: str = "",
    address: str = "",
    previous: str | None = None,
    now: datetime | None = None,
) -> NewSession:
    """Check the credentials and open a new server-side session (a fresh id every sign-in).

    ``previous`` is the session cookie the browser had, if any: it is ended, so a session id
    planted before sign-in never becomes a signed-in one.
    """
    user = authenticate(
        session=session, username=username, password=password, address=address, now=now
    )
    new = add_session(
        session=session,
        user=user,
        days=days,
        user_agent=user_agent,
        address=address,
        previous=previous,
        now=now,
    )
    session.commit()
    return new


def add_session(
    *,
    session: Session,
    user: User,
    days: int,
    user_agent: str = "",
    address: str = "",
    previous: str | None = None,
    now: datetime | None = None,
    details: dict[str, str] | None = None,
) -> NewSession:
    """Add a new session for a user whose identity was checked to the caller's transaction.

    Password sign-in and single sign-on both end here, so both rotate the session id the same
    way: ``previous`` (the browser's old session cookie, if any) is ended. The caller commits.
    """
    token = secrets.token_urlsafe(32)
    if previous:
        old = session.get(LoginSession, _sha256(previous))
        if old is not None:
            session.delete(old)
    session.add(
        LoginSession(
            id_hash=_sha256(token),
            user_id=user.id,  # type: ignore[arg-type]
            expires_at=(now or utcnow()) + timedelta(days=days),
            user_agent=user_agent[:255],
        )
    )
    audit.record(
        session=session,
        action="user.signed_in",
        actor=user,
        target=user.username,
        address=address,
        details={**({"user_agent": user_agent[:255]} if user_agent else {}), **(details or {})},
    )
    return NewSession(token=token, user=user)


def logout(*, session: Session, token: str, address: str = "") -> None:
    """End the session behind this cookie value."""
    begin_write(session)
    row = session.get(LoginSession, _sha256(token))
    if row is not None:
        user = session.get(User, row.user_id)
        session.delete(row)
        if user is not None:
            audit.record(
                session=session,
                action="user.signed_out",
                actor=user,
                target=user.username,
                address=address,
            )
    session.commit()


def logout_everywhere(*, session: Session, user: User | None, address: str = "") -> int:
    """End every session of the signed-in user, on every device; returns how many."""
    me = require_user(user, "token.own")
    begin_write(session)
    ended = _end_sessions(session, me.id)
    audit.record(
        session=session,
        action="user.signed_out_everywhere",
        actor=me,
        target=me.username,
        address=address,
        details={"sessions_ended": ended},
    )
    session.commit()
    return ended


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


def count_sessions(*, session: Session, user: User) -> int:
    """How many live sign-in sessions the user has."""
    now = utcnow()
    rows = session.exec(select(LoginSession).where(LoginSession.user_id == user.id)).all()
    return sum(1 for r in rows if as_utc(r.expires_at) > now)


# --- API tokens (app/accounts/tokens.py) ---------------------------------------------------

create_token = tokens.create_token
list_tokens = tokens.list_tokens
revoke_token = tokens.revoke_token
user_for_token = tokens.user_for_token


def token_for_credentials(
    *,
    session: Session,
    username: str,
    password: str,
    address: str = "",
    name: str = "",
    days: int | None = None,
    scope: TokenScope = TokenScope.write,
) -> tuple[ApiToken, str]:
    """Exchange a username and password for a new API token (throttled like the sign-in)."""
    user = authenticate(session=session, username=username, password=password, address=address)
    # authenticate() leaves its write transaction open: the token joins it, one commit
    return tokens.create_token(
        session=session, username=user.username, name=name, days=days, scope=scope, actor=user
    )


def list_users(*, session: Session) -> list[User]:
    """All users by username."""
    return list(session.exec(select(User).order_by(col(User.username))))


def manage_users(*, session: Session, actor: User | None) -> list[User]:
    """All users by username, for the administrators' user management screen."""
    require_user(actor, "user.manage")
    return list_users(session=session)


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
