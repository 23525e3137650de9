"""Attachments JSON API under /api/v1: the same services as the HTML screens.

Addresses use ``_attachments`` (no page slug segment can start with ``_``), so a page called
``…/attachments`` is never mistaken for a page's file list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from app.attachments import delivery, service
from app.attachments.schemas import AttachmentRead, RestoreRequest, UploadRead, VersionRead
from app.core.deps import OptionalUser, SessionDep
from app.core.problems import problems

router = APIRouter(prefix="/api/v1", tags=["attachments"])

BASE = "/pages/{slug:path}/_attachments"
ERRORS = problems(401, 403, 404, 409, 413, 422)


def _read(view: service.AttachmentView, slug: str) -> AttachmentRead:
    a = view.attachment
    return AttachmentRead(
        name=a.name,
        page_slug=slug,
        url=delivery.file_url(slug, a.name),
        markdown=delivery.markdown_ref(a.name, image=view.kind.image or view.kind.key == "svg"),
        size=a.size,
        content_type=a.content_type,
        kind=view.kind.key,
        version=a.head,
        sha256=a.sha256,
        uploaded_by=view.uploader.username if view.uploader else None,
        created_at=a.created_at,
        updated_at=a.updated_at,
        deleted_at=a.deleted_at,
        versions=[
            VersionRead(
                number=v.number,
                sha256=v.sha256,
                size=v.size,
                content_type=v.content_type,
                original_name=v.original_name,
                restored_from=v.restored_from,
                uploaded_by=view.users[v.uploaded_by_id].username
                if v.uploaded_by_id in view.users
                else None,
                created_at=v.created_at,
            )
            for v in view.versions
        ],
    )


def _one(session: SessionDep, slug: str, name: str, user: OptionalUser) -> AttachmentRead:
    view = service.get_attachment(
        session=session, slug=slug, name=name, user=user, include_deleted=True
    )
    return _read(view, slug)


@router.get(BASE, responses=ERRORS)
def list_attachments(
    slug: str, session: SessionDep, user: OptionalUser, deleted: bool = False
) -> list[AttachmentRead]:
    """A page's attachments (``deleted=true``: the deleted ones, which can be undeleted)."""
    views = service.list_attachments(session=session, slug=slug, user=user, deleted=deleted)
    return [_read(v, slug) for v in views]


@router.post(BASE, status_code=201, responses=ERRORS)
def upload(
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    file: Annotated[UploadFile, File(description="the file (multipart/form-data)")],
    replace: Annotated[
        bool, Form(description="same name: add a version (true) or pick a free name (false)")
    ] = True,
) -> UploadRead:
    """Upload a file; the same name again adds a version. The type is sniffed from the bytes."""
    result = service.upload(
        session=session,
        slug=slug,
        filename=file.filename or "",
        stream=file.file,
        user=user,
        replace=replace,
    )
    read = _one(session, slug, result.attachment.name, user)
    return UploadRead(**read.model_dump(), created=result.created, unchanged=result.unchanged)


@router.get(BASE + "/{name}", responses=ERRORS)
def get_attachment(slug: str, name: str, session: SessionDep, user: OptionalUser) -> AttachmentRead:
    """One attachment with its versions, newest first (deleted ones too)."""
    return _one(session, slug, name, user)


@router.get(
    BASE + "/{name}/content",
    responses={**ERRORS, 200: {"description": "the file", "content": {"*/*": {}}}},
    response_class=Response,
)
def download(
    request: Request,
    slug: str,
    name: str,
    session: SessionDep,
    user: OptionalUser,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The file of the current (or given) version, with Content-Disposition and nosniff."""
    content = service.open_content(
        session=session, slug=slug, name=name, user=user, version=version
    )
    return delivery.send(request, content, session=session, versioned=version is not None)


@router.get(BASE + "/{name}/versions", responses=ERRORS)
def versions(slug: str, name: str, session: SessionDep, user: OptionalUser) -> list[VersionRead]:
    """Every version of an attachment, newest first."""
    return _one(session, slug, name, user).versions


@router.post(BASE + "/{name}/versions/restore", responses=ERRORS)
def restore(
    slug: str, name: str, data: RestoreRequest, session: SessionDep, user: OptionalUser
) -> AttachmentRead:
    """Make an earlier version current again (as a new version)."""
    service.restore_version(session=session, slug=slug, name=name, number=data.version, user=user)
    return _one(session, slug, name, user)


@router.delete(BASE + "/{name}", responses=ERRORS)
def delete(slug: str, name: str, session: SessionDep, user: OptionalUser) -> AttachmentRead:
    """Soft-delete an attachment (undo with ``/undelete``)."""
    service.delete_attachment(session=session, slug=slug, name=name, user=user)
    return _one(session, slug, name, user)


@router.post(BASE + "/{name}/undelete", responses=ERRORS)
def undelete(slug: str, name: str, session: SessionDep, user: OptionalUser) -> AttachmentRead:
    """Bring back a deleted attachment."""
    service.undelete_attachment(session=session, slug=slug, name=name, user=user)
    return _one(session, slug, name, user)
