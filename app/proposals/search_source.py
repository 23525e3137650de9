"""Proposals as search documents (kind ``proposal``: title, description, options, status or
outcome, workshop).

A proposal of a workshop that is not closed yet is visible only to the workshop's members, so it
is indexed under the same admins-only scope as such workshops (members find it in the room);
its workshop's re-indexing (``cascade``) brings its proposals along. A proposal to change pages in
a restricted subtree takes that subtree's scope (pages in several restricted subtrees: a scope
only admins read), like the pages' own documents.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from app.accounts.models import Role, User
from app.core.time import as_utc
from app.proposals import service
from app.search.documents import SearchDocument
from app.search.sources import (
    page_scope,
    page_scopes,
    register,
    register_dependents,
    restricted_roots,
    scoped_version,
)
from app.workshops import service as workshops
from app.workshops.models import WorkshopState

OPEN_SCOPE = "workshops:open"  # shared with the workshop source: not-yet-closed workshops
SEVERAL_SCOPE = "subtrees:several"  # changes pages in more than one restricted subtree


def _page_scopes(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Proposal id -> the scope its page changes give it ("" for none restricted)."""
    roots = restricted_roots(session)
    if not roots:
        return {}
    out = {}
    for pid, slugs in service.change_slugs(session=session, ids=ids).items():
        found = {page_scope(roots, slug) for slug in slugs} - {""}
        if found:
            out[pid] = found.pop() if len(found) == 1 else SEVERAL_SCOPE
    return out


def load(session: Session, ids: Sequence[int]) -> list[SearchDocument]:
    """Every proposal asked for: its text, options, state or outcome, and workshop."""
    found = service.proposals_by_id(session=session, ids=ids)
    rooms = {
        w.id: w
        for w in workshops.workshops_by_id(
            session=session, ids={p.workshop_id for p in found if p.workshop_id}
        )
    }
    restricted = _page_scopes(session, [p.id for p in found if p.id is not None])
    docs = []
    for p in found:
        room = rooms.get(p.workshop_id)
        scope = "" if room is None or room.state == WorkshopState.closed else OPEN_SCOPE
        scope = scope or restricted.get(p.id or 0, "")
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
                version=scoped_version(service.search_version(p), restricted.get(p.id or 0, "")),
                status=status,
                scope=scope,
                context=f"Workshop: {room.title}" if room else "Proposal",
            )
        )
    return docs


def scopes(session: Session, user: User | None) -> frozenset[str]:
    """Admins also find proposals of workshops that are not closed yet; everyone the proposals
    about the restricted subtrees they may read."""
    if user is not None and user.is_active and user.role == Role.admin:
        return frozenset({OPEN_SCOPE, SEVERAL_SCOPE}) | page_scopes(session, user)
    return page_scopes(session, user)


def _versions(session: Session) -> dict[int, str]:
    found = service.search_versions(session=session)
    for pid, scope in _page_scopes(session, list(found)).items():
        found[pid] = scoped_version(found[pid], scope)
    return found


def _workshop_dependents(session: Session, workshop_id: int) -> list[tuple[str, int]]:
    views = service.workshop_proposals_ids(session=session, workshop_id=workshop_id)
    return [("proposal", pid) for pid in views]


def _page_dependents(session: Session, page_id: int) -> list[tuple[str, int]]:
    # a restriction on the page's subtree re-scopes the proposals that would change it
    found = service.proposals_changing(session=session, page_id=page_id)
    return [("proposal", pid) for pid in found]


register_dependents("workshop", _workshop_dependents)
register_dependents("page", _page_dependents)
register(
    "proposal",
    load=load,
    versions=_versions,
    label="Proposals",
    scopes=scopes,
)
