"""A search uses the request's own database connection: many concurrent searches cannot take
every pooled connection and then wait for a second one (which stalled PostgreSQL search for
the pool timeout under load)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from app.core.config import Settings
from app.core.db import make_engine, open_session
from app.search import service
from app.search.backends import release_backend
from app.search.indexer import Indexer
from tests.factories import make_page


@pytest.fixture
def one_connection(settings: Settings) -> Iterator[Engine]:
    """An engine whose pool holds a single connection and gives up on a second at once."""
    engine = make_engine(settings)
    engine.pool._pool.maxsize = 1  # type: ignore[attr-defined]  # QueuePool: size 1 …
    engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # … no overflow …
    engine.pool._timeout = 0.5  # type: ignore[attr-defined]  # … and no long wait
    engine.pool = engine.pool.recreate()  # a pool built with those settings
    yield engine
    release_backend(settings, engine)
    engine.dispose()


def test_search_needs_only_the_request_connection(
    settings: Settings, engine: Engine, one_connection: Engine
) -> None:
    with open_session(engine, settings) as session:
        make_page(session, slug="core/o2c", title="Order to Cash", body="Invoices monthly.\n")
    ix = Indexer(settings, engine)
    assert ix.try_lead()
    try:
        ix.drain()
    finally:
        ix.lock.release()
        release_backend(settings, engine)  # the searches below build theirs on one_connection
    with open_session(one_connection, settings) as session:
        session.connection()  # the request holds the pool's only connection
        results = service.search(session=session, user=None, q="invoices")
        assert [h.title for h in results.hits] == ["Order to Cash"]
        quick = service.quick_search(session=session, user=None, q="Orde")
        assert [h.title for h in quick.hits] == ["Order to Cash"]
