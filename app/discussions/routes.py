"""Discussions HTML screens and fragments: a page's talk, threads, comments, lists, mentions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.deps import OptionalUser, SessionDep
from app.core.templating import is_htmx, redirect, render, templates
from app.discussions import service
from app.discussions.models import ThreadStatus
from app.discussions.schemas import (
    CommentCreate,
    CommentUpdate,
    HideRequest,
    StatusFilter,
    ThreadCreate,
)
from app.pages import service as pages
from app.pages.models import Page

router = APIRouter(include_in_schema=False)


def panel_context(
    *, session: SessionDep, page: Page, user: User | None, status: StatusFilter
) -> dict[str, Any]:
    """What the discussion panel of a page needs (page view and talk screen share it)."""
    return {
        "page": page,
        "threads": service.page_threads(session=session, slug=page.slug, user=user, status=status),
        "status": status,
        "counts": service.thread_counts(session=session, page=page),
        "stamp": service.activity_stamp(session=session, page=page),
        "sections": [] if page.is_deleted else service.section_choices(session=session, page=page),
        "can_comment": accounts.can(user, "comment.create") and not page.is_deleted,
        "can_resolve_any": accounts.can(user, "thread.resolve_any"),
        "can_moderate": accounts.can(user, "comment.moderate"),
    }


def markers(threads: list[service.ThreadView]) -> Any:
    """A function giving the marker HTML placed under an anchored passage."""
    by_id = {v.thread.id: v for v in threads}
    macro = templates.env.get_template("discussions/_macros.html").module.passage_marker  # type: ignore[attr-defined]

    def marker(ids: list[int]) -> str:
        return str(macro([by_id[i] for i in ids if i in by_id]))

    return marker


@router.get("/discuss/{slug:path}", name="discussions.talk")
def talk(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    status: StatusFilter = "open",
    since: str = "",
) -> Response:
    page = pages.get_page(session=session, slug=slug, user=user, include_deleted=True)
    if since and is_htmx(request) and since == service.activity_stamp(session=session, page=page):
        return Response(status_code=204)  # nothing new: htmx keeps what is on screen
    ctx = panel_context(session=session, page=page, user=user, status=status)
    return render(
        request, "discussions/talk.html", ctx, block="threads" if is_htmx(request) else None
    )


@router.post("/discuss/{slug:path}", name="discussions.open")
def open_thread(
    request: Request,
    slug: str,
    form: Annotated[ThreadCreate, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    thread = service.open_thread(session=session, slug=slug, data=form, author=user)
    if not is_htmx(request):
        return redirect(request, f"/wiki/{slug}#thread-{thread.id}")
    page = pages.get_page(session=session, slug=slug, user=user, include_deleted=True)
    ctx = panel_context(session=session, page=page, user=user, status="open")
    return render(request, "discussions/talk.html", ctx, block="threads")


def _card(request: Request, session: SessionDep, user: User | None, thread_id: int) -> Response:
    view = service.get_thread(session=session, thread_id=thread_id, user=user)
    if not is_htmx(request):
        return redirect(request, f"/threads/{thread_id}#thread-{thread_id}")
    return render(request, "discussions/thread.html", _thread_ctx(view, user), block="card")


def _thread_ctx(view: service.ThreadView, user: User | None) -> dict[str, Any]:
    return {
        "view": view,
        "page": view.page,
        "can_comment": accounts.can(user, "comment.create") and not view.page.is_deleted,
        "can_resolve_any": accounts.can(user, "thread.resolve_any"),
        "can_moderate": accounts.can(user, "comment.moderate"),
    }


@router.get("/threads/{thread_id}", name="discussions.thread")
def thread(request: Request, thread_id: int, session: SessionDep, user: OptionalUser) -> Response:
    view = service.get_thread(session=session, thread_id=thread_id, user=user)
    block = "card" if is_htmx(request) else None
    return render(request, "discussions/thread.html", _thread_ctx(view, user), block=block)


@router.post("/threads/{thread_id}/comments", name="discussions.reply")
def reply(
    request: Request,
    thread_id: int,
    form: Annotated[CommentCreate, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    comment = service.reply(session=session, thread_id=thread_id, data=form, author=user)
    if not is_htmx(request):
        return redirect(request, f"/threads/{thread_id}#comment-{comment.id}")
    return _card(request, session, user, thread_id)


@router.post("/threads/{thread_id}/status", name="discussions.status")
def set_status(
    request: Request,
    thread_id: int,
    status: Annotated[ThreadStatus, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.set_status(session=session, thread_id=thread_id, status=status, user=user)
    return _card(request, session, user, thread_id)


@router.get("/comments/{comment_id}/edit", name="discussions.edit_comment_form")
def edit_comment_form(
    request: Request, comment_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    view, versions = service.comment_versions(session=session, comment_id=comment_id, user=user)
    if view.comment.author_id != (user.id if user else None):
        return redirect(request, f"/threads/{view.comment.thread_id}#comment-{comment_id}")
    ctx = {"cv": view, "versions": versions}
    block = "form" if is_htmx(request) else None
    return render(request, "discussions/comment_edit.html", ctx, block=block)


@router.post("/comments/{comment_id}/edit", name="discussions.edit_comment")
def edit_comment(
    request: Request,
    comment_id: int,
    form: Annotated[CommentUpdate, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    comment = service.edit_comment(session=session, comment_id=comment_id, data=form, user=user)
    return _card(request, session, user, comment.thread_id)


@router.post("/comments/{comment_id}/delete", name="discussions.delete_comment")
def delete_comment(
    request: Request, comment_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    comment = service.delete_comment(session=session, comment_id=comment_id, user=user)
    return _card(request, session, user, comment.thread_id)


@router.post("/comments/{comment_id}/hide", name="discussions.hide_comment")
def hide_comment(
    request: Request,
    comment_id: int,
    form: Annotated[HideRequest, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    comment = service.hide_comment(
        session=session, comment_id=comment_id, reason=form.reason, user=user
    )
    return _card(request, session, user, comment.thread_id)


@router.post("/comments/{comment_id}/unhide", name="discussions.unhide_comment")
def unhide_comment(
    request: Request, comment_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    comment = service.unhide_comment(session=session, comment_id=comment_id, user=user)
    return _card(request, session, user, comment.thread_id)


@router.get("/comments/{comment_id}/versions", name="discussions.versions")
def versions(
    request: Request, comment_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    view, earlier = service.comment_versions(session=session, comment_id=comment_id, user=user)
    return render(request, "discussions/versions.html", {"cv": view, "versions": earlier})


@router.get("/discussions", name="discussions.list")
def discussions(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    status: StatusFilter = "open",
    prefix: str = "",
    author: str = "",
    participant: str = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    per_page = 50
    threads, total = service.list_discussions(
        session=session,
        user=user,
        status=status,
        prefix=prefix,
        author=author,
        participant=participant,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    ctx = {
        "threads": threads,
        "total": total,
        "status": status,
        "prefix": prefix,
        "author": author,
        "participant": participant,
        "page_no": page,
        "pages": max(1, (total + per_page - 1) // per_page),
    }
    block = "results" if is_htmx(request) else None
    return render(request, "discussions/list.html", ctx, block=block)


@router.get("/discussions/mine", name="discussions.mine")
def mine(
    request: Request, session: SessionDep, user: OptionalUser, status: StatusFilter = "all"
) -> Response:
    items = service.my_discussions(session=session, user=user, status=status)
    return render(request, "discussions/mine.html", {"items": items, "status": status})


@router.get("/users/suggest", name="discussions.suggest")
def suggest(request: Request, session: SessionDep, user: OptionalUser, q: str = "") -> Response:
    accounts.require_user(user, "comment.create")
    people = accounts.suggest_users(session=session, prefix=q.lstrip("@")[:64])
    return render(request, "discussions/suggest.html", {"people": people, "q": q})
