"""Notifications screens: the inbox, the header badge, and watching pages."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.core.deps import OptionalUser, SessionDep
from app.core.templating import is_htmx, redirect, render
from app.notifications import service
from app.pages import service as pages

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 30
Show = Literal["unread", "all"]
# tells the header badge (hx-trigger "inbox-changed from:body") to refresh at once
CHANGED = {"HX-Trigger": "inbox-changed"}


def _inbox_url(show: Show) -> str:
    return "/inbox" if show == "unread" else f"/inbox?show={show}"


@router.get("/inbox", name="notifications.inbox")
def inbox(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    show: Show = "unread",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    items = service.list_inbox(
        session=session, user=user, unread_only=show == "unread", limit=PAGE_SIZE, offset=offset
    )
    ctx = {"inbox": items, "show": show}
    block = "rows" if is_htmx(request) and offset else None
    return render(request, "notifications/inbox.html", ctx, block=block)


@router.get("/inbox/badge", name="notifications.badge")
def badge(request: Request, session: SessionDep, user: OptionalUser) -> HTMLResponse:
    # polled by every page: a visitor (or an expired sign-in) gets an empty badge, not an error
    unread = service.unread_count(session=session, user=user) if user is not None else None
    response = render(request, "notifications/_badge.html", {"unread": unread})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/inbox/read", name="notifications.mark_read")
def mark_read(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    ids: Annotated[list[int] | None, Form()] = None,
    all: Annotated[bool, Form()] = False,
    show: Annotated[Show, Form()] = "unread",
) -> Response:
    result = service.mark_read(session=session, user=user, ids=ids or [], all=all)
    if not is_htmx(request):
        return redirect(request, _inbox_url(show))
    if len(result.items) == 1 and not all:
        ctx: dict[str, object] = {"n": result.items[0], "show": show}
        return render(request, "notifications/inbox.html", ctx, block="item", headers=CHANGED)
    items = service.list_inbox(
        session=session, user=user, unread_only=show == "unread", limit=PAGE_SIZE
    )
    ctx = {"inbox": items, "show": show}
    return render(request, "notifications/inbox.html", ctx, block="inbox", headers=CHANGED)


def _set_watch(
    request: Request, slug: str, session: SessionDep, user: OptionalUser, watching: bool
) -> Response:
    page = pages.get_page(session=session, slug=slug, user=user, include_deleted=True)
    now = service.set_watch(session=session, page_id=page.id or 0, user=user, watching=watching)
    if not is_htmx(request):
        return redirect(request, f"/wiki/{page.slug}")
    return render(request, "notifications/_watch_button.html", {"page": page, "watching": now})


@router.post("/watch/{slug:path}", name="notifications.watch")
def watch(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    return _set_watch(request, slug, session, user, True)


@router.post("/unwatch/{slug:path}", name="notifications.unwatch")
def unwatch(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    return _set_watch(request, slug, session, user, False)
