"""Search use cases; ``enqueue`` is the seam other domains call inside their transaction."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

from sqlalchemy import Engine, event
from sqlmodel import Session, func, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.config import Settings
from app.core.db import open_session, settings_of
from app.core.errors import Conflict, Unauthorized
from app.search import query as query_language
from app.search import sources
from app.search.backends import get_backend
from app.search.documents import SearchDocument, SearchRequest, SearchResults
from app.search.models import OutboxEvent

log = logging.getLogger("atrium.search")
PENDING = "atrium_search_pending"
MAX_PAGE = 50
MAX_PER_PAGE = 50


def enqueue(*, session: Session, kind: str, ref_id: int, cascade: bool = False) -> None:
    """Record that a searchable document changed; committed with the caller's transaction.

    ``cascade`` also re-indexes the documents that depend on it (the threads and comments of a
    page that was moved, deleted or undeleted).
    """
    targets = [(kind, ref_id)]
    if cascade:
        targets += sources.dependents(session, kind, ref_id)
    for target_kind, target_id in targets:
        row = OutboxEvent(kind=target_kind, ref_id=target_id)
        session.add(row)
        if settings_of(session).search_backend == "postgres":
            # the PostgreSQL backend writes the document itself, at commit, in this transaction
            session.info.setdefault(PENDING, []).append(row)


@event.listens_for(Session, "before_commit")
def _index_in_transaction(session: Session) -> None:
    rows: list[OutboxEvent] | None = session.info.pop(PENDING, None)
    if not rows:
        return
    from app.search.pg import PostgresBackend

    try:
        with session.begin_nested():
            PostgresBackend.write_in(session, sorted({(r.kind, r.ref_id) for r in rows}))
    except Exception:  # the outbox rows stay; the indexer writes the documents instead
        log.exception("search: could not index in the transaction; left to the indexer")
        return
    for row in rows:  # written in this transaction: nothing left for the indexer
        if row in session:
            session.delete(row)


def _request(
    *,
    session: Session,
    user: User | None,
    q: str,
    page: int,
    per_page: int,
    facets: bool,
    snippets: bool,
    suggest: bool,
) -> SearchRequest:
    settings = settings_of(session)
    if user is None and not settings.public_read:
        raise Unauthorized("Please sign in to search this wiki.")
    kinds = sources.readable_kinds(user)
    if not kinds:
        accounts.require(user, "page.read")  # raises the right error
    return SearchRequest(
        query=query_language.parse(q),
        kinds=kinds,
        scopes=sources.readable_scopes(session, user, kinds),
        page=min(max(1, page), MAX_PAGE),
        per_page=min(max(1, per_page), MAX_PER_PAGE),
        facets=facets,
        snippets=snippets,
        suggest=suggest,
    )


def search(
    *,
    session: Session,
    user: User | None,
    q: str,
    page: int = 1,
    per_page: int = 20,
    facets: bool = True,
) -> SearchResults:
    """Results for ``q`` that ``user`` may read: ranked, with snippets, facets and a suggestion."""
    request = _request(
        session=session,
        user=user,
        q=q,
        page=page,
        per_page=per_page,
        facets=facets,
        snippets=True,
        suggest=True,
    )
    return get_backend(settings_of(session), _engine(session)).search(
        request, connection=session.connection()
    )


def quick_search(*, session: Session, user: User | None, q: str, limit: int = 8) -> SearchResults:
    """The top titles for the search-as-you-type box (no snippets, facets or suggestions)."""
    if re.search(r"(?<![:\w])\w{2,}$", q):
        q += "*"  # the word being typed matches as a prefix, however short
    request = _request(
        session=session,
        user=user,
        q=q,
        page=1,
        per_page=limit,
        facets=False,
        snippets=False,
        suggest=False,
    )
    return get_backend(settings_of(session), _engine(session)).search(
        request, connection=session.connection()
    )


def pending_changes(*, session: Session) -> int:
    """How many changes wait in the outbox to reach the index."""
    return int(session.exec(select(func.count()).select_from(OutboxEvent)).one())


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    return bind


def reindex(
    *,
    settings: Settings,
    engine: Engine,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 200,
) -> int:
    """Rebuild the whole index from the database into a new index, swapped in atomically.

    Searches go on against the old index meanwhile. Changes saved during the rebuild are caught
    up afterwards: the indexed versions are compared with the database and every difference goes
    through the outbox again.
    """
    from app.search.indexer import FileLock, Indexer

    backend = get_backend(settings, engine)
    guard = FileLock(settings.data_dir / "search" / "reindex.lock")
    if not guard.acquire():
        raise Conflict("Another reindex is running.")
    try:
        with open_session(engine, settings) as session:
            plan = [
                (kind, sorted(src.versions(session))) for kind, src in sources.sources().items()
            ]
            total = sum(len(ids) for _, ids in plan)

            def documents() -> Iterator[SearchDocument]:
                for kind, ids in plan:
                    source = sources.sources()[kind]
                    for start in range(0, len(ids), batch):
                        yield from source.load(session, ids[start : start + batch])
                        session.expunge_all()  # keep memory flat on big wikis

            count = backend.rebuild(documents(), total=total, progress=progress)
        indexer = Indexer(settings, engine, backend)
        indexer.reconcile()
        if indexer.lock.acquire():  # no server is indexing: catch up now
            try:
                indexer.drain()
            finally:
                indexer.lock.release()
        return count
    finally:
        guard.release()
