"""The content version moves with every committed content change, and only then."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.core.changes import changed_table, read_version
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.factories import make_page, make_user


def _version(engine: Engine) -> int:
    raw = engine.raw_connection()
    try:
        found = read_version(raw.dbapi_connection)
    finally:
        raw.close()
    assert found is not None
    return found


def test_committed_content_changes_move_it_once_per_transaction(
    engine: Engine, session: Session
) -> None:
    start = _version(engine)
    author = make_user(session, username="alice")
    after_user = _version(engine)
    assert after_user == start + 1
    page = make_page(session, slug="core/r2v", title="R2V", body="one\n", author=author)
    after_page = _version(engine)
    assert after_page == after_user + 1  # many rows, one transaction: one step
    pages.save_page(
        session=session,
        slug="core/r2v",
        edit=PageEdit(title="R2V", body="two\n", base=page.head),
        author=author,
    )
    assert _version(engine) == after_page + 1


def test_rolled_back_and_private_writes_leave_it(engine: Engine, session: Session) -> None:
    make_page(session, slug="core/r2v", title="R2V", body="one\n")
    start = _version(engine)
    session.exec(text("UPDATE page SET title = 'Changed' WHERE slug = 'core/r2v'"))  # type: ignore[call-overload]
    session.rollback()
    assert _version(engine) == start
    session.exec(text("DELETE FROM search_outbox"))  # type: ignore[call-overload]
    session.exec(text("DELETE FROM login_session"))  # type: ignore[call-overload]
    session.commit()
    assert _version(engine) == start
    session.exec(text("UPDATE page SET title = 'Changed' WHERE slug = 'core/r2v'"))  # type: ignore[call-overload]
    session.commit()
    assert _version(engine) == start + 1


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("INSERT INTO page (slug) VALUES (?)", "page"),
        ('UPDATE "revision" SET x = 1', "revision"),
        ("  delete from thread where id = 1", "thread"),
        ("SELECT * FROM page", None),
        ("PRAGMA foreign_keys=ON", None),
    ],
)
def test_statements_are_read_for_the_table_they_write(statement: str, table: str | None) -> None:
    assert changed_table(statement) == table
