"""The audit log screen for administrators, and its CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.audit import service
from app.audit.schemas import AuditQuery
from app.core.deps import OptionalUser, SessionDep
from app.core.templating import is_htmx, render
from app.core.time import utcnow

router = APIRouter(include_in_schema=False)


@router.get("/admin/audit", name="audit.log")
def audit_log(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    query: Annotated[AuditQuery, Query()],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    result = service.list_entries(session=session, user=user, flt=query, page=page)
    params = {k: v for k, v in query.model_dump(mode="json").items() if v not in ("", None)}
    ctx = {
        "result": result,
        "query": query,
        "params": params,
        "actions": service.ACTIONS,
    }
    return render(request, "audit/log.html", ctx, block="results" if is_htmx(request) else None)


@router.get("/admin/audit.csv", name="audit.export")
def export_csv(
    session: SessionDep, user: OptionalUser, query: Annotated[AuditQuery, Query()]
) -> Response:
    service.check_export(user=user)  # refuse before the first byte of the stream goes out
    name = f"atrium-audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        service.export_csv(session=session, user=user, flt=query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
