"""Threads and comments as search documents, registered with the search seam."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlmodel import Session

from app.discussions import service
from app.pages.rendering import html_to_text
from app.search.documents import SearchDocument
from app.search.sources import (
    page_scope,
    page_scopes,
    register,
    register_dependents,
    restricted_roots,
)


def _crumbs(slug: str, title: str) -> tuple[tuple[str, str], ...]:
    return ((slug, title),)


def load_threads(session: Session, ids: Sequence[int]) -> list[SearchDocument]:
    """Threads on live pages: the title, the passage and the opening comment."""
    docs = []
    views = service.threads_by_id(session=session, ids=ids)
    roots = restricted_roots(session) if views else ()
    for view in views:
        if view.page.is_deleted:
            continue
        scope = page_scope(roots, view.page.slug)
        t = view.thread
        first = view.first
        opening = html_to_text(first.comment.html) if first is not None and first.visible else ""
        docs.append(
            SearchDocument(
                kind="thread",
                ref_id=t.id or 0,
                title=t.title or view.excerpt[:120] or f"Discussion #{t.id}",
                body="\n".join(part for part in (t.anchor_quote, opening) if part),
                url=f"/threads/{t.id}",
                updated=t.last_activity_at,
                version=service.search_version(t, view.page, scope),
                headings=t.anchor_heading_text,
                authors=tuple(dict.fromkeys(c.author.username for c in view.comments if c.author)),
                path=view.page.slug,
                status=str(t.status),
                crumbs=_crumbs(view.page.slug, view.page.title),
                context=view.page.title,
                scope=scope,
            )
        )
    return docs


def load_comments(session: Session, ids: Sequence[int]) -> list[SearchDocument]:
    """Visible comments on live pages (removed and hidden ones leave the index)."""
    docs = []
    rows = service.comments_by_id(session=session, ids=ids)
    pages = service.pages_of(session=session, threads=[t for _, t in rows])
    authors = service.authors_of(session=session, comments=[c for c, _ in rows])
    roots = restricted_roots(session) if rows else ()
    for comment, thread in rows:
        page = pages.get(thread.page_id)
        if page is None or page.is_deleted:
            continue
        if comment.deleted_at is not None or comment.hidden_at is not None:
            continue
        author = authors.get(comment.author_id or 0)
        scope = page_scope(roots, page.slug)
        docs.append(
            SearchDocument(
                kind="comment",
                ref_id=comment.id or 0,
                title=thread.title or f"Comment in discussion #{thread.id}",
                body=html_to_text(comment.html),
                url=f"/threads/{thread.id}#comment-{comment.id}",
                updated=comment.edited_at or comment.created_at,
                version=service.comment_search_version(comment, page, scope),
                authors=(author.username,) if author else (),
                path=page.slug,
                status=str(thread.status),
                crumbs=_crumbs(page.slug, page.title),
                context=page.title,
                scope=scope,
            )
        )
    return docs


def _page_dependents(session: Session, page_id: int) -> list[tuple[str, int]]:
    return service.documents_of_page(session=session, page_id=page_id)


def _scope_of(session: Session) -> Callable[[str], str]:
    roots = restricted_roots(session)
    return lambda slug: page_scope(roots, slug)


register_dependents("page", _page_dependents)
register(
    "thread",
    load=load_threads,
    versions=lambda session: service.thread_versions(session=session, scope_of=_scope_of(session)),
    label="Discussions",
    scopes=page_scopes,
)
register(
    "comment",
    load=load_comments,
    versions=lambda session: service.comment_versions_index(
        session=session, scope_of=_scope_of(session)
    ),
    label="Comments",
    scopes=page_scopes,
)
