"""The content version: one number that every committed change to what readers see moves on.

A transaction that inserts, updates or deletes rows of a content table increments
``data_version.n`` just before it commits, inside the same transaction, so a reader that sees
version *v* also sees every change up to *v*. Caches of rendered screens (see
``app.pages.view_cache``) store the version they read *before* rendering and are valid while the
database still holds that version: correct across worker processes and servers without any
message between them, at the cost of one primary-key read per request.

Writes to tables that no screen shared between readers shows (sessions, drafts, notifications,
the search index and its outbox, audit and webhook bookkeeping, the render cache) do not count,
so signing in or reading one's inbox does not invalidate every cached page.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, event
from sqlmodel import Field, SQLModel

# tables whose rows never change what a shared (anonymous) screen shows
PRIVATE_TABLES = frozenset(
    {
        "api_token",
        "audit_entry",
        "draft",
        "login_failure",
        "login_session",
        "mention",
        "notification",
        "rendered_revision",
        "search_document",
        "search_outbox",
        "watch",
        "webhook_attempt",
        "webhook_delivery",
        "webhook_endpoint",
        "data_version",
        "alembic_version",
    }
)

_DML = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_CHANGED = "atrium_content_changed"
BUMP = "UPDATE data_version SET n = n + 1 WHERE id = 1"
READ = "SELECT n FROM data_version WHERE id = 1"


class DataVersion(SQLModel, table=True):
    """The single row holding the content version."""

    __tablename__ = "data_version"

    id: int = Field(primary_key=True)
    n: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


def changed_table(statement: str) -> str | None:
    """The table an INSERT, UPDATE or DELETE statement writes, or None for anything else."""
    found = _DML.match(statement)
    return found.group(1).lower() if found else None


def _note_write(
    conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    if statement[:1] in "SsPpBbRrCc":  # SELECT, PRAGMA, BEGIN, RELEASE/ROLLBACK, COMMIT: no write
        return
    table = changed_table(statement)
    if table is not None and table not in PRIVATE_TABLES:
        conn.info[_CHANGED] = True


_HAS_TABLE = "atrium_has_data_version"
_FIND_TABLE = {
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'data_version'",
    "postgresql": "SELECT to_regclass('data_version')",
}


def _bump_on_commit(conn: Any) -> None:
    # runs before the DBAPI commit, inside the transaction being committed; through the raw
    # cursor so no SQLAlchemy event fires again
    if not conn.info.pop(_CHANGED, False):
        return
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if not conn.info.get(_HAS_TABLE):
            # a database not migrated to 0014 yet (a migration test, a CLI before `migrate`):
            # nothing to bump; asked again next time, as a migration may add it meanwhile
            found = cursor.execute(_FIND_TABLE.get(conn.dialect.name, _FIND_TABLE["sqlite"]))
            row = found.fetchone()
            if not row or row[0] is None:
                return
            conn.info[_HAS_TABLE] = True
        cursor.execute(BUMP)
    finally:
        cursor.close()


def _forget(conn: Any) -> None:
    conn.info.pop(_CHANGED, None)


def track(engine: Engine) -> None:
    """Make every committed content change on ``engine`` move the content version."""
    event.listen(engine, "before_cursor_execute", _note_write)
    event.listen(engine, "commit", _bump_on_commit)
    event.listen(engine, "rollback", _forget)


def read_version(dbapi_connection: Any) -> int | None:
    """The current content version through a raw DBAPI connection (None if the row is missing)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(READ)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return int(row[0]) if row else None
