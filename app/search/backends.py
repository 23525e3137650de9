"""The small protocol every search backend implements, and picking one from the settings."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlalchemy import Connection, Engine

from app.core.config import Settings
from app.search.documents import Progress, SearchDocument, SearchRequest, SearchResults


class SearchBackend(Protocol):
    """What the indexer and the search service need; a third backend implements just this."""

    name: str

    def apply(self, upserts: Sequence[SearchDocument], deletes: Sequence[str]) -> None:
        """Add/replace ``upserts`` and remove the keys in ``deletes``, atomically."""

    def upsert(self, docs: Sequence[SearchDocument]) -> None:
        """Add or replace documents."""

    def delete(self, keys: Sequence[str]) -> None:
        """Remove documents by key (``kind:ref_id``)."""

    def search(
        self, request: SearchRequest, *, connection: Connection | None = None
    ) -> SearchResults:
        """Ranked, permission-filtered results with snippets and facets. A backend that reads
        the database uses ``connection`` (the request's own) when given, so a request never
        holds two pooled connections at once."""

    def indexed_versions(self) -> dict[str, str]:
        """Key -> version of every indexed document (to reconcile with the database)."""

    def rebuild(
        self, docs: Iterable[SearchDocument], *, total: int, progress: Progress | None = None
    ) -> int:
        """Replace the whole index with ``docs`` while searches go on; returns the count."""

    def ensure(self) -> None:
        """Create an empty index if there is none."""

    def size_bytes(self) -> int:
        """Bytes the index takes."""

    def close(self) -> None:
        """Release open files or connections."""


_BACKENDS: dict[tuple[str, str], SearchBackend] = {}
_LOCK = threading.Lock()


def get_backend(settings: Settings, engine: Engine) -> SearchBackend:
    """The backend for these settings; one per process, so searchers stay open between requests."""
    name = settings.search_backend
    where = str(engine.url) if name == "postgres" else str(settings.data_dir.resolve())
    with _LOCK:
        backend = _BACKENDS.get((name, where))
        if backend is None:
            if name == "postgres":
                from app.search.pg import PostgresBackend

                backend = PostgresBackend(engine)
            else:
                from app.search.index import WhooshBackend

                backend = WhooshBackend(settings.data_dir / "search")
            _BACKENDS[(name, where)] = backend
        return backend


def forget_backends() -> None:
    """Close and drop every cached backend (tests and shutdown)."""
    with _LOCK:
        for backend in _BACKENDS.values():
            backend.close()
        _BACKENDS.clear()


def release_backend(settings: Settings, engine: Engine) -> None:
    """Close and drop the cached backend of these settings (when an app shuts down)."""
    name = settings.search_backend
    where = str(engine.url) if name == "postgres" else str(settings.data_dir.resolve())
    with _LOCK:
        backend = _BACKENDS.pop((name, where), None)
    if backend is not None:
        backend.close()
