"""Page stewardship JSON API under /api/v1: the same services as the HTML screens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from sqlmodel import Session

from app.core.deps import OptionalUser, SessionDep
from app.core.problems import problems
from app.reviews import service
from app.reviews.schemas import (
    DueFilters,
    DueList,
    DueRead,
    MarkReviewed,
    StewardshipEventRead,
    StewardshipRead,
    StewardshipUpdate,
)
from app.reviews.views import StewardshipView

router = APIRouter(prefix="/api/v1", tags=["reviews"])


def _read(session: Session, view: StewardshipView) -> StewardshipRead:
    row = view.row
    return StewardshipRead(
        slug=view.page.slug,
        title=view.page.title,
        status=row.status,
        owners=view.owner_names,
        review_by=row.review_by,
        review_months=row.review_months,
        overdue=view.overdue,
        approved_by=view.approved_ref,
        last_reviewed_at=row.last_reviewed_at,
        last_reviewed_by=view.last_reviewed_by.username if view.last_reviewed_by else None,
        history=[
            StewardshipEventRead(
                kind=a.kind,
                actor=a.actor.username if a.actor else None,
                summary=a.summary,
                changes=a.changes,
                created_at=a.at,
            )
            for a in service.page_history(session=session, page=view.page, limit=50)
        ],
    )


@router.get(
    "/reviews",
    response_model=DueList,
    summary="Pages with a review date or needing review, overdue first",
    responses=problems(401, 422),
)
def due_pages(
    session: SessionDep, user: OptionalUser, filters: Annotated[DueFilters, Query()]
) -> DueList:
    views = service.list_due(session=session, user=user, filters=filters)
    return DueList(
        items=[
            DueRead(
                slug=v.page.slug,
                title=v.page.title,
                status=v.row.status,
                owners=v.owner_names,
                review_by=v.row.review_by,
                overdue=v.overdue,
                days=v.days,
                last_reviewed_at=v.row.last_reviewed_at,
            )
            for v in views
        ],
        overdue=sum(1 for v in views if v.overdue),
    )


# the POST route comes first: /stewardship/{slug:path} would otherwise match ".../reviewed" too
@router.post(
    "/stewardship/{slug:path}/reviewed",
    response_model=StewardshipRead,
    summary="Mark a page reviewed (approves it and moves its review date)",
    responses=problems(401, 403, 404, 422),
)
def mark_reviewed(
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    data: Annotated[MarkReviewed | None, Body()] = None,
) -> StewardshipRead:
    view = service.mark_reviewed(session=session, slug=slug, data=data, user=user)
    return _read(session, view)


@router.get(
    "/stewardship/{slug:path}",
    response_model=StewardshipRead,
    summary="A page's owners, review status, dates and stewardship history",
    responses=problems(401, 404),
)
def get_stewardship(slug: str, session: SessionDep, user: OptionalUser) -> StewardshipRead:
    return _read(session, service.get_stewardship(session=session, slug=slug, user=user))


@router.patch(
    "/stewardship/{slug:path}",
    response_model=StewardshipRead,
    summary="Change a page's owners, status, review date, interval or approving decision",
    description="Only the fields given change; `review_by: null` removes the review date.",
    responses=problems(401, 403, 404, 409, 422),
)
def set_stewardship(
    slug: str, data: StewardshipUpdate, session: SessionDep, user: OptionalUser
) -> StewardshipRead:
    view = service.set_stewardship(session=session, slug=slug, data=data, user=user)
    return _read(session, view)
