"""CSRF tokens: a signed double-submit token bound to a per-browser random cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets

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
