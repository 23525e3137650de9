"""Proposals as search documents (kind ``proposal``: title, description, options, status or
outcome, workshop).

A proposal of a workshop that is not closed yet is visible only to the workshop's members, so it
is indexed under the same admins-only scope as such workshops (members find it in the room);
its workshop's re-indexing (``cascade``) brings its proposals along.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from app.accounts.models import Role, User
from app.core.time import as_utc
from app.proposals import service
from app.search.documents import SearchDocument
from app.search.sources import register, register_dependents
from app.workshops import service as workshops
from app.workshops.models import WorkshopState

OPEN_SCOPE = "workshops:open"  # shared with the workshop source: not-yet-closed workshops


def load(session: Session, ids: Sequence[int]) -> list[SearchDocument]:
    """Every proposal asked for: its text, options, state or outcome, and workshop."""
    found = service.proposals_by_id(session=session, ids=ids)
    rooms = {
        w.id: w
        for w in workshops.workshops_by_id(
            session=session, ids={p.workshop_id for p in found if p.workshop_id}
        )
    }
    docs = []
    for p in found:
        room = rooms.get(p.workshop_id)
        status = str(p.outcome or p.state)
        options = "\n".join(f"Option: {o}" for o in p.options)
        body = "\n".join(
            part for part in (p.description, options, f"Proposal, {status}", p.outcome_note) if part
        )
        docs.append(
            SearchDocument(
                kind="proposal",
                ref_id=p.id or 0,
                title=p.title,
                body=body,
                url=f"/proposals/{p.id}",
                updated=as_utc(p.updated_at),
                version=service.search_version(p),
                status=status,
                scope="" if room is None or room.state == WorkshopState.closed else OPEN_SCOPE,
                context=f"Workshop: {room.title}" if room else "Proposal",
            )
        )
    return docs


def scopes(_session: Session, user: User | None) -> frozenset[str]:
    """Admins also find proposals of workshops that are not closed yet."""
    if user is not None and user.is_active and user.role == Role.admin:
        return frozenset({"", OPEN_SCOPE})
    return frozenset({""})


def _workshop_dependents(session: Session, workshop_id: int) -> list[tuple[str, int]]:
    views = service.workshop_proposals_ids(session=session, workshop_id=workshop_id)
    return [("proposal", pid) for pid in views]


register_dependents("workshop", _workshop_dependents)
register(
    "proposal",
    load=load,
    versions=lambda session: service.search_versions(session=session),
    label="Proposals",
    scopes=scopes,
)
