"""Single sign-on screens: send the browser to the OpenID provider and take it back.

The state, nonce and PKCE verifier of a sign-in in progress live in a signed, HttpOnly cookie
scoped to /login/oidc for ten minutes, not in a second session store: the callback needs them
exactly once, any worker can check the signature, and a sign-in started in one browser cannot
be finished in another (login CSRF), because the state must match that browser's cookie.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.config import Settings
from app.core.deps import SessionDep, SettingsDep, client_address
from app.core.errors import DomainError, NotFound
from app.core.security import SESSION_COOKIE, local_path, set_session_cookie
from app.core.templating import render
from app.sso import service
from app.sso.oidc import FLOW_SECONDS, Flow, Identity, Provider, SsoFailed

router = APIRouter(include_in_schema=False)

FLOW_COOKIE = "atrium_oidc"
FLOW_PATH = "/login/oidc"
CALLBACK_PATH = "/login/oidc/callback"


def _provider(request: Request, settings: Settings) -> Provider:
    if not settings.oidc_enabled:
        raise NotFound("Single sign-on is not configured on this wiki.")
    provider = getattr(request.app.state, "oidc_provider", None)
    if not isinstance(provider, Provider):
        provider = request.app.state.oidc_provider = Provider(settings)
    return provider


def _redirect_uri(settings: Settings) -> str:
    # the public address, not the request's Host header: it must equal what the provider has
    # registered for this client
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def _secure(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


def _failed(request: Request, settings: Settings, exc: DomainError, next: str) -> HTMLResponse:
    ctx = {"next": next, "error": exc.detail, **service.login_options(settings)}
    response = render(request, "accounts/login.html", ctx, status_code=exc.status_code)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response


@router.get("/login/oidc", name="sso.start")
def start(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    provider = _provider(request, settings)
    target = local_path(next)
    try:
        url, flow = provider.start(redirect_uri=_redirect_uri(settings), next=target)
    except DomainError as exc:
        return _failed(request, settings, exc, target)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        flow.seal(settings.resolved_secret_key),
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to the callback
        secure=_secure(request, settings),
    )
    return response


def _identity(
    provider: Provider,
    settings: Settings,
    flow: Flow | None,
    params: dict[str, str],
) -> Identity:
    if flow is None:
        raise SsoFailed("This sign-in expired or was started in another browser. Please try again.")
    if not hmac.compare_digest(params.get("state", ""), flow.state):
        raise SsoFailed("This sign-in could not be verified (its state does not match).")
    if params.get("error"):
        said = params.get("error_description") or params["error"]
        raise SsoFailed(f"{settings.oidc_provider_name} did not sign you in: {said[:200]}")
    code = params.get("code", "")
    if not code:
        raise SsoFailed("The provider sent no authorization code.")
    return provider.finish(code=code, flow=flow, redirect_uri=_redirect_uri(settings))


@router.get(CALLBACK_PATH, name="sso.callback")
def callback(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    provider = _provider(request, settings)
    flow = Flow.unseal(settings.resolved_secret_key, request.cookies.get(FLOW_COOKIE))
    target = flow.next if flow is not None else "/"
    address = client_address(request)
    try:
        identity = _identity(provider, settings, flow, dict(request.query_params))
    except DomainError as exc:
        service.record_failure(session=session, reason=exc.detail, address=address)
        return _failed(request, settings, exc, target)
    try:
        new = service.sign_in(
            session=session,
            identity=identity,
            user_agent=request.headers.get("user-agent", ""),
            address=address,
            previous=request.cookies.get(SESSION_COOKIE),
        )
    except DomainError as exc:  # refused and audited by the service
        return _failed(request, settings, exc, target)
    response = RedirectResponse(local_path(target), status_code=303)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    set_session_cookie(
        response, request, new.token, days=settings.session_days, secure=settings.cookie_secure
    )
    return response
