"""Decision records as search documents: every MADR section, rejected options and their cons
included, so "why not X?" finds the decision that weighed X."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from app.decisions import views
from app.search.documents import SearchDocument
from app.search.sources import register, register_dependents


def _body(view: views.DecisionView) -> str:
    d = view.decision
    parts = [d.context, d.drivers]
    for option in d.options:
        chosen = d.chosen_option and option.get("name", "").lower() == d.chosen_option.lower()
        label = "Chosen option" if chosen else "Option considered (not chosen)"
        parts.append(f"{label}: {option.get('name', '')}")
        parts.append(f"Pros: {option.get('pros', '')}")
        parts.append(f"Cons: {option.get('cons', '')}")
    parts += [f"Chosen: {d.chosen_option}", d.rationale, d.consequences, f"Decided by {d.method}"]
    if d.workshop_id is not None:
        parts.append(f"Workshop #{d.workshop_id}")
    if d.decided_on is not None:
        parts.append(f"Decided on {d.decided_on.isoformat()}")
    return "\n".join(p for p in parts if p and p.strip())


def load_decisions(session: Session, ids: Sequence[int]) -> list[SearchDocument]:
    """Every decision, whatever its status (status: filters tell them apart)."""
    docs = []
    for view in views.search_views(session=session, ids=ids):
        d = view.decision
        # links to restricted pages are left out of the view: the path never names one
        pages = [lv.page for lv in view.page_links if lv.page is not None]
        path = pages[0].slug if pages else ""
        docs.append(
            SearchDocument(
                kind="decision",
                ref_id=d.id or 0,
                title=f"{view.ref}: {d.title}",
                body=_body(view),
                url=f"/decisions/{view.ref}",
                updated=d.updated_at,
                version=views.search_version(d),
                headings=" ".join(o.get("name", "") for o in d.options),
                tags=tuple(d.tags),
                authors=tuple(u.username for u in view.deciders),
                path=path,
                status=str(d.status),
                context=f"{view.ref} · {d.status}",
            )
        )
    return docs


def _page_dependents(session: Session, page_id: int) -> list[tuple[str, int]]:
    # a decision's path names its first linked page anyone may read: a restriction changes it
    return [("decision", i) for i in views.decisions_linking(session=session, page_id=page_id)]


register_dependents("page", _page_dependents)
register(
    "decision",
    load=load_decisions,
    versions=lambda session: views.search_versions(session=session),
    label="Decisions",
)
