"""The indexer: drains the outbox into the index; exactly one process at a time does it.

Every web worker starts an ``Indexer`` thread; they compete for a lock (an ``flock`` on
``<data dir>/search/indexer.lock``, or a PostgreSQL advisory lock with the PostgreSQL backend so
several app servers elect one), and the winner reconciles the index with the database, then
drains the outbox in batches: read up to ``batch_size`` rows, load the current documents from
their sources, write them to the index in one commit, then delete exactly those rows in one
database commit. A crash anywhere in between leaves the rows in place, so the next indexer
(the lock is released when a process dies) does the batch again; writing a document twice is
harmless. The losers only search, and retry the lock now and then to take over.

A change committed in the process that holds the lock wakes its indexer at once; other processes'
changes are seen at the next poll (``ATRIUM_SEARCH_POLL_SECONDS``). Batches that follow one
another closely are spaced by ``COALESCE_SECONDS``, so a stream of saves shares index commits.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, delete, event, text
from sqlmodel import Session, col, select

from app.core.config import Settings
from app.core.db import begin_write, open_session
from app.search import sources
from app.search.backends import SearchBackend, get_backend
from app.search.documents import SearchDocument, doc_key, split_key
from app.search.models import OutboxEvent

log = logging.getLogger("atrium.search")

ADVISORY_KEY = 0x41747269756D  # "Atrium"
_WAKE = "atrium_search_wake"
# An index commit costs ~20 ms of CPU however few documents it holds (measured on the bench
# data: 1 page 29 ms, 20 pages 180 ms), and the indexer runs in a web worker, competing with its
# requests for the GIL. After a batch, the next one waits this long, so saves made
# meanwhile share one commit: a save under load is searchable a little later (still well under
# a second), and each costs far less. A change after a quiet spell is indexed at once.
COALESCE_SECONDS = 0.25
# the indexer thread running in this process, by the engine it reads the outbox through
_RUNNING: weakref.WeakKeyDictionary[Engine, Indexer] = weakref.WeakKeyDictionary()


@event.listens_for(Session, "after_flush")
def _note_outbox_rows(session: Session, _context: Any) -> None:
    # still the pre-flush state here: ``new`` holds what this flush inserted
    if any(isinstance(row, OutboxEvent) for row in session.new):
        session.info[_WAKE] = True


@event.listens_for(Session, "after_commit")
def _wake_local_indexer(session: Session) -> None:
    if session.info.pop(_WAKE, False) and isinstance(session.bind, Engine):
        indexer = _RUNNING.get(session.bind)
        if indexer is not None:
            indexer.wake()


@event.listens_for(Session, "after_rollback")
def _forget_outbox_rows(session: Session) -> None:
    session.info.pop(_WAKE, None)


class FileLock:
    """An exclusive ``flock``; the kernel releases it when the holding process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def acquire(self, *, blocking: bool = False) -> bool:
        """Take the lock; False if another process holds it (when not blocking)."""
        if self._fh is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        """Give the lock up."""
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class AdvisoryLock:
    """A PostgreSQL session advisory lock, held on a connection of its own."""

    def __init__(self, engine: Engine, key: int = ADVISORY_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def acquire(self, *, blocking: bool = False) -> bool:
        """Take the lock; False if another session holds it (when not blocking)."""
        if self._conn is not None:
            return True
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        fn = "pg_advisory_lock" if blocking else "pg_try_advisory_lock"
        got = conn.execute(text(f"SELECT {fn}(:k)"), {"k": self.key}).scalar()
        if got is False:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        """Give the lock up."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            finally:
                self._conn.close()
                self._conn = None


class Indexer:
    """Drains the search outbox into the backend while it holds the indexer lock."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        backend: SearchBackend | None = None,
        *,
        batch_size: int = 500,
        coalesce_seconds: float = COALESCE_SECONDS,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.backend = backend or get_backend(settings, engine)
        self.batch_size = batch_size
        self.coalesce_seconds = coalesce_seconds
        self.lock: FileLock | AdvisoryLock = (
            AdvisoryLock(engine)
            if self.backend.name == "postgres"
            else FileLock(settings.data_dir / "search" / "indexer.lock")
        )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._hurry = threading.Event()
        self._thread: threading.Thread | None = None
        self._leading = False  # holds the lock and has reconciled the index since taking it

    # -- one step at a time (also what tests and the CLI call)

    def try_lead(self) -> bool:
        """Become the indexer if no other process is; reconcile when newly elected."""
        if self._leading:
            return True
        if not self.lock.acquire():
            return False
        log.info("search indexer elected in process %s", os.getpid())
        self.backend.ensure()
        self.reconcile()
        self._leading = True
        return True

    def drain_once(self) -> int:
        """Index one batch of outbox rows; returns how many rows it consumed."""
        if not self.lock.held:
            raise RuntimeError("only the elected indexer may write to the index")
        registered = sources.sources()
        with open_session(self.engine, self.settings) as session:
            rows = session.exec(
                select(OutboxEvent)
                .where(col(OutboxEvent.kind).in_(list(registered)))
                .order_by(col(OutboxEvent.id))
                .limit(self.batch_size)
            ).all()
            if not rows:
                return 0
            wanted: dict[str, set[int]] = defaultdict(set)
            for row in rows:
                wanted[row.kind].add(row.ref_id)
            upserts: list[SearchDocument] = []
            deletes: list[str] = []
            for kind, ids in wanted.items():
                docs = registered[kind].load(session, sorted(ids))
                upserts += docs
                found = {d.ref_id for d in docs}
                deletes += [doc_key(kind, i) for i in sorted(ids - found)]
            row_ids = [r.id for r in rows]
            session.rollback()  # end the read transaction before the (slow) index commit
            self.backend.apply(upserts, deletes)
            begin_write(session)
            session.execute(delete(OutboxEvent).where(col(OutboxEvent.id).in_(row_ids)))
            session.commit()
        return len(row_ids)

    def drain(self) -> int:
        """Drain until the outbox is empty; returns the rows consumed."""
        total = 0
        while n := self.drain_once():
            total += n
        return total

    def reconcile(self) -> int:
        """Queue every document whose indexed version differs from the database's."""
        indexed = self.backend.indexed_versions()
        registered = sources.sources()
        stale: list[tuple[str, int]] = []
        with open_session(self.engine, self.settings) as session:
            live: set[str] = set()
            for kind, source in registered.items():
                for ref_id, version in source.versions(session).items():
                    key = doc_key(kind, ref_id)
                    live.add(key)
                    if indexed.get(key) != version:
                        stale.append((kind, ref_id))
            stale += [
                split_key(k) for k in indexed if k not in live and split_key(k)[0] in registered
            ]
            if stale:
                from app.search import service

                session.rollback()
                begin_write(session)
                for kind, ref_id in stale:
                    service.enqueue(session=session, kind=kind, ref_id=ref_id)
                session.commit()
        if stale:
            log.info("search reconcile: %d documents to (re)index", len(stale))
        return len(stale)

    # -- the background thread of a web worker

    def start(self) -> None:
        """Run in a daemon thread until ``stop``."""
        self._thread = threading.Thread(target=self._run, name="atrium-search-indexer", daemon=True)
        _RUNNING[self.engine] = self
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and give up the lock."""
        self._stop.set()
        self._hurry.set()
        self._wake.set()
        if _RUNNING.get(self.engine) is self:
            del _RUNNING[self.engine]
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.lock.release()
        self._leading = False

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the outbox has been drained (for tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._idle.clear()
            self._hurry.set()
            self.wake()
            if self._idle.wait(timeout=max(0.0, deadline - time.monotonic())):
                return True
        return False

    def _run(self) -> None:
        last_drain = -math.inf  # when the last batch that found rows began
        while not self._stop.is_set():
            try:
                if not self.try_lead():
                    self._stop.wait(2.0)  # another process indexes; take over if it dies
                    continue
                # A lone change is indexed at once; under a stream of saves, changes gather for
                # up to `coalesce_seconds` into one index commit (see COALESCE_SECONDS).
                pause = last_drain + self.coalesce_seconds - time.monotonic()
                if pause > 0 and not self._hurry.is_set():
                    self._hurry.wait(pause)
                    if self._stop.is_set():
                        break
                self._hurry.clear()
                started = time.monotonic()
                consumed = self.drain_once()
                if consumed:
                    # a full batch means a backlog: the next batch follows without a pause
                    last_drain = started if consumed < self.batch_size else -math.inf
                    continue
                self._idle.set()
            except Exception:
                log.exception("search indexer failed; retrying")
                self._stop.wait(1.0)
                continue
            self._wake.wait(self.settings.search_poll_seconds)
            self._wake.clear()


def run_dedicated(
    settings: Settings,
    engine: Engine,
    stop: threading.Event,
    ready: Callable[[], None] | None = None,
) -> None:
    """Be the indexer in a process of its own (``atrium indexer``) until ``stop`` is set.

    Web workers run the indexer in a thread, where its work (~10 ms of CPU per page document,
    and ~20 ms per index commit) holds the GIL that the worker's requests need, among them the
    save that holds the database's write lock for everyone: ``atrium serve`` starts this process
    beside its workers instead, and their threads stand by (they take over within seconds if
    this process ends). ``ready`` is called once the lock has been tried: it is this process's,
    or another indexer's, and this one stands by until it is free.
    """
    indexer = Indexer(settings, engine)
    indexer.lock.acquire()
    if ready is not None:
        ready()
    indexer.start()
    try:
        stop.wait()
    finally:
        indexer.stop()
