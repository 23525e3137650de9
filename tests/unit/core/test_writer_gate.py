"""SQLite writers take turns at a gate and leave it when their transaction ends, however it ends."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.core.config import Settings
from app.core.db import begin_write, open_session


@pytest.fixture(autouse=True)
def _sqlite_only(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writers lock rows instead")


def _write_in_thread(engine: Engine, settings: Settings, entered: threading.Event) -> None:
    with open_session(engine, settings) as other:
        begin_write(other)
        entered.set()
        other.commit()


def test_a_second_writer_enters_when_the_first_commits(engine: Engine, settings: Settings) -> None:
    entered = threading.Event()
    with open_session(engine, settings) as first:
        begin_write(first)
        worker = threading.Thread(target=_write_in_thread, args=(engine, settings, entered))
        worker.start()
        assert not entered.wait(0.3)  # it waits for the first writer
        first.execute(text("UPDATE data_version SET n = n WHERE id = 1"))
        first.commit()
        assert entered.wait(10)
        worker.join(10)


@pytest.mark.parametrize("end", ["rollback", "close", "failed flush"])
def test_the_gate_opens_however_the_transaction_ends(
    engine: Engine, settings: Settings, end: str
) -> None:
    first = open_session(engine, settings)
    begin_write(first)
    if end == "rollback":
        first.rollback()
    elif end == "close":
        first.close()
    else:
        with pytest.raises(Exception, match="no such table"):
            first.execute(text("INSERT INTO no_such_table VALUES (1)"))
        first.close()
    entered = threading.Event()
    started = time.monotonic()
    _write_in_thread(engine, settings, entered)
    assert entered.is_set()
    assert time.monotonic() - started < 5
    first.close()


def test_a_write_joining_a_larger_use_case_does_not_wait_for_itself(
    session: Session,
) -> None:
    begin_write(session)
    begin_write(session)  # a step of the same transaction: already through the gate
    session.commit()
    begin_write(session)  # a new transaction of the same session
    session.rollback()
