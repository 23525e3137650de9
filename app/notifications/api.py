"""Notifications JSON API under /api/v1: the inbox and watching pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.core.deps import OptionalUser, SessionDep
from app.core.problems import PROBLEM
from app.notifications import service
from app.notifications.schemas import (
    MarkRead,
    MarkReadResult,
    NotificationList,
    UnreadCount,
    WatchRead,
)
from app.pages import service as pages

router = APIRouter(prefix="/api/v1", tags=["notifications"])

SIGNED_IN: dict[int | str, dict[str, Any]] = {401: PROBLEM}
MISSING: dict[int | str, dict[str, Any]] = {**SIGNED_IN, 404: PROBLEM}


@router.get("/notifications", summary="Your notifications, newest first", responses=SIGNED_IN)
def list_notifications(
    session: SessionDep,
    user: OptionalUser,
    unread: Annotated[bool, Query(description="only unread ones")] = False,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> NotificationList:
    return service.list_inbox(
        session=session, user=user, unread_only=unread, limit=limit, offset=offset
    )


@router.post(
    "/notifications/read",
    summary="Mark notifications as read (by id, or all)",
    responses=MISSING,
)
def mark_read(data: MarkRead, session: SessionDep, user: OptionalUser) -> MarkReadResult:
    return service.mark_read(session=session, user=user, ids=data.ids, all=data.all)


@router.get(
    "/notifications/unread-count", summary="How many notifications are unread", responses=SIGNED_IN
)
def unread_count(session: SessionDep, user: OptionalUser) -> UnreadCount:
    return UnreadCount(unread=service.unread_count(session=session, user=user))


@router.get(
    "/pages/{slug:path}/watch",
    summary="Whether you watch a page",
    responses=MISSING,
)
def get_watch(slug: str, session: SessionDep, user: OptionalUser) -> WatchRead:
    page = pages.get_page(session=session, slug=slug, user=user, include_deleted=True)
    watching = service.watch_state(session=session, page_id=page.id or 0, user=user)
    return WatchRead(slug=page.slug, watching=watching)


@router.put("/pages/{slug:path}/watch", summary="Watch a page", responses=MISSING)
def put_watch(slug: str, session: SessionDep, user: OptionalUser) -> WatchRead:
    page = pages.get_page(session=session, slug=slug, user=user, include_deleted=True)
    watching = service.set_watch(session=session, page_id=page.id or 0, user=user, watching=True)
    return WatchRead(slug=page.slug, watching=watching)


@router.delete(
    "/pages/{slug:path}/watch",
    summary="Stop watching a page",
    responses=MISSING,
)
def delete_watch(slug: str, session: SessionDep, user: OptionalUser) -> WatchRead:
    page = pages.get_page(session=session, slug=slug, user=user, include_deleted=True)
    watching = service.set_watch(session=session, page_id=page.id or 0, user=user, watching=False)
    return WatchRead(slug=page.slug, watching=watching)
