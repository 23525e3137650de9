"""Search JSON API under /api/v1: the same service as the HTML screen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.core.deps import OptionalUser, SessionDep
from app.search import service

router = APIRouter(prefix="/api/v1", tags=["search"])


class CrumbRead(BaseModel):
    slug: str
    title: str


class HitRead(BaseModel):
    kind: str
    id: int
    title: str
    title_html: str
    snippet_html: str
    url: str
    path: str
    breadcrumbs: list[CrumbRead]
    authors: list[str]
    tags: list[str]
    status: str
    updated: datetime
    score: float


class FacetRead(BaseModel):
    value: str
    count: int


class SearchRead(BaseModel):
    query: str
    total: int
    page: int
    per_page: int
    pages: int
    hits: list[HitRead]
    facets: dict[str, list[FacetRead]]
    suggestion: str | None
    notes: list[str]


@router.get("/search", summary="Full-text search over everything the caller may read")
def search(
    session: SessionDep,
    user: OptionalUser,
    q: Annotated[str, Query(max_length=1000, description="the query language of the search box")],
    page: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)] = 20,
    facets: bool = True,
) -> SearchRead:
    found = service.search(
        session=session, user=user, q=q, page=page, per_page=per_page, facets=facets
    )
    return SearchRead(
        query=q,
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
        hits=[
            HitRead(
                kind=h.kind,
                id=h.ref_id,
                title=h.title,
                title_html=str(h.title_html),
                snippet_html=str(h.snippet),
                url=h.url,
                path=h.path,
                breadcrumbs=[CrumbRead(slug=s, title=t) for s, t in h.crumbs],
                authors=list(h.authors),
                tags=list(h.tags),
                status=h.status,
                updated=h.updated,
                score=round(h.score, 4),
            )
            for h in found.hits
        ],
        facets={
            name: [FacetRead(value=f.value, count=f.count) for f in values]
            for name, values in found.facets.items()
        },
        suggestion=found.suggestion,
        notes=list(found.query.notes),
    )
