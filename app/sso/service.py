"""Single sign-on: find, link or create the account behind a checked OpenID Connect identity
and open a normal Atrium session for it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.audit import service as audit
from app.core.config import Settings
from app.core.db import begin_write, settings_of
from app.core.time import utcnow
from app.sso.models import SsoLink
from app.sso.oidc import Identity, SsoFailed

VIA = "single sign-on"


def login_options(settings: Settings) -> dict[str, Any]:
    """What the sign-in page offers: the single sign-on button, the password form."""
    return {
        "sso_name": settings.oidc_provider_name if settings.oidc_enabled else None,
        "password_form": not (settings.oidc_enabled and settings.oidc_only),
    }


def _refuse(session: Session, identity: Identity, reason: str, message: str) -> SsoFailed:
    # nothing of the sign-in is kept: only the audit entry of the refusal, in its own commit
    session.rollback()
    record_failure(session=session, reason=reason, who=identity.email or identity.subject)
    return SsoFailed(message)


def _first_sign_in(session: Session, settings: Settings, identity: Identity) -> User:
    """The account for an identity seen for the first time: linked by e-mail, or created."""
    if identity.email and identity.email_verified:
        matches = accounts.find_users_by_email(session=session, email=identity.email)
        if len(matches) > 1:
            raise _refuse(
                session,
                identity,
                "several accounts have this e-mail address",
                "More than one Atrium account has your e-mail address, so Atrium cannot tell "
                "which is yours. Please ask an administrator.",
            )
        if matches:
            user = matches[0]
            taken = session.exec(
                select(SsoLink).where(SsoLink.user_id == user.id, SsoLink.issuer == identity.issuer)
            ).first()
            if taken is not None:
                # a second identity of the same provider must not take over a linked account
                raise _refuse(
                    session,
                    identity,
                    "the account with this e-mail address is linked to another identity",
                    "The Atrium account with your e-mail address is already linked to another "
                    "sign-in of this provider. Please ask an administrator.",
                )
            if not user.is_active:
                raise _refuse(session, identity, "account disabled", _DISABLED)
            audit.record(
                session=session,
                action="user.sso_linked",
                actor=user,
                target=user.username,
                details={"issuer": identity.issuer, "email": identity.email},
            )
            return user
    if not settings.oidc_allow_create:
        raise _refuse(
            session,
            identity,
            "no account with this verified e-mail address",
            "There is no Atrium account for you yet, and accounts are not created at sign-in "
            "here. Please ask an administrator.",
        )
    wanted = identity.username or (identity.email or "").partition("@")[0] or identity.name
    return accounts.add_external_user(
        session=session,
        username=accounts.free_username(session=session, wanted=wanted),
        display_name=identity.name,
        email=identity.email if identity.email_verified else None,
        role=Role(settings.oidc_default_role),
    )


_DISABLED = "Your Atrium account is disabled. Please ask an administrator."


def sign_in(
    *,
    session: Session,
    identity: Identity,
    user_agent: str = "",
    address: str = "",
    previous: str | None = None,
) -> accounts.NewSession:
    """Sign in the account linked to this checked identity, linking or creating it the first time.

    Opens a session exactly like the password sign-in (a fresh id; ``previous`` is ended).
    A refusal (disabled account, no account to link to) is audited and raises SsoFailed.
    """
    settings = settings_of(session)
    begin_write(session)
    link = session.exec(
        select(SsoLink).where(
            SsoLink.issuer == identity.issuer, SsoLink.subject == identity.subject
        )
    ).first()
    if link is not None:
        user = accounts.users_by_id(session=session, ids=[link.user_id]).get(link.user_id)
        if user is None:  # pragma: no cover - the link goes with its account (cascade)
            raise _refuse(session, identity, "linked account gone", _DISABLED)
        if not user.is_active:
            raise _refuse(session, identity, "account disabled", _DISABLED)
    else:
        user = _first_sign_in(session, settings, identity)
        link = SsoLink(
            user_id=user.id,  # type: ignore[arg-type]
            issuer=identity.issuer,
            subject=identity.subject,
        )
    link.email = identity.email
    link.last_sign_in_at = utcnow()
    session.add(link)
    new = accounts.add_session(
        session=session,
        user=user,
        days=settings.session_days,
        user_agent=user_agent,
        address=address,
        previous=previous,
        details={"via": VIA, "provider": settings.oidc_provider_name},
    )
    session.commit()
    return new


def record_failure(
    *, session: Session, reason: str, who: str = "", address: str | None = None
) -> None:
    """Audit a single sign-on that did not sign anyone in (forged, refused, provider down)."""
    begin_write(session)
    audit.record(
        session=session,
        action="user.sign_in_failed",
        actor_name=who,
        target=who,
        address=address,
        details={"via": VIA, "reason": reason[:200]},
    )
    session.commit()


def linked_user_ids(*, session: Session, user_ids: Iterable[int | None]) -> set[int]:
    """Which of these users have signed in through single sign-on (have a link)."""
    wanted = {i for i in user_ids if i is not None}
    if not wanted:
        return set()
    rows = session.exec(select(SsoLink.user_id).where(col(SsoLink.user_id).in_(wanted)))
    return set(rows)
