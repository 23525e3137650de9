"""Pages read use cases about history: revisions, diffs, recent changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select  # sqlmodel's select is typed for at most 4 columns
from sqlmodel import Session, col

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core.time import as_utc
from app.pages.diff import Diff, diff_text
from app.pages.models import Page, Revision
from app.pages.schemas import ChangeRead, RevisionRead
from app.pages.service import get_page, get_revision

# lists show sizes, never texts: they read these columns (not Revision objects: building 50
# ORM instances was a sixth of a history request)
_LISTED = (
    col(Revision.number),
    col(Revision.kind),
    col(Revision.slug),
    col(Revision.title),
    col(Revision.tags),
    col(Revision.summary),
    col(Revision.created_at),
    col(Revision.size),
    col(User.username),
)


def revision_read(rev: Revision, author: str | None) -> RevisionRead:
    """The public shape of a revision."""
    return RevisionRead(
        number=rev.number,
        kind=rev.kind,
        slug=rev.slug,
        title=rev.title,
        tags=list(rev.tags),
        summary=rev.summary,
        author=author,
        created_at=rev.created_at,
        size=rev.size,
    )


def _listed_read(row: Sequence[Any]) -> dict[str, Any]:
    """The fields of a RevisionRead from a row of _LISTED columns."""
    number, kind, slug, title, tags, summary, created_at, size, author = row[:9]
    return {
        "number": number,
        "kind": kind,
        "slug": slug,
        "title": title,
        "tags": list(tags),
        "summary": summary,
        "author": author,
        "created_at": as_utc(created_at),  # as loading a Revision makes it (SQLite drops zones)
        "size": size,
    }


def list_revisions(
    *, session: Session, slug: str, user: User | None, before: int | None = None, limit: int = 50
) -> tuple[Page, list[RevisionRead]]:
    """A page's revisions, newest first; ``before`` pages back by revision number."""
    page = get_page(session=session, slug=slug, user=user, include_deleted=True)
    stmt = (
        select(*_LISTED)
        .join(User, col(User.id) == Revision.author_id, isouter=True)
        .where(col(Revision.page_id) == page.id)
        .order_by(col(Revision.number).desc())
        .limit(max(1, min(limit, 500)))
    )
    if before is not None:
        stmt = stmt.where(col(Revision.number) < before)
    return page, [RevisionRead(**_listed_read(row)) for row in session.execute(stmt)]


def get_page_revision(
    *, session: Session, slug: str, number: int, user: User | None
) -> tuple[Page, Revision, str | None]:
    """One revision of a page with its author's username."""
    page = get_page(session=session, slug=slug, user=user, include_deleted=True)
    rev = get_revision(session=session, page=page, number=number)
    author = session.get(User, rev.author_id) if rev.author_id else None
    return page, rev, author.username if author else None


def diff_revisions(
    *, session: Session, slug: str, old: int, new: int, user: User | None
) -> tuple[Page, Revision, Revision, Diff]:
    """The difference between two revisions of a page (in either order given)."""
    page = get_page(session=session, slug=slug, user=user, include_deleted=True)
    a = get_revision(session=session, page=page, number=min(old, new))
    b = get_revision(session=session, page=page, number=max(old, new))
    return page, a, b, diff_text(a.body, b.body)


def recent_changes(
    *,
    session: Session,
    user: User | None,
    author: str | None = None,
    prefix: str | None = None,
    before: datetime | None = None,
    limit: int = 50,
) -> list[ChangeRead]:
    """Wiki-wide revisions, newest first, optionally by one author or under one slug prefix.

    Revisions of pages hidden from ``user`` are left out in the query itself (so a batch is
    still full), both where the page is now and where it was when the revision was made.
    """
    accounts.require(user, "page.read")
    view = access.access_for(session=session, user=user)
    stmt = (
        select(*_LISTED, col(Page.slug))
        .join(Page, col(Page.id) == Revision.page_id)
        .join(User, col(User.id) == Revision.author_id, isouter=True)
        .where(view.readable(col(Page.slug)), view.readable(col(Revision.slug)))
        .order_by(col(Revision.created_at).desc(), col(Revision.id).desc())
        .limit(max(1, min(limit, 500)))
    )
    if author:
        stmt = stmt.where(col(User.username) == author)
    if prefix:
        prefix = prefix.strip("/")
        stmt = stmt.where(or_(col(Page.slug) == prefix, col(Page.slug).startswith(prefix + "/")))
    if before is not None:
        stmt = stmt.where(col(Revision.created_at) < before)
    return [ChangeRead(**_listed_read(row), page_slug=row[9]) for row in session.execute(stmt)]


def authors_of(revisions: Sequence[RevisionRead]) -> list[str]:
    """Distinct authors of some revisions, in order of appearance."""
    return list(dict.fromkeys(r.author for r in revisions if r.author))
