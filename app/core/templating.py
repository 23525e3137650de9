"""Jinja templates: one per screen, htmx fragments are named blocks rendered alone."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup

from app.core.db import ROOT
from app.core.security import csrf_token


def _context(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    seed = getattr(request.state, "csrf_seed", None) or ""
    token = csrf_token(settings.resolved_secret_key, seed)
    return {
        "current_user": getattr(request.state, "user", None),
        "csrf_token": token,
        "csrf_input": Markup('<input type="hidden" name="csrf_token" value="%s">') % token,
        "htmx_request": is_htmx(request),
        "static_version": request.app.state.static_version,
    }


templates = Jinja2Blocks(directory=str(ROOT / "templates"), context_processors=[_context])
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
# checking every template file's modification time on each render cost ~7% of a page view;
# render() turns it on only for ATRIUM_TEMPLATE_RELOAD
templates.env.auto_reload = False


def is_htmx(request: Request) -> bool:
    """Whether htmx sent this request (and so wants a fragment)."""
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a screen, or only its ``block`` (usually when htmx asked for a fragment)."""
    templates.env.auto_reload = request.app.state.settings.template_reload
    response = templates.TemplateResponse(
        request,
        name,
        context or {},
        status_code=status_code,
        block_name=block,
        headers=headers,
    )
    assert isinstance(response, HTMLResponse)
    return response


def redirect(request: Request, url: str, *, status_code: int = 303) -> Response:
    """Redirect a form post; htmx gets an HX-Location so it navigates instead of swapping."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=status_code)
