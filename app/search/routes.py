"""Search HTML screens: the results page and the header's search-as-you-type dropdown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.core.deps import OptionalUser, SessionDep
from app.core.templating import is_htmx, render
from app.search import query as query_language
from app.search import service, sources

router = APIRouter(include_in_schema=False)


@router.get("/search", name="search.results")
def results(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    q: Annotated[str, Query(max_length=1000)] = "",
    page: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 1,
) -> HTMLResponse:
    found = service.search(session=session, user=user, q=q, page=page) if q.strip() else None
    ctx = {
        "q": q,
        "found": found,
        "labels": {k: s.label for k, s in sources.sources().items()},
        "with_filter": query_language.with_filter,
        "without_filter": query_language.without_filter,
    }
    block = "results" if is_htmx(request) and request.headers.get("hx-target") else None
    return render(request, "search/results.html", ctx, block=block)


@router.get("/search/suggest", name="search.suggest")
def suggest(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    q: Annotated[str, Query(max_length=1000)] = "",
) -> HTMLResponse:
    found = service.quick_search(session=session, user=user, q=q) if q.strip() else None
    return render(request, "search/_dropdown.html", {"q": q, "found": found})
