"""Discussions JSON API under /api/v1: the same services as the HTML screens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from app.core.deps import OptionalUser, SessionDep
from app.core.problems import problems
from app.discussions import service
from app.discussions.schemas import (
    CommentCreate,
    CommentRead,
    CommentUpdate,
    CommentVersionRead,
    HideRequest,
    StatusChange,
    StatusFilter,
    ThreadCreate,
    ThreadFull,
    ThreadRead,
)

router = APIRouter(prefix="/api/v1", tags=["discussions"])

ERRORS = problems(401, 403, 404, 413, 422)


class ThreadList(BaseModel):
    total: int
    items: list[ThreadRead]


class MyThread(ThreadRead):
    involvement: list[str]


def _comment(cv: service.CommentView) -> CommentRead:
    c = cv.comment
    shown = cv.visible
    return CommentRead(
        id=c.id or 0,
        thread_id=c.thread_id,
        author=cv.author.username if cv.author else None,
        reply_to=c.reply_to_id,
        body=c.body if shown else None,
        html=c.html if shown else None,
        version=c.version,
        created_at=c.created_at,
        edited_at=c.edited_at,
        deleted=cv.removed,
        hidden=cv.hidden,
        hidden_reason=c.hidden_reason,
    )


def _thread(v: service.ThreadView) -> ThreadRead:
    t = v.thread
    return ThreadRead(
        id=t.id or 0,
        page_slug=v.page.slug,
        page_title=v.page.title,
        title=t.title,
        status=t.status,
        author=v.author.username if v.author else None,
        anchor_kind=t.anchor_kind,
        anchor_heading=t.anchor_heading,
        anchor_heading_text=t.anchor_heading_text,
        anchor_quote=t.anchor_quote,
        anchor_revision=t.anchor_revision,
        outdated=v.outdated,
        resolved_by=v.resolved_by.username if v.resolved_by else None,
        resolved_at=t.resolved_at,
        comment_count=t.comment_count,
        created_at=t.created_at,
        last_activity_at=t.last_activity_at,
    )


def _full(v: service.ThreadView) -> ThreadFull:
    return ThreadFull(**_thread(v).model_dump(), comments=[_comment(c) for c in v.comments])


@router.get("/pages/{slug:path}/threads", responses=ERRORS)
def page_threads(
    slug: str, session: SessionDep, user: OptionalUser, status: StatusFilter = "open"
) -> list[ThreadFull]:
    """A page's threads with their comments (open, resolved or all)."""
    views = service.page_threads(session=session, slug=slug, user=user, status=status)
    return [_full(v) for v in views]


@router.post("/pages/{slug:path}/threads", status_code=201, responses=ERRORS)
def open_thread(
    slug: str, data: ThreadCreate, session: SessionDep, user: OptionalUser
) -> ThreadFull:
    """Start a discussion on a page, its section (`heading`) or a passage (`quote`)."""
    thread = service.open_thread(session=session, slug=slug, data=data, author=user)
    return _full(service.get_thread(session=session, thread_id=thread.id or 0, user=user))


@router.get("/threads/{thread_id}", responses=ERRORS)
def get_thread(thread_id: int, session: SessionDep, user: OptionalUser) -> ThreadFull:
    return _full(service.get_thread(session=session, thread_id=thread_id, user=user))


@router.patch("/threads/{thread_id}", responses=ERRORS)
def set_status(
    thread_id: int, data: StatusChange, session: SessionDep, user: OptionalUser
) -> ThreadFull:
    """Resolve or reopen a thread."""
    service.set_status(session=session, thread_id=thread_id, status=data.status, user=user)
    return _full(service.get_thread(session=session, thread_id=thread_id, user=user))


@router.post("/threads/{thread_id}/comments", status_code=201, responses=ERRORS)
def reply(
    thread_id: int, data: CommentCreate, session: SessionDep, user: OptionalUser
) -> CommentRead:
    comment = service.reply(session=session, thread_id=thread_id, data=data, author=user)
    view = service.get_thread(session=session, thread_id=thread_id, user=user)
    return _comment(next(c for c in view.comments if c.comment.id == comment.id))


def _comment_read(
    session: SessionDep, user: OptionalUser, comment_id: int, thread_id: int
) -> CommentRead:
    view = service.get_thread(session=session, thread_id=thread_id, user=user)
    return _comment(next(c for c in view.comments if c.comment.id == comment_id))


@router.patch("/comments/{comment_id}", responses=ERRORS)
def edit_comment(
    comment_id: int, data: CommentUpdate, session: SessionDep, user: OptionalUser
) -> CommentRead:
    """Edit your own comment; the earlier text is kept as a version."""
    c = service.edit_comment(session=session, comment_id=comment_id, data=data, user=user)
    return _comment_read(session, user, comment_id, c.thread_id)


@router.delete("/comments/{comment_id}", status_code=204, responses=ERRORS)
def delete_comment(comment_id: int, session: SessionDep, user: OptionalUser) -> Response:
    """Remove your own comment (soft: the thread shows "comment removed")."""
    service.delete_comment(session=session, comment_id=comment_id, user=user)
    return Response(status_code=204)


@router.post("/comments/{comment_id}/hide", responses=ERRORS)
def hide_comment(
    comment_id: int, data: HideRequest, session: SessionDep, user: OptionalUser
) -> CommentRead:
    """Facilitators and admins hide a comment, with a reason shown to everyone."""
    c = service.hide_comment(session=session, comment_id=comment_id, reason=data.reason, user=user)
    return _comment_read(session, user, comment_id, c.thread_id)


@router.delete("/comments/{comment_id}/hide", responses=ERRORS)
def unhide_comment(comment_id: int, session: SessionDep, user: OptionalUser) -> CommentRead:
    c = service.unhide_comment(session=session, comment_id=comment_id, user=user)
    return _comment_read(session, user, comment_id, c.thread_id)


@router.get("/comments/{comment_id}/versions", responses=ERRORS)
def comment_versions(
    comment_id: int, session: SessionDep, user: OptionalUser
) -> list[CommentVersionRead]:
    """Earlier texts of an edited comment, newest first."""
    _, versions = service.comment_versions(session=session, comment_id=comment_id, user=user)
    return [
        CommentVersionRead(version=v.version, body=v.body, created_at=v.created_at)
        for v in versions
    ]


@router.get("/discussions", responses=ERRORS)
def discussions(
    session: SessionDep,
    user: OptionalUser,
    status: StatusFilter = "open",
    prefix: str = "",
    author: str = "",
    participant: str = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ThreadList:
    """Threads wiki-wide by last activity, filterable by subtree, author and participant."""
    views, total = service.list_discussions(
        session=session,
        user=user,
        status=status,
        prefix=prefix,
        author=author,
        participant=participant,
        limit=limit,
        offset=offset,
    )
    return ThreadList(total=total, items=[_thread(v) for v in views])


@router.get("/me/discussions", responses=ERRORS)
def my_discussions(
    session: SessionDep, user: OptionalUser, status: StatusFilter = "all"
) -> list[MyThread]:
    """Threads I started, took part in or was mentioned in."""
    items = service.my_discussions(session=session, user=user, status=status)
    return [MyThread(**_thread(v).model_dump(), involvement=sorted(how)) for v, how in items]
