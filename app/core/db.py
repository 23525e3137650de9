"""Engine and sessions; migrations are applied through Alembic."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Engine, event, inspect
from sqlalchemy.orm import Mapper, SessionTransaction
from sqlmodel import Session, SQLModel, create_engine

from app.core import changes
from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def make_engine(settings: Settings) -> Engine:
    """Create the engine for the configured database (SQLite tuned for concurrent readers)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's implicit transactions would defer BEGIN; take the write lock up front instead
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    changes.track(engine)
    return engine


_AWARE: dict[type[Any], tuple[str, ...]] = {}


def _aware_columns(cls: type[Any]) -> tuple[str, ...]:
    found = _AWARE.get(cls)
    if found is None:
        mapper: Mapper[Any] = inspect(cls)
        found = _AWARE[cls] = tuple(
            attr.key
            for attr in mapper.column_attrs
            if any(isinstance(c.type, DateTime) and c.type.timezone for c in attr.columns)
        )
    return found


def _make_aware(target: Any, *_args: Any) -> None:
    # SQLite keeps no zone: every timestamp Atrium stores is UTC, so say so on the way out
    # (PostgreSQL already returns aware values; this is then a no-op)
    state = target.__dict__
    for key in _aware_columns(type(target)):
        value = state.get(key)
        if isinstance(value, datetime) and value.tzinfo is None:
            state[key] = value.replace(tzinfo=UTC)


event.listen(SQLModel, "load", _make_aware, propagate=True)
event.listen(SQLModel, "refresh", _make_aware, propagate=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
    cur = dbapi_conn.cursor()
    # the busy timeout first: every later statement, even a pragma, may have to wait for a lock
    cur.execute("PRAGMA busy_timeout=30000")
    # switching to WAL takes an exclusive lock; once the file is in WAL mode (it stays so) a new
    # connection only reads the mode instead of contending with running writers
    if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE: a transaction that will write takes the lock at BEGIN, so two writers queue on
    # busy_timeout instead of one failing with "database is locked" at its first write.
    write = conn.get_execution_options().get("atrium_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


_WRITING = "atrium_write_transaction"
_GATE = "atrium_writer_gate"


class _WriterGate:
    """Lines up one SQLite database's writers, so each is let in as soon as the one before ends.

    SQLite's busy handler retries a locked ``BEGIN IMMEDIATE`` after sleeps growing to 100 ms, so
    a writer that has waited a while keeps losing to writers that come later: with 8 concurrent
    saves on 2 workers, the wait for the lock was p50 20 ms but p90 1.1 s and p99 4 s. Here the
    threads of a process wait on a lock, and one of them per process on an ``flock`` of a file
    beside the database; the kernel wakes it when the holder lets go (at the end of its
    transaction, or when its process dies). Writers that do not pass here (another program)
    still meet SQLite's own lock and busy timeout.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.threads = threading.Lock()
        self.fd: int | None = None

    def enter(self) -> bool:
        """Wait for the turn of this thread; False if that takes over 30 s (SQLite decides)."""
        if not self.threads.acquire(timeout=30):
            return False
        # opened per turn and closed at its end: a file kept open would hold the data dir's
        # file system busy (it could not be remounted read-only, say) for the process's life
        fd: int | None = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits without the GIL
        except OSError:
            if fd is not None:
                os.close(fd)
            self.threads.release()
            return False
        except BaseException:
            if fd is not None:
                os.close(fd)
            self.threads.release()
            raise
        self.fd = fd
        return True

    def leave(self) -> None:
        """Let the next writer in (closing the file lets go of its lock)."""
        fd, self.fd = self.fd, None
        try:
            if fd is not None:
                os.close(fd)
        finally:
            self.threads.release()


_GATES: dict[tuple[int, str], _WriterGate] = {}
_GATES_LOCK = threading.Lock()


def _writer_gate(session: Session) -> _WriterGate | None:
    url = session.get_bind().engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = os.path.abspath(str(url.database)) + "-writer.lock"
    key = (os.getpid(), path)  # a forked child must not share its parent's open file
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            gate = _GATES[key] = _WriterGate(path)
    return gate


@event.listens_for(Session, "after_transaction_end")
def _leave_gate(session: Session, transaction: SessionTransaction) -> None:
    # after the COMMIT or ROLLBACK itself, so the next writer's BEGIN IMMEDIATE finds no lock
    if session.info.get(_WRITING) is transaction:
        gate = session.info.pop(_GATE, None)
        if isinstance(gate, _WriterGate):
            gate.leave()


def begin_write(session: Session) -> None:
    """Start the session's transaction as a write transaction.

    Services call this first in every use case that writes. On SQLite it takes the write lock at
    BEGIN (so a read-check-write sequence such as "is the base revision still current?" cannot
    interleave with another writer), its turn given by a _WriterGate; on PostgreSQL services lock
    rows with FOR UPDATE instead.
    """
    current = session.get_transaction()
    if current is not None and session.info.get(_WRITING) is current:
        return  # already writing: a step of a larger use case joins its transaction
    if session.in_transaction():
        session.commit()  # ends the read-only transaction a dependency may have opened
    gate = _writer_gate(session)
    entered = gate is not None and gate.enter()
    try:
        session.connection(execution_options={"atrium_write": True})
    except BaseException:
        if gate is not None and entered:
            gate.leave()
        raise
    session.info[_WRITING] = session.get_transaction()
    if gate is not None and entered:
        session.info[_GATE] = gate


def is_writing(session: Session) -> bool:
    """Whether the session is inside a write transaction that :func:`begin_write` started."""
    current = session.get_transaction()
    return current is not None and session.info.get(_WRITING) is current


def is_sqlite(session: Session) -> bool:
    """Whether the session talks to SQLite."""
    bind = session.get_bind()
    return bind.dialect.name == "sqlite"


@contextmanager
def session_scope(engine: Engine, settings: Settings) -> Iterator[Session]:
    """A session for scripts and the CLI; services commit themselves."""
    with open_session(engine, settings) as session:
        yield session


def alembic_config(settings: Settings) -> Config:
    """Alembic configuration pointing at this project's migrations and the given database."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", settings.resolved_database_url.replace("%", "%%"))
    return cfg


def migrate(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)


def open_session(engine: Engine, settings: Settings) -> Session:
    """A session that carries the settings, so services can read limits without globals."""
    return Session(engine, expire_on_commit=False, info={"settings": settings})


def settings_of(session: Session) -> Settings:
    """The settings a session was opened with (defaults when opened elsewhere)."""
    settings = session.info.get("settings")
    return settings if isinstance(settings, Settings) else Settings()
