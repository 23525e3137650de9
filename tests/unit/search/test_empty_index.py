"""A new wiki: the indexer has created the index but nothing is in it yet."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import Settings
from app.search import service
from app.search.backends import get_backend


def test_searching_an_index_with_no_segment_finds_nothing(
    settings: Settings, engine: Engine, session: Session
) -> None:
    get_backend(settings, engine).ensure()  # what the indexer does first on a new wiki
    results = service.search(session=session, user=None, q="hello")
    assert results.total == 0
    assert results.hits == []


def test_suggestions_filters_and_spelling_on_an_empty_index(
    settings: Settings, engine: Engine, session: Session
) -> None:
    get_backend(settings, engine).ensure()
    assert service.quick_search(session=session, user=None, q="req").hits == []
    assert service.search(session=session, user=None, q="portfolo tag:core").total == 0
    assert service.search(session=session, user=None, q='"value stream" -x*').total == 0
