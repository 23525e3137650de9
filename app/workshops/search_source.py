"""Workshops as search documents (kind ``workshop``: title, goal, state, date).

Closed workshops are readable by everyone who may read the wiki; a workshop that is not closed
yet is visible only to its members, which a per-user scope cannot tell without the database, so
those are indexed under a scope only admins read (members find theirs on /workshops).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from app.accounts.models import Role, User
from app.core.time import as_utc
from app.search.documents import SearchDocument
from app.search.sources import register
from app.workshops import service
from app.workshops.models import WorkshopState

OPEN_SCOPE = "workshops:open"


def load(session: Session, ids: Sequence[int]) -> list[SearchDocument]:
    """Every workshop asked for, with its title, goal, state and date."""
    docs = []
    for w in service.workshops_by_id(session=session, ids=ids):
        when = as_utc(w.starts_at) if w.starts_at else None
        date = f"{when:%Y-%m-%d}" if when else ""
        docs.append(
            SearchDocument(
                kind="workshop",
                ref_id=w.id or 0,
                title=w.title,
                body="\n".join(p for p in (w.goal, f"Workshop, {w.state}", date) if p),
                url=f"/workshops/{w.id}",
                updated=as_utc(w.updated_at),
                version=service.search_version(w),
                status=str(w.state),
                scope="" if w.state == WorkshopState.closed else OPEN_SCOPE,
                context=f"Workshop {date}".strip(),
            )
        )
    return docs


def scopes(_session: Session, user: User | None) -> frozenset[str]:
    """Admins also find workshops that are not closed yet."""
    if user is not None and user.is_active and user.role == Role.admin:
        return frozenset({"", OPEN_SCOPE})
    return frozenset({""})


register(
    "workshop",
    load=load,
    versions=lambda session: service.workshop_versions(session=session),
    label="Workshops",
    scopes=scopes,
)
