"""API bearer tokens: stored as SHA-256 only, with a scope (read or write), expiry and revocation.

Token use is written to ``last_used_at`` and to the audit log at most once per token every
``USE_INTERVAL`` (not on every request, which would make every API read a write).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.accounts.models import ApiToken, Role, TokenScope, User
from app.audit import service as audit
from app.core.db import begin_write
from app.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from app.core.time import as_utc, utcnow

USE_INTERVAL = timedelta(minutes=5)
MAX_DAYS = 3650
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def scopes_for(scope: TokenScope) -> str:
    """The stored scopes of a token created with ``scope`` (write implies read)."""
    return "read write" if scope == TokenScope.write else "read"


def has_scope(row: ApiToken, scope: TokenScope) -> bool:
    """Whether the token carries ``scope``."""
    return str(scope) in row.scopes.split()


def create_token(
    *,
    session: Session,
    username: str,
    name: str = "",
    days: int | None = None,
    scope: TokenScope = TokenScope.write,
    actor: User | None = None,
) -> tuple[ApiToken, str]:
    """Create an API bearer token for a user; returns the row and the token (shown once).

    ``actor`` is who asks (None: the command line); a user may create tokens for themself only.
    """
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise Invalid(f"A token expires after 1 to {MAX_DAYS} days.")
    begin_write(session)
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"No user {username!r}.")
    if actor is not None and actor.id != user.id:
        raise Forbidden("You can only create tokens for yourself.")
    if not user.is_active:
        raise Forbidden("The user is disabled.")
    token = "atr_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,  # type: ignore[arg-type]
        name=name[:120],
        token_hash=_sha256(token),
        scopes=scopes_for(scope),
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        action="token.created",
        actor=user,
        target=f"token {row.id} of {user.username}",
        details={"name": row.name, "scopes": row.scopes, "expires_at": _iso(row.expires_at)},
    )
    session.commit()
    return row, token


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def list_tokens(*, session: Session, user: User | None) -> list[ApiToken]:
    """The signed-in user's tokens, newest first (revoked and expired ones included)."""
    from app.accounts import service as accounts  # accounts imports this module

    me = accounts.require_user(user, "token.own")
    return list(
        session.exec(
            select(ApiToken).where(ApiToken.user_id == me.id).order_by(col(ApiToken.id).desc())
        )
    )


def revoke_token(*, session: Session, user: User | None, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens (admins may revoke anyone's); it stops working at once."""
    from app.accounts import service as accounts  # accounts imports this module

    me = accounts.require_user(user, "token.own")
    begin_write(session)
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != me.id and me.role != Role.admin):
        raise NotFound(f"No token {token_id}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        owner = session.get(User, row.user_id)
        audit.record(
            session=session,
            action="token.revoked",
            actor=me,
            target=f"token {row.id} of {owner.username if owner else row.user_id}",
            details={"name": row.name},
        )
    session.commit()
    return row


def user_for_token(*, session: Session, token: str, write: bool = False, address: str = "") -> User:
    """The active user a bearer token belongs to, for a request that writes or only reads.

    Raises Unauthorized for an unknown, revoked or expired token or a disabled user, and
    Forbidden when a read-scoped token is used to write.
    """
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _sha256(token))).first()
    now = utcnow()
    if row is None:
        raise Unauthorized("The API token is not known.")
    if row.revoked_at is not None:
        raise Unauthorized("The API token was revoked.")
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        raise Unauthorized(
            f"The API token expired on {as_utc(row.expires_at):%Y-%m-%d %H:%M} UTC; "
            "create a new one."
        )
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("The API token's user is disabled.")
    if write and not has_scope(row, TokenScope.write):
        raise Forbidden("This token only has the read scope; it cannot change anything.")
    if row.last_used_at is None or now - as_utc(row.last_used_at) >= USE_INTERVAL:
        begin_write(session)
        row.last_used_at = now
        session.add(row)
        audit.record(
            session=session,
            action="token.used",
            actor=user,
            target=f"token {row.id} of {user.username}",
            address=address,
            details={"name": row.name, "scopes": row.scopes},
        )
        session.commit()
    return user
