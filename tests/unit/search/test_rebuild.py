"""`atrium reindex`: a new index built from the database and swapped in while searches go on."""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import Settings
from app.core.db import open_session
from app.search import service
from app.search.indexer import Indexer
from tests.factories import make_page
from tests.unit.search.conftest import Find, titles


def test_rebuild_swaps_atomically_while_searching(
    session: Session, settings: Settings, engine: Engine, indexer: Indexer, find: Find
) -> None:
    for i in range(60):
        make_page(session, slug=f"p-{i}", title=f"Page {i}", body=f"Cartography number {i}.\n")
    assert find("cartography").total == 60
    backend = indexer.backend
    before = backend.indexed_versions()
    errors: list[BaseException] = []
    counts: list[int] = []
    done = threading.Event()

    def keep_searching() -> None:
        with open_session(engine, settings) as reader:
            while not done.is_set():
                try:
                    counts.append(service.search(session=reader, user=None, q="cartography").total)
                except BaseException as exc:  # pragma: no cover - the assertion shows it
                    errors.append(exc)
                    return

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        progress: list[int] = []
        count = service.reindex(
            settings=settings, engine=engine, progress=lambda done, _total: progress.append(done)
        )
    finally:
        done.set()
        searcher.join()
    assert errors == []
    assert count == 60
    assert progress[-1] == 60
    assert counts
    assert set(counts) == {60}
    assert backend.indexed_versions() == before
    assert find("cartography").total == 60
    if backend.name == "whoosh":
        index_dirs = list((settings.data_dir / "search").glob("index-*"))
        assert len(index_dirs) <= 2  # the new one and the one just replaced


def test_changes_saved_during_a_rebuild_are_caught_up(
    session: Session, settings: Settings, engine: Engine, find: Find
) -> None:
    make_page(session, slug="atlas", title="Atlas", body="Cartography.\n")
    find("cartography")
    saved: list[bool] = []

    def save_midway(done: int, total: int) -> None:  # noqa: ARG001
        if not saved:
            with open_session(engine, settings) as writer:
                make_page(writer, slug="globe", title="Globe", body="Cartography too.\n")
            saved.append(True)

    service.reindex(settings=settings, engine=engine, progress=save_midway)
    assert sorted(titles(find("cartography"))) == ["Atlas", "Globe"]
