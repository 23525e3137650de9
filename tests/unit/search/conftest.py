"""Search tests run against Whoosh (SQLite) and, with ATRIUM_TEST_DATABASE_URL, PostgreSQL FTS."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.accounts.models import User
from app.core.config import Settings
from app.search import service
from app.search.backends import release_backend
from app.search.documents import SearchResults
from app.search.indexer import Indexer

Find = Callable[..., SearchResults]


@pytest.fixture(params=["whoosh", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, migrated_template: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    if request.param == "whoosh":
        shutil.copy(migrated_template, data / "atrium.sqlite3")
        return Settings(data_dir=data, secret_key="test-secret")
    url = request.getfixturevalue("pg_migrated")
    return Settings(
        data_dir=data, secret_key="test-secret", database_url=url, search_backend="postgres"
    )


@pytest.fixture
def indexer(settings: Settings, engine: Engine) -> Iterator[Indexer]:
    """The elected indexer of this test's data dir."""
    ix = Indexer(settings, engine)
    assert ix.try_lead()
    yield ix
    ix.lock.release()
    release_backend(settings, engine)


@pytest.fixture
def find(session: Session, indexer: Indexer) -> Find:
    """Drain the outbox, then search (as anonymous unless ``user`` is given)."""

    def run(q: str, user: User | None = None, **kw: object) -> SearchResults:
        indexer.drain()
        session.rollback()
        return service.search(session=session, user=user, q=q, **kw)  # type: ignore[arg-type]

    return run


def titles(results: SearchResults) -> list[str]:
    """The titles of the hits, in order."""
    return [h.title for h in results.hits]
