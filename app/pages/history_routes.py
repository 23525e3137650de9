"""Pages HTML screens about history: page history, diffs, recent changes and its feed, lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from feedgen.feed import FeedGenerator

from app.accounts import service as accounts
from app.core.deps import OptionalUser, SessionDep
from app.core.templating import is_htmx, render
from app.core.time import as_utc
from app.decisions import service as decisions
from app.discussions import service as discussions
from app.pages import history, service, structure
from app.reviews import service as reviews

router = APIRouter(include_in_schema=False)


@router.get("/history/{slug:path}", name="pages.history")
def page_history(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    page, revisions = history.list_revisions(
        session=session, slug=slug, user=user, before=before, limit=50
    )
    next_before = revisions[-1].number if len(revisions) == 50 else None
    # discussion activity in the same time window as this batch of revisions, as one timeline
    upper = (
        service.get_revision(session=session, page=page, number=before).created_at
        if before
        else None
    )
    lower = revisions[-1].created_at if next_before and revisions else None
    talk = [
        a
        for a in discussions.page_activity(session=session, page=page)
        if (upper is None or as_utc(a.at) < as_utc(upper))
        and (lower is None or as_utc(a.at) >= as_utc(lower))
    ]
    # owners, status and review changes, in the same window
    stewardship = [
        a
        for a in reviews.page_activity(session=session, page=page)
        if (upper is None or as_utc(a.at) < as_utc(upper))
        and (lower is None or as_utc(a.at) >= as_utc(lower))
    ]
    timeline: list[tuple[datetime, str, object]] = (
        [(as_utc(r.created_at), "revision", r) for r in revisions]
        + [(as_utc(a.at), "discussion", a) for a in talk]
        + [(as_utc(a.at), "stewardship", a) for a in stewardship]
    )
    timeline.sort(key=lambda item: item[0], reverse=True)
    ctx = {
        "page": page,
        "revisions": revisions,
        "timeline": timeline,
        "next_before": next_before,
        "crumbs": structure.breadcrumbs(session=session, slug=page.slug, user=user),
        "can_edit": accounts.can(user, "page.revert")
        and service.can_edit(session=session, slug=page.slug, user=user),
        "revision_decisions": decisions.revision_decisions(session=session, page_id=page.id or 0),
    }
    block = "rows" if is_htmx(request) and before else None
    return render(request, "pages/history.html", ctx, block=block)


@router.get("/diff/{slug:path}", name="pages.diff")
def diff(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    from_: Annotated[int, Query(alias="from", ge=1)],
    to: Annotated[int, Query(ge=1)],
    view: Literal["inline", "split"] = "split",
) -> HTMLResponse:
    page, old, new, result = history.diff_revisions(
        session=session, slug=slug, old=from_, new=to, user=user
    )
    ctx = {
        "page": page,
        "old": old,
        "new": new,
        "diff": result,
        "view": view,
        "crumbs": structure.breadcrumbs(session=session, slug=page.slug, user=user),
        "can_edit": accounts.can(user, "page.revert")
        and service.can_edit(session=session, slug=page.slug, user=user),
    }
    return render(request, "pages/diff.html", ctx, block="diff" if is_htmx(request) else None)


@router.get("/recent", name="pages.recent")
def recent(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    author: Annotated[str | None, Query(max_length=64)] = None,
    prefix: Annotated[str | None, Query(max_length=255)] = None,
    before: datetime | None = None,
) -> HTMLResponse:
    changes = history.recent_changes(
        session=session,
        user=user,
        author=author or None,
        prefix=prefix or None,
        before=before,
        limit=50,
    )
    ctx = {
        "changes": changes,
        "author": author or "",
        "prefix": prefix or "",
        "next_before": changes[-1].created_at.isoformat() if len(changes) == 50 else None,
    }
    return render(request, "pages/recent.html", ctx, block="results" if is_htmx(request) else None)


@router.get("/recent.atom", name="pages.recent_feed")
def recent_feed(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    author: Annotated[str | None, Query(max_length=64)] = None,
    prefix: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    changes = history.recent_changes(
        session=session, user=user, author=author or None, prefix=prefix or None, limit=50
    )
    base = str(request.base_url).rstrip("/")
    feed = FeedGenerator()
    feed.id(f"{base}/recent")
    feed.title("Atrium — recent changes")
    feed.link(href=f"{base}/recent", rel="alternate")
    feed.link(href=str(request.url), rel="self")
    feed.language("en")
    for change in reversed(changes):
        entry = feed.add_entry()
        entry.id(f"{base}/wiki/{change.page_slug}?rev={change.number}")
        entry.title(f"{change.title} (revision {change.number}, {change.kind})")
        entry.link(
            href=f"{base}/diff/{change.page_slug}?from={max(1, change.number - 1)}"
            f"&to={change.number}"
        )
        entry.author(name=change.author or "Atrium")
        entry.updated(as_utc(change.created_at))
        entry.summary(change.summary or change.kind.value)
    if not changes:
        feed.updated(datetime.fromisoformat("2026-01-01T00:00:00+00:00"))
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml")


@router.get("/special/tree", name="pages.tree")
def tree(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    prefix: Annotated[str, Query(max_length=255)] = "",
) -> HTMLResponse:
    nodes = structure.tree_children(session=session, prefix=prefix, user=user)
    items = [{"node": n, "children": None, "current": False} for n in nodes]
    return render(
        request,
        "pages/tree.html",
        {"items": items, "prefix": prefix},
        block="level" if is_htmx(request) else None,
    )


@router.get("/backlinks/{slug:path}", name="pages.backlinks")
def backlinks(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> HTMLResponse:
    page = service.get_page(session=session, slug=slug, user=user)
    pages = structure.backlinks(session=session, slug=slug, user=user)
    return render(
        request,
        "pages/list.html",
        {
            "heading": f"What links to “{page.title}”",
            "pages": pages,
            "empty": "No page links here yet.",
        },
    )


@router.get("/special/orphans", name="pages.orphans")
def orphans(request: Request, session: SessionDep, user: OptionalUser) -> HTMLResponse:
    pages = structure.orphaned_pages(session=session, user=user)
    return render(
        request,
        "pages/list.html",
        {
            "heading": "Orphaned pages",
            "pages": pages,
            "intro": "No other page links to these. Link them from a related page, or delete them.",
            "empty": "Every page is linked from somewhere.",
        },
    )


@router.get("/special/wanted", name="pages.wanted")
def wanted(request: Request, session: SessionDep, user: OptionalUser) -> HTMLResponse:
    rows = structure.wanted_pages(session=session, user=user)
    return render(request, "pages/wanted.html", {"wanted": rows})


@router.get("/special/pages", name="pages.all")
def all_pages(request: Request, session: SessionDep, user: OptionalUser) -> HTMLResponse:
    pages = structure.list_pages(session=session, user=user)
    return render(
        request,
        "pages/list.html",
        {
            "heading": "All pages",
            "pages": pages,
            "empty": "There are no pages yet.",
        },
    )
