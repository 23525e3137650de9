"""Several OS processes share one data dir: no corrupt index, no lost update, no LockError."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import Settings
from app.search import service, sources
from app.search.documents import doc_key
from app.search.indexer import Indexer
from tests.factories import make_page

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def whoosh_only(settings: Settings) -> None:
    if settings.search_backend != "whoosh":
        pytest.skip("file-lock election across processes is the Whoosh backend's concern")


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unit.search._worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


@pytest.mark.usefixtures("whoosh_only")
def test_processes_writing_at_once_lose_no_update(
    session: Session, settings: Settings, engine: Engine
) -> None:
    workers, each = 3, 12
    procs = [_spawn("write", str(settings.data_dir), str(w), str(each)) for w in range(workers)]
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert "LockError" not in err
    final = Indexer(settings, engine)
    assert final.try_lead()
    try:
        final.drain()
        db = {
            doc_key("page", i): v
            for i, v in sources.get("page").versions(session).items()  # type: ignore[union-attr]
        }
        assert len(db) == workers * each
        assert final.backend.indexed_versions() == db  # every page, at its last revision
        session.rollback()
        found = service.search(session=session, user=None, q="concurrency v2", per_page=50)
        assert found.total == workers * each
        assert service.search(session=session, user=None, q="v1").total == 0
    finally:
        final.lock.release()


@pytest.mark.usefixtures("whoosh_only")
def test_indexer_killed_mid_batch_is_replaced_without_loss(
    session: Session, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    for i in range(20):
        make_page(session, slug=f"k-{i}", title=f"Killed {i}", body="halfway through\n")
    ready = tmp_path / "ready"
    proc = _spawn("stall", str(settings.data_dir), str(ready))
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    successor = Indexer(settings, engine)
    assert not successor.try_lead()  # the stalled one still leads
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while not successor.try_lead():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        successor.drain()  # takes Whoosh's writer lock too: released with the dead process
        session.rollback()
        assert service.search(session=session, user=None, q="halfway", per_page=50).total == 20
    finally:
        successor.lock.release()
