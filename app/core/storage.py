"""Storage faults (a full disk, a read-only or vanished data dir) told apart from bugs.

The database and the file system report them in their own words; the error handler turns them
into a clear 507 or 503 instead of a 500, and the transaction that hit them has rolled back, so
nothing partial is stored.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

FULL = (
    "The server's disk is full, so nothing was saved. Your text is still in the editor: copy "
    "it somewhere safe and try again later; an administrator has to free space."
)
READ_ONLY = (
    "The wiki's data directory is read-only or unavailable right now, so nothing was saved. "
    "Reading may still work; an administrator has to make the storage writable again."
)

# SQLite's messages (sqlite3 has no error codes on older Pythons) and PostgreSQL's SQLSTATEs
_SQLITE_FULL = ("database or disk is full", "disk i/o error")
_SQLITE_READ_ONLY = ("readonly database", "read-only file system", "unable to open database")
_PG_FULL = {"53100"}  # disk_full
_PG_READ_ONLY = {"25006", "57P03"}  # read_only_sql_transaction, cannot_connect_now


@dataclass(frozen=True, slots=True)
class StorageFault:
    """What went wrong with the storage, as the person who hit it should hear it."""

    status: int
    title: str
    detail: str


_FULL = StorageFault(507, "Insufficient storage", FULL)
_READ_ONLY = StorageFault(503, "Storage unavailable", READ_ONLY)


def classify(exc: BaseException) -> StorageFault | None:
    """The storage fault behind ``exc``, or None when it is something else (a bug)."""
    for cause in _chain(exc):
        if isinstance(cause, OSError):
            if cause.errno in (errno.ENOSPC, errno.EDQUOT):
                return _FULL
            if cause.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                return _READ_ONLY
        if isinstance(cause, DBAPIError):
            orig = cause.orig
            state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
            if state in _PG_FULL:
                return _FULL
            if state in _PG_READ_ONLY:
                return _READ_ONLY
            text = str(orig).lower()
            if any(m in text for m in _SQLITE_FULL):
                return _FULL
            if any(m in text for m in _SQLITE_READ_ONLY):
                return _READ_ONLY
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
