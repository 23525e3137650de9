"""Sign-in and sign-out, the account screen (password, sessions, API tokens) and user admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.accounts import service
from app.accounts.models import Role, TokenScope, User
from app.accounts.schemas import LoginForm, PasswordChange, TokenForm
from app.core.deps import CurrentUser, OptionalUser, SessionDep, SettingsDep, client_address
from app.core.errors import DomainError, TooManyRequests, Unauthorized
from app.core.security import SESSION_COOKIE, local_path, set_session_cookie
from app.core.templating import redirect, render
from app.core.time import as_utc, utcnow
from app.sso import service as sso

router = APIRouter(include_in_schema=False)


_safe_next = local_path


@router.get("/login", name="accounts.login")
def login_form(
    request: Request, user: OptionalUser, settings: SettingsDep, next: str = "/"
) -> HTMLResponse:
    ctx = {"next": _safe_next(next), "user": user, **sso.login_options(settings)}
    return render(request, "accounts/login.html", ctx)


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
            address=client_address(request),
            previous=request.cookies.get(SESSION_COOKIE),
        )
    except (Unauthorized, TooManyRequests) as exc:
        ctx = {
            "next": _safe_next(form.next),
            "error": exc.detail,
            "username": form.username,
            **sso.login_options(settings),
        }
        headers = (
            {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        )
        return render(
            request, "accounts/login.html", ctx, status_code=exc.status_code, headers=headers
        )
    response = RedirectResponse(_safe_next(form.next), status_code=303)
    set_session_cookie(
        response, request, new.token, days=settings.session_days, secure=settings.cookie_secure
    )
    return response


@router.post("/logout", name="accounts.logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.logout(session=session, token=token, address=client_address(request))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- the account screen ---------------------------------------------------------------------


def _account(
    request: Request,
    session: SessionDep,
    user: User,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    now = utcnow()
    ctx = {
        "me": user,
        "tokens": service.list_tokens(session=session, user=user),
        "sessions": service.count_sessions(session=session, user=user),
        "scopes": list(TokenScope),
        "now": now,
        "as_utc": as_utc,
        **extra,
    }
    return render(request, "accounts/account.html", ctx, status_code=status_code)


@router.get("/account", name="accounts.account")
def account(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    return _account(request, session, user)


@router.post("/account/password", name="accounts.password")
def change_password(
    request: Request,
    form: Annotated[PasswordChange, Form()],
    session: SessionDep,
    user: CurrentUser,
) -> Response:
    try:
        service.change_password(
            session=session,
            user=user,
            current=form.current,
            new=form.new,
            keep_session=request.cookies.get(SESSION_COOKIE),
        )
    except DomainError as exc:
        return _account(
            request, session, user, status_code=exc.status_code, password_error=exc.detail
        )
    return _account(
        request, session, user, notice="Password changed; your other sessions were signed out."
    )


@router.post("/account/tokens", name="accounts.token_create")
def create_token(
    request: Request,
    form: Annotated[TokenForm, Form()],
    session: SessionDep,
    user: CurrentUser,
) -> Response:
    row, token = service.create_token(
        session=session,
        username=user.username,
        name=form.name,
        days=form.days,
        scope=form.scope,
        actor=user,
    )
    return _account(request, session, user, new_token=token, new_token_row=row)


@router.post("/account/tokens/{token_id}/revoke", name="accounts.token_revoke")
def revoke_token(
    request: Request, token_id: int, session: SessionDep, user: CurrentUser
) -> Response:
    service.revoke_token(session=session, user=user, token_id=token_id)
    return redirect(request, "/account")


@router.post("/account/logout-everywhere", name="accounts.logout_everywhere")
def logout_everywhere(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    service.logout_everywhere(session=session, user=user, address=client_address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- user administration --------------------------------------------------------------------


def _users(
    request: Request, session: SessionDep, user: User | None, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    users = service.manage_users(session=session, actor=user)
    ctx = {
        "users": users,
        "roles": list(Role),
        "sso_linked": sso.linked_user_ids(session=session, user_ids=[u.id for u in users]),
        **extra,
    }
    return render(request, "accounts/users.html", ctx, status_code=status_code)


@router.get("/admin/users", name="accounts.users")
def users(request: Request, session: SessionDep, user: OptionalUser) -> HTMLResponse:
    return _users(request, session, user)


@router.post("/admin/users/{username}/role", name="accounts.user_role")
def set_role(
    request: Request,
    username: str,
    role: Annotated[Role, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.set_role(session=session, actor=user, username=username, role=role)
    return redirect(request, "/admin/users")


@router.post("/admin/users/{username}/active", name="accounts.user_active")
def set_active(
    request: Request,
    username: str,
    active: Annotated[bool, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.set_active(session=session, actor=user, username=username, active=active)
    return redirect(request, "/admin/users")
