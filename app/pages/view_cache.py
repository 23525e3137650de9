"""Whole page views for visitors who are not signed in, kept per process and checked per request.

A visitor's page view depends only on the database (every visitor has the same access view) and
on their CSRF token, which is the only per-browser text in it. A request for ``/wiki/<slug>``
without a sign-in (no session cookie, no bearer token), query string or htmx header is served
from memory when the stored copy was rendered at the database's current content version
(``app.core.changes``: one primary-key read per request) and is younger than
``page_cache_seconds``; the visitor's own token is put back into the stored text. Any committed
change anywhere, through any process or server, moves the version, so a copy is never served
after a change: the cost of this simplicity is that a busy wiki re-renders more often than a
per-page scheme would, never that a reader sees an old page.

The version is read *before* rendering a miss, so a change committed while rendering makes the
stored copy look older than it is (re-rendered next time), never newer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import changes
from app.core.config import Settings
from app.core.security import SESSION_COOKIE, csrf_token

log = logging.getLogger(__name__)

PREFIX = "/wiki/"
_SESSION = f"{SESSION_COOKIE}=".encode()
STATUS_HEADER = b"x-atrium-cache"


@dataclass(frozen=True)
class _Entry:
    version: int
    expires: float
    headers: list[tuple[bytes, bytes]]
    parts: list[bytes]  # the body split at the CSRF token it was rendered with
    size: int


class PageViewCache:
    """The stored page views of one process and the connection that reads the content version."""

    def __init__(self, *, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.secret = settings.resolved_secret_key
        self.max_bytes = settings.page_cache_mb * 1024 * 1024
        self.max_age = settings.page_cache_seconds
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._connection: Any = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """On while visitors may read (read per request: the setting may change at run time)."""
        return self.settings.public_read and self.max_bytes > 0 and self.max_age > 0

    # --- the content version --------------------------------------------------------------

    def version(self) -> int | None:
        """The database's content version, or None when it cannot be read (then: no cache)."""
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = self.engine.raw_connection()
                    dbapi = self._connection.dbapi_connection
                    if self.engine.dialect.name == "postgresql":
                        dbapi.autocommit = True  # one read, no transaction left open
                return changes.read_version(self._connection.dbapi_connection)
            except Exception:  # a lost connection: serve uncached, reconnect next time
                log.warning("page cache: cannot read the content version", exc_info=True)
                self._drop_connection()
                return None

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # already gone
                self._connection.invalidate()
            self._connection = None

    def close(self) -> None:
        """Give the version connection back (at shutdown, before the engine is disposed)."""
        with self._lock:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                if self.engine.dialect.name == "postgresql":
                    connection.dbapi_connection.autocommit = False
                connection.close()
            self._entries.clear()
            self._bytes = 0

    # --- entries --------------------------------------------------------------------------

    def get(self, path: str, version: int) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(path)
            if entry is None:
                return None
            if entry.version != version or entry.expires <= time.monotonic():
                self._remove(path)
                return None
            self._entries.move_to_end(path)
            return entry

    def put(self, path: str, entry: _Entry) -> None:
        if entry.size > self.max_bytes // 8:
            return  # a huge page would push out everything else
        with self._lock:
            current = self._entries.get(path)
            if current is not None and current.version > entry.version:
                return  # a newer copy arrived first
            self._remove(path)
            self._entries[path] = entry
            self._bytes += entry.size
            while self._bytes > self.max_bytes and self._entries:
                self._remove(next(iter(self._entries)))

    def _remove(self, path: str) -> None:
        entry = self._entries.pop(path, None)
        if entry is not None:
            self._bytes -= entry.size

    def __len__(self) -> int:
        return len(self._entries)

    def token_for(self, scope: Scope) -> bytes:
        seed = scope.get("state", {}).get("csrf_seed") or ""
        return csrf_token(self.secret, seed).encode()


def _anonymous_page_view(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET" or scope["query_string"]:
        return False
    if not scope["path"].startswith(PREFIX):
        return False
    for key, value in scope["headers"]:
        if key == b"authorization" or key == b"hx-request":
            return False
        if key == b"cookie" and _SESSION in value:
            return False
    return True


class PageViewCacheMiddleware:
    """Serve visitors' page views from :class:`PageViewCache`; store the ones it renders."""

    def __init__(self, app: ASGIApp, *, cache: PageViewCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = self.cache
        if not cache.enabled or not _anonymous_page_view(scope):
            await self.app(scope, receive, send)
            return
        version = cache.version()
        if version is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        token = cache.token_for(scope)
        entry = cache.get(path, version)
        if entry is not None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [*entry.headers, (STATUS_HEADER, b"hit")],
                }
            )
            await send({"type": "http.response.body", "body": token.join(entry.parts)})
            return
        await self._render_and_store(scope, receive, send, path, version, token)

    async def _render_and_store(
        self, scope: Scope, receive: Receive, send: Send, path: str, version: int, token: bytes
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                message = {**message, "headers": [*message["headers"], (STATUS_HEADER, b"miss")]}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and start is not None:
                    self._store(path, version, token, start, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    def _store(self, path: str, version: int, token: bytes, start: Message, body: bytes) -> None:
        if start["status"] != 200:
            return
        headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        content_type = b""
        for key, value in headers:
            if key.lower() == b"set-cookie":
                return  # something personal was said: not for other visitors
            if key.lower() == b"content-type":
                content_type = value
        if not content_type.startswith(b"text/html"):
            return
        self.cache.put(
            path,
            _Entry(
                version=version,
                expires=time.monotonic() + self.cache.max_age,
                headers=headers,
                parts=body.split(token),
                size=len(body),
            ),
        )
