"""CSRF tokens (a signed double-submit token bound to a per-browser random cookie), the
session cookie, and the redirect targets a sign-in may send a browser to."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

CSRF_COOKIE = "atrium_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "atrium_session"


def new_csrf_seed() -> str:
    """A fresh random value for the CSRF cookie."""
    return secrets.token_urlsafe(24)


def csrf_token(secret: str, seed: str) -> str:
    """The token forms and htmx requests must echo for the browser holding ``seed``."""
    return hmac.new(secret.encode(), f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: str, seed: str | None, token: str | None) -> bool:
    """Whether ``token`` was issued for the browser holding ``seed``."""
    if not seed or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, seed), token)


def local_path(target: str) -> str:
    """``target`` if it is a path on this site, else "/" (sign-in must not be an open redirect)."""
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        # browsers read a backslash as a slash: "/\\evil.example" goes off-site
        or "\\" in target
        or any(ord(ch) < 32 for ch in target)
    ):
        return "/"
    return target


def set_session_cookie(
    response: Response, request: Request, token: str, *, days: int, secure: bool | None
) -> None:
    """Give the browser its sign-in session id (HttpOnly, SameSite=Lax, Secure over HTTPS)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        secure=secure if secure is not None else request.url.scheme == "https",
        path="/",
    )
