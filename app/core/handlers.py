"""One place that turns errors into responses: HTML pages, htmx fragments or problem JSON."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core import storage
from app.core.errors import DomainError, TooManyRequests
from app.core.templating import is_htmx, render

log = logging.getLogger("atrium")

_TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Storage unavailable",
    507: "Insufficient storage",
}


def wants_json(request: Request) -> bool:
    """API requests get problem details; everything else HTML."""
    return (
        request.url.path.startswith("/api/")
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


def problem(
    request: Request, status: int, detail: str, title: str | None = None, **extra: Any
) -> Response:
    """An RFC 9457 problem-details response, or the matching error page / fragment."""
    title = title or _TITLES.get(status, "Error")
    if wants_json(request):
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        body["instance"] = request.url.path
        body.update(extra)
        return JSONResponse(body, status_code=status, media_type="application/problem+json")
    ctx = {"status": status, "title": title, "detail": detail, "extra": extra}
    if is_htmx(request):
        # htmx 4 swaps error responses too: show the message where the action was taken
        return render(
            request,
            "_error.html",
            ctx,
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    name = "errors/404.html" if status == 404 else "errors/error.html"
    return render(request, name, ctx, status_code=status)


OUT_OF_RANGE = "A number in the address or the input is too large; nothing has that number."


def _out_of_range(exc: Exception) -> bool:
    # an id beyond 64 bits: SQLite's driver refuses to bind it, PostgreSQL answers 22003
    if isinstance(exc, OverflowError):
        return True
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "22003"


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        response = problem(request, exc.status_code, exc.detail, exc.title, **exc.extra)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field'] or 'input'}: {e['message']}" for e in errors)
        return problem(request, 422, detail or "The input is not valid.", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this address."
        return problem(request, exc.status_code, detail)

    async def storage_fault(request: Request, exc: Exception) -> Response:
        # handled here, inside the app, so the reply goes out like any other error reply
        if _out_of_range(exc):
            return problem(request, 422, OUT_OF_RANGE)
        fault = storage.classify(exc)
        if fault is None:
            raise exc  # not the storage: a bug, for the catch-all below
        log.error("storage fault on %s %s: %s", request.method, request.url.path, exc)
        return problem(request, fault.status, fault.detail, fault.title)

    app.add_exception_handler(DBAPIError, storage_fault)
    app.add_exception_handler(OSError, storage_fault)
    app.add_exception_handler(OverflowError, storage_fault)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(request, 500, "An unexpected error occurred; nothing was changed.")
