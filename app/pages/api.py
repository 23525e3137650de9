"""Pages JSON API under /api/v1: the same services as the HTML screens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.core.deps import OptionalUser, SessionDep
from app.core.problems import PROBLEM
from app.pages import history, service, structure
from app.pages.models import Page
from app.pages.schemas import (
    ChangeRead,
    ConflictDetail,
    MoveRequest,
    PageEdit,
    PageFull,
    PageRead,
    RevertRequest,
    RevisionFull,
    RevisionRead,
    SaveOutcome,
    TreeNode,
    WantedPage,
)

router = APIRouter(prefix="/api/v1", tags=["pages"])


class PageCreate(PageEdit):
    slug: str = Field(max_length=255)


class ConflictProblem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    conflict: ConflictDetail


class DiffLineRead(BaseModel):
    kind: str
    old_no: int | None
    new_no: int | None
    old_html: str
    new_html: str
    skipped: int


class DiffRead(BaseModel):
    slug: str
    old: int
    new: int
    added: int
    removed: int
    lines: list[DiffLineRead]


class PreviewRequest(BaseModel):
    body: str = ""


class PreviewRead(BaseModel):
    html: str
    toc: str


def page_read(page: Page) -> PageRead:
    return PageRead(
        slug=page.slug,
        title=page.title,
        tags=list(page.tags),
        head=page.head,
        created_at=page.created_at,
        updated_at=page.updated_at,
        deleted=page.is_deleted,
    )


def _outcome(result: service.SaveResult) -> SaveOutcome:
    rev = result.revision
    return SaveOutcome(
        page=page_read(result.page),
        revision=history.revision_read(rev, None) if rev is not None else None,
        merged=result.merged,
        unchanged=rev is None,
    )


@router.get("/pages", summary="List pages")
def list_pages(
    session: SessionDep, user: OptionalUser, include_deleted: bool = False
) -> list[PageRead]:
    pages = structure.list_pages(session=session, user=user, include_deleted=include_deleted)
    return [page_read(p) for p in pages]


@router.post(
    "/pages",
    status_code=201,
    summary="Create a page",
    responses={409: PROBLEM, 422: PROBLEM},
)
def create_page(data: PageCreate, session: SessionDep, user: OptionalUser) -> SaveOutcome:
    edit = PageEdit(title=data.title, body=data.body, tags=data.tags, summary=data.summary)
    return _outcome(service.create_page(session=session, slug=data.slug, edit=edit, author=user))


@router.get("/pages/{slug:path}/revisions/{number}", summary="One revision with its text")
def get_revision(slug: str, number: int, session: SessionDep, user: OptionalUser) -> RevisionFull:
    _, rev, author = history.get_page_revision(session=session, slug=slug, number=number, user=user)
    return RevisionFull(**history.revision_read(rev, author).model_dump(), body=rev.body)


@router.get("/pages/{slug:path}/revisions", summary="A page's revisions, newest first")
def list_revisions(
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RevisionRead]:
    _, revisions = history.list_revisions(
        session=session, slug=slug, user=user, before=before, limit=limit
    )
    return revisions


@router.get("/pages/{slug:path}/diff", summary="Diff of two revisions")
def diff(
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    from_: Annotated[int, Query(alias="from", ge=1)],
    to: Annotated[int, Query(ge=1)],
) -> DiffRead:
    page, old, new, result = history.diff_revisions(
        session=session, slug=slug, old=from_, new=to, user=user
    )
    lines = [
        DiffLineRead(
            kind=line.kind,
            old_no=line.old_no,
            new_no=line.new_no,
            old_html=str(line.old_html),
            new_html=str(line.new_html),
            skipped=line.skipped,
        )
        for line in result.lines
    ]
    return DiffRead(
        slug=page.slug,
        old=old.number,
        new=new.number,
        added=result.added,
        removed=result.removed,
        lines=lines,
    )


@router.post("/pages/{slug:path}/revert", summary="Revert to a revision (as a new revision)")
def revert(slug: str, data: RevertRequest, session: SessionDep, user: OptionalUser) -> SaveOutcome:
    result = service.revert_page(
        session=session, slug=slug, number=data.number, author=user, summary=data.summary
    )
    return _outcome(result)


@router.post("/pages/{slug:path}/move", summary="Move or rename a page", responses={409: PROBLEM})
def move(slug: str, data: MoveRequest, session: SessionDep, user: OptionalUser) -> PageRead:
    page = service.move_page(
        session=session,
        slug=slug,
        new_slug=data.new_slug,
        author=user,
        summary=data.summary,
        include_children=data.include_children,
    )
    return page_read(page)


@router.post("/pages/{slug:path}/undelete", summary="Restore a deleted page")
def undelete(slug: str, session: SessionDep, user: OptionalUser) -> PageRead:
    return page_read(service.undelete_page(session=session, slug=slug, author=user))


@router.get("/pages/{slug:path}/backlinks", summary="Pages linking here")
def backlinks(slug: str, session: SessionDep, user: OptionalUser) -> list[PageRead]:
    service.get_page(session=session, slug=slug, user=user)
    return [page_read(p) for p in structure.backlinks(session=session, slug=slug, user=user)]


@router.get("/pages/{slug:path}", summary="A page with its current text and HTML")
def get_page(slug: str, session: SessionDep, user: OptionalUser) -> PageFull:
    page = service.get_page(session=session, slug=slug, user=user)
    rev = service.current_revision(session=session, page=page)
    html = service.render_revision(session=session, revision=rev).html
    return PageFull(**page_read(page).model_dump(), body=rev.body, html=html)


@router.put(
    "/pages/{slug:path}",
    summary="Save a page (create or update) against the revision you started from",
    responses={409: {"model": ConflictProblem, "description": "Overlapping concurrent edit"}},
)
def save_page(slug: str, data: PageEdit, session: SessionDep, user: OptionalUser) -> SaveOutcome:
    return _outcome(service.save_page(session=session, slug=slug, edit=data, author=user))


@router.delete("/pages/{slug:path}", status_code=204, summary="Delete a page (undoable)")
def delete_page(slug: str, session: SessionDep, user: OptionalUser) -> Response:
    service.delete_page(session=session, slug=slug, author=user)
    return Response(status_code=204)


@router.get("/changes", summary="Recent changes across the wiki")
def changes(
    session: SessionDep,
    user: OptionalUser,
    author: str | None = None,
    prefix: str | None = None,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ChangeRead]:
    return history.recent_changes(
        session=session, user=user, author=author, prefix=prefix, before=before, limit=limit
    )


@router.get("/tree", summary="Children of one level of the page tree")
def tree(session: SessionDep, user: OptionalUser, prefix: str = "") -> list[TreeNode]:
    return structure.tree_children(session=session, prefix=prefix, user=user)


@router.get("/orphans", summary="Pages nothing links to")
def orphans(session: SessionDep, user: OptionalUser) -> list[PageRead]:
    return [page_read(p) for p in structure.orphaned_pages(session=session, user=user)]


@router.get("/wanted", summary="Linked but missing pages")
def wanted(session: SessionDep, user: OptionalUser) -> list[WantedPage]:
    return structure.wanted_pages(session=session, user=user)


@router.post("/preview", summary="Render markdown as the wiki would")
def preview(data: PreviewRequest, session: SessionDep, user: OptionalUser) -> PreviewRead:
    out = service.render_preview(session=session, body=data.body, user=user)
    return PreviewRead(html=out.html, toc=out.toc)
