"""Webhooks admin screens: the list, the form, an endpoint with its delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.accounts import service as accounts
from app.core.deps import OptionalUser, SessionDep, SettingsDep
from app.core.errors import Invalid
from app.core.events import EVENTS
from app.core.templating import is_htmx, redirect, render
from app.webhooks import service
from app.webhooks.models import WebhookDeliveryStatus, WebhookEndpoint
from app.webhooks.schemas import WebhookCreate, WebhookUpdate

router = APIRouter(include_in_schema=False)
BASE = "/admin/webhooks"


class WebhookForm(BaseModel):
    """What the endpoint form posts (checkboxes send their value only when ticked)."""

    url: str = ""
    description: str = ""
    events: list[str] = Field(default_factory=list)
    active: str = ""
    secret: str = ""


def _form_ctx(
    *, form: WebhookForm, endpoint: WebhookEndpoint | None = None, error: str | None = None
) -> dict[str, Any]:
    return {"form": form, "endpoint": endpoint, "events": EVENTS, "error": error}


def _detail_ctx(
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
    endpoint_id: int,
) -> dict[str, Any]:
    endpoint = service.get_endpoint(session=session, user=user, endpoint_id=endpoint_id)
    deliveries = service.list_deliveries(session=session, user=user, endpoint_id=endpoint_id)
    busy = any(
        v.delivery.status in (WebhookDeliveryStatus.pending, WebhookDeliveryStatus.sending)
        for v in deliveries
    )
    return {
        "endpoint": endpoint,
        "deliveries": deliveries,
        "busy": busy,
        "max_attempts": settings.webhook_max_attempts,
        "events": EVENTS,
        "new_secret": None,
    }


@router.get(BASE, name="webhooks.list")
def list_endpoints(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    items = service.list_endpoints(session=session, user=user)
    return render(request, "webhooks/list.html", {"items": items, "events": EVENTS})


@router.get(f"{BASE}/new", name="webhooks.new")
def new_form(request: Request, user: OptionalUser) -> Response:
    accounts.require(user, "webhook.manage")
    return render(request, "webhooks/form.html", _form_ctx(form=WebhookForm(active="on")))


@router.post(f"{BASE}/new", name="webhooks.create")
def create(
    request: Request,
    form: Annotated[WebhookForm, Form()],
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
) -> Response:
    accounts.require(user, "webhook.manage")
    data = WebhookCreate(
        url=form.url,
        description=form.description,
        events=form.events,
        active=form.active == "on",
        secret=form.secret.strip() or None,
    )
    try:
        endpoint = service.create_endpoint(session=session, user=user, data=data)
    except Invalid as exc:
        ctx = _form_ctx(form=form.model_copy(update={"secret": ""}), error=exc.detail)
        return render(request, "webhooks/form.html", ctx, status_code=exc.status_code)
    ctx = _detail_ctx(session, user, settings, endpoint.id or 0)
    # the one time the secret is shown (it was generated, or typed by this admin)
    ctx.update(new_secret=endpoint.secret, created=True)
    return render(request, "webhooks/endpoint.html", ctx, status_code=201)


@router.get(f"{BASE}/{{endpoint_id}}", name="webhooks.view")
def view(
    request: Request,
    endpoint_id: int,
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
) -> Response:
    ctx = _detail_ctx(session, user, settings, endpoint_id)
    return render(request, "webhooks/endpoint.html", ctx)


@router.get(f"{BASE}/{{endpoint_id}}/deliveries", name="webhooks.deliveries")
def deliveries(
    request: Request,
    endpoint_id: int,
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
) -> Response:
    ctx = _detail_ctx(session, user, settings, endpoint_id)
    return render(request, "webhooks/endpoint.html", ctx, block="deliveries")


@router.get(f"{BASE}/{{endpoint_id}}/edit", name="webhooks.edit")
def edit_form(
    request: Request, endpoint_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    endpoint = service.get_endpoint(session=session, user=user, endpoint_id=endpoint_id)
    form = WebhookForm(
        url=endpoint.url,
        description=endpoint.description,
        events=list(endpoint.events),
        active="on" if endpoint.active else "",
    )
    return render(request, "webhooks/form.html", _form_ctx(form=form, endpoint=endpoint))


@router.post(f"{BASE}/{{endpoint_id}}/edit", name="webhooks.update")
def update(
    request: Request,
    endpoint_id: int,
    form: Annotated[WebhookForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    endpoint = service.get_endpoint(session=session, user=user, endpoint_id=endpoint_id)
    data = WebhookUpdate(
        url=form.url, description=form.description, events=form.events, active=form.active == "on"
    )
    try:
        service.update_endpoint(session=session, user=user, endpoint_id=endpoint_id, data=data)
    except Invalid as exc:
        ctx = _form_ctx(form=form, endpoint=endpoint, error=exc.detail)
        return render(request, "webhooks/form.html", ctx, status_code=exc.status_code)
    return redirect(request, f"{BASE}/{endpoint_id}")


@router.post(f"{BASE}/{{endpoint_id}}/active", name="webhooks.set_active")
def set_active(
    request: Request,
    endpoint_id: int,
    active: Annotated[str, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    service.update_endpoint(
        session=session,
        user=user,
        endpoint_id=endpoint_id,
        data=WebhookUpdate(active=active == "on"),
    )
    return redirect(request, f"{BASE}/{endpoint_id}")


@router.post(f"{BASE}/{{endpoint_id}}/rotate", name="webhooks.rotate")
def rotate(
    request: Request,
    endpoint_id: int,
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
) -> Response:
    endpoint = service.rotate_secret(session=session, user=user, endpoint_id=endpoint_id)
    ctx = _detail_ctx(session, user, settings, endpoint_id)
    ctx.update(new_secret=endpoint.secret)
    return render(request, "webhooks/endpoint.html", ctx)


@router.post(f"{BASE}/{{endpoint_id}}/delete", name="webhooks.delete")
def delete(request: Request, endpoint_id: int, session: SessionDep, user: OptionalUser) -> Response:
    service.delete_endpoint(session=session, user=user, endpoint_id=endpoint_id)
    return redirect(request, BASE)


def _log_or_redirect(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
    endpoint_id: int,
) -> Response:
    if is_htmx(request):
        ctx = _detail_ctx(session, user, settings, endpoint_id)
        return render(request, "webhooks/endpoint.html", ctx, block="deliveries")
    return redirect(request, f"{BASE}/{endpoint_id}#deliveries")


@router.post(f"{BASE}/{{endpoint_id}}/test", name="webhooks.test")
def send_test(
    request: Request,
    endpoint_id: int,
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
) -> Response:
    service.send_test(session=session, user=user, endpoint_id=endpoint_id)
    return _log_or_redirect(request, session, user, settings, endpoint_id)


@router.post(
    f"{BASE}/{{endpoint_id}}/deliveries/{{delivery_id}}/redeliver", name="webhooks.redeliver"
)
def redeliver(
    request: Request,
    endpoint_id: int,
    delivery_id: int,
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
) -> Response:
    service.redeliver(session=session, user=user, endpoint_id=endpoint_id, delivery_id=delivery_id)
    return _log_or_redirect(request, session, user, settings, endpoint_id)
