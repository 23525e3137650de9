"""Request-scoped dependencies: the database session, the current user, CSRF checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import User
from app.audit import service as audit
from app.core.config import Settings
from app.core.db import open_session
from app.core.errors import Forbidden, Unauthorized
from app.core.security import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_valid

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# requests that carry their own credentials (a username and password in the body) and use no
# cookie: a forged cross-site request would have to know the password already
CSRF_EXEMPT_PATHS = frozenset({"/api/v1/tokens"})


def client_address(request: Request) -> str:
    """The client's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else ""


async def remember_client(request: Request) -> None:
    """Make the client address known to the audit log for the rest of this request."""
    # set in an async dependency: the context is copied into the threads that run sync routes
    audit.client_address.set(client_address(request))


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    with open_session(request.app.state.engine, request.app.state.settings) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def get_optional_user(request: Request, session: SessionDep, settings: SettingsDep) -> User | None:
    """The signed-in user (by bearer token or session cookie), or None for a visitor."""
    token = _bearer(request)
    user: User | None
    if token is not None:
        # a read-scoped token may only use safe methods, whatever the route does
        user = accounts.user_for_token(
            session=session,
            token=token,
            write=request.method not in SAFE_METHODS,
            address=client_address(request),
        )
        request.state.via_token = True
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        user = accounts.user_for_session(session=session, token=cookie) if cookie else None
    request.state.user = user
    if user is None and not settings.public_read and not _is_public_path(request.url.path):
        raise Unauthorized("Please sign in to read this wiki.")
    return user


def _is_public_path(path: str) -> bool:
    # the header badge polls every few seconds: after a sign-in expires it answers empty, not 401
    return path in {"/login", "/healthz", "/inbox/badge"} or path.startswith("/static/")


def require_signed_in(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise Unauthorized("Please sign in to do this.")
    return user


async def csrf_protect(request: Request) -> None:
    """Refuse state-changing requests from a browser that do not echo its CSRF token.

    Requests that authenticate with a bearer token carry no ambient credentials and are exempt.
    """
    if request.method not in UNSAFE_METHODS or _bearer(request) is not None:
        return
    if request.url.path in CSRF_EXEMPT_PATHS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    settings: Settings = request.app.state.settings
    if not csrf_valid(settings.resolved_secret_key, request.cookies.get(CSRF_COOKIE), token):
        raise Forbidden(
            "This form has expired or did not come from Atrium (missing CSRF token). "
            "Reload the page and try again; your text is kept in your draft if you were editing."
        )


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(require_signed_in)]
