"""Browser security for every response: the CSRF seed cookie and the security headers.

A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
``BaseHTTPMiddleware`` streams each response through an in-memory channel and a task group,
which cost more than the rest of the request path on a cached page view.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.security import CSRF_COOKIE, new_csrf_seed

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


def request_cookie(scope: Scope, name: str) -> str | None:
    """The value of cookie ``name`` sent with the request, if any."""
    for key, value in scope["headers"]:
        if key == b"cookie":
            found = cookie_parser(value.decode("latin-1")).get(name)
            if found is not None:
                return found
    return None


def _seed_cookie(seed: str, *, secure: bool) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[CSRF_COOKIE] = seed
    morsel = cookie[CSRF_COOKIE]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "lax"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


class BrowserSecurity:
    """Give each browser a CSRF seed (``scope["state"]["csrf_seed"]``) and every response the
    security headers (CSP, nosniff, referrer policy, no framing)."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seed = request_cookie(scope, CSRF_COOKIE)
        state = scope.setdefault("state", {})
        state["csrf_seed"] = seed or new_csrf_seed()
        docs = scope["path"].startswith("/docs")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if seed is None:
                    headers.append(
                        "set-cookie", _seed_cookie(state["csrf_seed"], secure=self._secure(scope))
                    )
                if not docs:
                    headers.setdefault("Content-Security-Policy", CSP)
                for name, value in _HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _secure(self, scope: Scope) -> bool:
        if self.settings.cookie_secure is not None:
            return self.settings.cookie_secure
        return bool(scope.get("scheme") == "https")
