"""The outbox seam and the indexer: crash catch-up, reconciliation, the lock, save-to-searchable."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import Settings
from app.search import indexer as indexer_module
from app.search import service
from app.search.backends import get_backend
from app.search.documents import SearchDocument, doc_key
from app.search.indexer import Indexer
from tests.factories import make_page
from tests.unit.search.conftest import titles


def _search(session: Session, q: str) -> list[str]:
    session.rollback()
    return titles(service.search(session=session, user=None, q=q))


def test_a_change_and_its_outbox_row_commit_together(session: Session) -> None:
    make_page(session, slug="atlas", title="Atlas", body="maps\n")
    assert service.pending_changes(session=session) >= 1 or _indexed_in_transaction(session)


def _indexed_in_transaction(session: Session) -> bool:
    # the PostgreSQL backend writes the document in the change's own transaction
    backend = get_backend(session.info["settings"], session.get_bind())  # type: ignore[arg-type]
    return backend.name == "postgres" and bool(backend.indexed_versions())


def test_crash_between_commit_and_indexing_loses_nothing(
    session: Session, settings: Settings, engine: Engine
) -> None:
    # the server saved and committed, then died before any indexer ran
    make_page(session, slug="atlas", title="Atlas", body="Cartography of the estate.\n")
    make_page(session, slug="globe", title="Globe", body="Cartography again.\n")
    # a new process starts: it wins the lock, reconciles and drains
    fresh = Indexer(settings, engine)
    assert fresh.try_lead()
    try:
        fresh.drain()
        assert sorted(_search(session, "cartography")) == ["Atlas", "Globe"]
        assert service.pending_changes(session=session) == 0
    finally:
        fresh.lock.release()


def test_crash_between_index_commit_and_outbox_delete_is_repeated_safely(
    session: Session, indexer: Indexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    if indexer.backend.name == "postgres":
        pytest.skip("the PostgreSQL backend writes in the change's own transaction")
    make_page(session, slug="atlas", title="Atlas", body="Cartography.\n")

    def crash(_session: Session) -> None:
        raise RuntimeError("killed after the index commit")

    monkeypatch.setattr(indexer_module, "begin_write", crash)
    with pytest.raises(RuntimeError):
        indexer.drain_once()
    monkeypatch.undo()
    assert service.pending_changes(session=session) >= 1  # nothing was forgotten
    indexer.drain()
    assert _search(session, "cartography") == ["Atlas"]  # once, not twice
    assert service.pending_changes(session=session) == 0


def test_startup_reconcile_repairs_a_drifted_index(
    session: Session, indexer: Indexer, settings: Settings, engine: Engine
) -> None:
    atlas = make_page(session, slug="atlas", title="Atlas", body="Cartography.\n")
    indexer.drain()
    backend = indexer.backend
    # the index lost a document, and holds one the database never had
    backend.delete([doc_key("page", atlas.id or 0)])
    from app.core.time import utcnow
    from app.search.documents import SearchDocument

    ghost = SearchDocument(
        kind="page",
        ref_id=999,
        title="Ghost",
        body="cartography",
        url="/wiki/ghost",
        updated=utcnow(),
        version="1",
    )
    backend.upsert([ghost])
    assert _search(session, "cartography") == ["Ghost"]
    indexer.lock.release()
    restarted = Indexer(settings, engine)
    assert restarted.try_lead()  # reconciles on election
    restarted.drain()
    assert _search(session, "cartography") == ["Atlas"]
    restarted.lock.release()


def test_only_the_elected_indexer_writes(
    settings: Settings, engine: Engine, indexer: Indexer
) -> None:
    other = Indexer(settings, engine)
    assert not other.try_lead()
    with pytest.raises(RuntimeError):
        other.drain_once()
    indexer.lock.release()
    assert other.try_lead()  # takes over once the leader is gone
    other.lock.release()


def test_a_save_becomes_searchable_through_the_background_indexer(
    session: Session, settings: Settings, engine: Engine
) -> None:
    background = Indexer(settings, engine)
    background.start()
    try:
        deadline = time.monotonic() + 10
        while not background.lock.held and time.monotonic() < deadline:
            time.sleep(0.01)
        make_page(session, slug="warm-up", title="Warm up", body="first\n")
        assert background.wait_idle(10)
        # how fast is measured by bench/search_bench.py (save → visible), not by a timed test;
        # here: the running indexer picks the save up by itself, with no explicit drain
        started = time.monotonic()
        make_page(session, slug="atlas", title="Atlas", body="Cartography.\n")
        while _search(session, "cartography") != ["Atlas"]:
            assert time.monotonic() - started < 15.0, "the background indexer never indexed it"
            time.sleep(0.02)
    finally:
        background.stop()


def test_a_save_in_the_indexing_process_wakes_the_indexer_at_once(
    session: Session, settings: Settings, engine: Engine
) -> None:
    if settings.search_backend == "postgres":
        pytest.skip("the PostgreSQL backend writes in the change's own transaction")
    # a poll far longer than the test may wait: only the wake-up on commit can index in time
    background = Indexer(settings.model_copy(update={"search_poll_seconds": 600.0}), engine)
    background.start()
    try:
        deadline = time.monotonic() + 10
        while not background.lock.held and time.monotonic() < deadline:
            time.sleep(0.01)
        assert background.wait_idle(10)  # reconciled, now asleep until woken or polled
        started = time.monotonic()
        make_page(session, slug="atlas", title="Atlas", body="Cartography.\n")
        while _search(session, "cartography") != ["Atlas"]:
            assert time.monotonic() - started < 15.0, "the commit did not wake the indexer"
            time.sleep(0.02)
    finally:
        background.stop()


def test_saves_in_quick_succession_share_index_commits(
    session: Session, settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if settings.search_backend == "postgres":
        pytest.skip("the PostgreSQL backend writes in the change's own transaction")
    background = Indexer(
        settings.model_copy(update={"search_poll_seconds": 600.0}), engine, coalesce_seconds=2.0
    )
    commits: list[int] = []
    apply = background.backend.apply

    def counted(upserts: Sequence[SearchDocument], deletes: Sequence[str]) -> None:
        commits.append(len(upserts))
        apply(upserts, deletes)

    monkeypatch.setattr(background.backend, "apply", counted)
    background.start()
    try:
        deadline = time.monotonic() + 10
        while not background.lock.held and time.monotonic() < deadline:
            time.sleep(0.01)
        assert background.wait_idle(10)
        commits.clear()
        started = time.monotonic()
        for n in range(5):
            make_page(session, slug=f"atlas-{n}", title=f"Atlas {n}", body="Cartography.\n")
        while len(_search(session, "cartography")) < 5:
            assert time.monotonic() - started < 15.0, "the background indexer never indexed them"
            time.sleep(0.02)
    finally:
        background.stop()
    # the first save is indexed at once, the others wait for the pause after it and share a
    # commit (two if the saves took longer than the pause)
    assert sum(commits) == 5
    assert len(commits) <= 3
