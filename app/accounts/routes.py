"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.accounts import service
from app.accounts.schemas import LoginForm
from app.core.deps import OptionalUser, SessionDep, SettingsDep
from app.core.errors import Unauthorized
from app.core.security import SESSION_COOKIE
from app.core.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    # only local paths: an attacker must not turn sign-in into an open redirect
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", name="accounts.login")
def login_form(request: Request, user: OptionalUser, next: str = "/") -> HTMLResponse:
    return render(request, "accounts/login.html", {"next": _safe_next(next), "user": user})


@router.post("/login", name="accounts.login_submit")
def login(
    request: Request,
    form: Annotated[LoginForm, Form()],
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    try:
        new = service.login(
            session=session,
            username=form.username,
            password=form.password,
            days=settings.session_days,
            user_agent=request.headers.get("user-agent", ""),
        )
    except Unauthorized as exc:
        ctx = {"next": _safe_next(form.next), "error": exc.detail, "username": form.username}
        return render(request, "accounts/login.html", ctx, status_code=401)
    response = RedirectResponse(_safe_next(form.next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure
        if settings.cookie_secure is not None
        else request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout", name="accounts.logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.logout(session=session, token=token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
