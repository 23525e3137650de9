"""Attachments HTML screens: a page's files (also the panel on the page), upload, download."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from app.accounts import service as accounts
from app.accounts.models import User
from app.attachments import delivery, service
from app.attachments.storage import human_size
from app.core.deps import OptionalUser, SessionDep
from app.core.errors import Conflict, Invalid, TooLarge
from app.core.templating import is_htmx, redirect, render

router = APIRouter(include_in_schema=False)

BASE = "/wiki/{slug:path}/_attachments"


def _context(session: SessionDep, slug: str, user: User | None) -> dict[str, Any]:
    page = service.get_page(session=session, slug=slug, user=user)
    return {
        "page": page,
        "files": service.list_attachments(session=session, slug=page.slug, user=user),
        "deleted_files": service.list_attachments(
            session=session, slug=page.slug, user=user, deleted=True
        ),
        "can_upload": accounts.can(user, "page.edit") and not page.is_deleted,
        "base_url": delivery.file_url(page.slug, "").rstrip("/"),
        "file_url": delivery.file_url,
        "markdown_ref": delivery.markdown_ref,
        "human_size": human_size,
        "max_bytes": service.store(session).limit,
    }


def _screen(
    request: Request,
    session: SessionDep,
    slug: str,
    user: User | None,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    ctx = {**_context(session, slug, user), **extra}
    block = "panel" if is_htmx(request) else None
    return render(request, "attachments/list.html", ctx, status_code=status_code, block=block)


@router.get(BASE, name="attachments.list")
def list_screen(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    return _screen(request, session, slug, user)


@router.post(BASE, name="attachments.upload")
def upload(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    file: Annotated[list[UploadFile], File(description="one or more files")],
    replace: Annotated[bool, Form()] = True,
) -> Response:
    done: list[str] = []
    for item in file:
        if not item.filename and not item.size:
            continue  # the form was sent without choosing a file
        try:
            result = service.upload(
                session=session,
                slug=slug,
                filename=item.filename or "",
                stream=item.file,
                user=user,
                replace=replace,
            )
        except (Invalid, TooLarge, Conflict) as exc:
            # show the list again with the reason; files before this one were saved
            return _screen(
                request, session, slug, user, status_code=exc.status_code, error=exc.detail,
                uploaded=done,
            )  # fmt: skip
        done.append(result.attachment.name)
    if not done:
        return _screen(request, session, slug, user, status_code=422, error="Choose a file.")
    if is_htmx(request):
        return _screen(request, session, slug, user, uploaded=done)
    return redirect(request, f"{delivery.file_url(slug, '').rstrip('/')}?uploaded={len(done)}")


@router.get(BASE + "/{name}", name="attachments.download")
def download(
    request: Request,
    slug: str,
    name: str,
    session: SessionDep,
    user: OptionalUser,
    v: Annotated[int | None, Query(ge=1)] = None,
    w: Annotated[int | None, Query(ge=16, le=4096)] = None,
) -> Response:
    content = service.open_content(session=session, slug=slug, name=name, user=user, version=v)
    return delivery.send(request, content, session=session, width=w, versioned=v is not None)


def _after_change(request: Request, session: SessionDep, slug: str, user: User | None) -> Response:
    if is_htmx(request):
        return _screen(request, session, slug, user)
    return redirect(request, delivery.file_url(slug, "").rstrip("/"))


@router.post(BASE + "/{name}/delete", name="attachments.delete")
def delete(
    request: Request, slug: str, name: str, session: SessionDep, user: OptionalUser
) -> Response:
    service.delete_attachment(session=session, slug=slug, name=name, user=user)
    return _after_change(request, session, slug, user)


@router.post(BASE + "/{name}/undelete", name="attachments.undelete")
def undelete(
    request: Request, slug: str, name: str, session: SessionDep, user: OptionalUser
) -> Response:
    service.undelete_attachment(session=session, slug=slug, name=name, user=user)
    return _after_change(request, session, slug, user)


@router.post(BASE + "/{name}/restore", name="attachments.restore")
def restore(
    request: Request,
    slug: str,
    name: str,
    session: SessionDep,
    user: OptionalUser,
    number: Annotated[int, Form(ge=1)],
) -> Response:
    service.restore_version(session=session, slug=slug, name=name, number=number, user=user)
    return _after_change(request, session, slug, user)
