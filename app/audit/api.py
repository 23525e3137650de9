"""The audit log under /api/v1 (administrators only): the same filters as the screen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditEntryRead, AuditList, AuditQuery
from app.core.deps import OptionalUser, SessionDep
from app.core.problems import problems

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get(
    "/audit",
    response_model=AuditList,
    summary="The audit log, newest first (administrators only)",
    responses=problems(401, 403, 422),
)
def audit_log(
    session: SessionDep,
    user: OptionalUser,
    query: Annotated[AuditQuery, Query()],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> AuditList:
    result = service.list_entries(session=session, user=user, flt=query, page=page)
    return AuditList(
        entries=[
            AuditEntryRead(
                id=e.id or 0,
                at=e.at,
                actor_id=e.actor_id,
                actor=e.actor_name,
                action=e.action,
                target=e.target,
                address=e.address,
                details=e.details,
            )
            for e in result.entries
        ],
        total=result.total,
        page=result.page,
        pages=result.pages,
    )
