"""`atrium indexer`: the search indexer in a process of its own, as `atrium serve` starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app import cli
from app.core.config import Settings
from app.core.db import ROOT
from app.search import service
from app.search.indexer import Indexer
from tests.factories import make_page
from tests.unit.search.conftest import titles


def _env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "ATRIUM_DATA_DIR": str(settings.data_dir),
        "ATRIUM_SECRET_KEY": "test-secret",
        "ATRIUM_SEARCH_BACKEND": settings.search_backend,
    }
    if settings.database_url:
        env["ATRIUM_DATABASE_URL"] = settings.database_url
    return env


@pytest.fixture
def started(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """The indexer process, started as `atrium serve` starts it (ready when this returns)."""
    cli._start_indexer(_env(settings))
    child = cli._indexer
    assert child is not None
    yield child
    if child.poll() is None:
        child.kill()
        child.wait(10)


def _wait_for(check: object, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_indexer_process_holds_the_lock_and_indexes_saves(
    settings: Settings, engine: Engine, session: Session, started: subprocess.Popen[bytes]
) -> None:
    # ready: a worker's indexer thread, starting after it, finds the lock taken and stands by
    worker = Indexer(settings, engine)
    assert not worker.try_lead()
    make_page(session, slug="atlas", title="Atlas", body="Cartography of the model.\n")

    def found() -> bool:
        session.rollback()
        return titles(service.search(session=session, user=None, q="cartography")) == ["Atlas"]

    _wait_for(found, "the indexer process never indexed the save")
    # stopped (SIGTERM, as uvicorn's exit sends it), it ends and a worker takes over
    started.send_signal(signal.SIGTERM)
    assert started.wait(20) == 0
    assert worker.try_lead()
    worker.lock.release()


def test_the_indexer_process_ends_with_its_parent(settings: Settings) -> None:
    # the parent starts it and ends without waiting for it (uvicorn's exit, after the exec)
    script = "import sys; from app import cli; cli._start_indexer({}); print(cli._indexer.pid)"
    parent = subprocess.run(
        [sys.executable, "-c", script.replace("{}", repr(_env(settings)))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    pid = int(parent.stdout.split()[-1])

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # an exited child of the ended parent is reaped by init; a zombie counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] == "Z"

    _wait_for(gone, "the indexer outlived the process that started it")
