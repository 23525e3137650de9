"""Webhooks JSON API under /api/v1 (admins only): the same services as the admin screens."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.core.deps import OptionalUser, SessionDep
from app.core.problems import problems
from app.webhooks import service
from app.webhooks.models import WebhookEndpoint
from app.webhooks.schemas import (
    AttemptRead,
    DeliveryList,
    DeliveryRead,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"])

ERRORS = problems(401, 403, 404, 422)


class SecretIn(BaseModel):
    """A secret to use instead of a generated one."""

    secret: str | None = None


def _read(endpoint: WebhookEndpoint) -> WebhookRead:
    return WebhookRead.model_validate(endpoint, from_attributes=True)


def _with_secret(endpoint: WebhookEndpoint) -> WebhookWithSecret:
    return WebhookWithSecret.model_validate(endpoint, from_attributes=True)


def _delivery(view: service.DeliveryView) -> DeliveryRead:
    d = view.delivery
    done = d.status in ("succeeded", "failed")
    return DeliveryRead(
        id=d.id or 0,
        uid=d.uid,
        endpoint_id=d.endpoint_id,
        event=d.event,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=None if done else d.next_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        created_at=d.created_at,
        completed_at=d.completed_at,
        attempt_log=[AttemptRead.model_validate(a, from_attributes=True) for a in view.attempts],
    )


@router.get("/webhooks", summary="List webhook endpoints", responses=ERRORS)
def list_webhooks(session: SessionDep, user: OptionalUser) -> list[WebhookRead]:
    return [_read(s.endpoint) for s in service.list_endpoints(session=session, user=user)]


@router.post(
    "/webhooks",
    status_code=201,
    summary="Register a webhook endpoint (the answer shows its secret, this once)",
    responses=ERRORS,
)
def create_webhook(
    data: WebhookCreate, session: SessionDep, user: OptionalUser
) -> WebhookWithSecret:
    return _with_secret(service.create_endpoint(session=session, user=user, data=data))


@router.get("/webhooks/{endpoint_id}", summary="One webhook endpoint", responses=ERRORS)
def get_webhook(endpoint_id: int, session: SessionDep, user: OptionalUser) -> WebhookRead:
    return _read(service.get_endpoint(session=session, user=user, endpoint_id=endpoint_id))


@router.patch("/webhooks/{endpoint_id}", summary="Change a webhook endpoint", responses=ERRORS)
def update_webhook(
    endpoint_id: int, data: WebhookUpdate, session: SessionDep, user: OptionalUser
) -> WebhookRead:
    endpoint = service.update_endpoint(
        session=session, user=user, endpoint_id=endpoint_id, data=data
    )
    return _read(endpoint)


@router.delete(
    "/webhooks/{endpoint_id}",
    status_code=204,
    summary="Delete a webhook endpoint and its delivery log",
    responses=ERRORS,
)
def delete_webhook(endpoint_id: int, session: SessionDep, user: OptionalUser) -> Response:
    service.delete_endpoint(session=session, user=user, endpoint_id=endpoint_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/{endpoint_id}/rotate-secret",
    summary="Give a webhook a new secret (generated unless given); shown this once",
    responses=ERRORS,
)
def rotate_secret(
    endpoint_id: int, session: SessionDep, user: OptionalUser, data: SecretIn | None = None
) -> WebhookWithSecret:
    endpoint = service.rotate_secret(
        session=session,
        user=user,
        endpoint_id=endpoint_id,
        secret=data.secret if data is not None else None,
    )
    return _with_secret(endpoint)


@router.get(
    "/webhooks/{endpoint_id}/deliveries",
    summary="A webhook's latest deliveries with their attempts",
    responses=ERRORS,
)
def list_deliveries(endpoint_id: int, session: SessionDep, user: OptionalUser) -> DeliveryList:
    views = service.list_deliveries(session=session, user=user, endpoint_id=endpoint_id)
    return DeliveryList(items=[_delivery(v) for v in views])


@router.get(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}",
    summary="One delivery with its attempts",
    responses=ERRORS,
)
def get_delivery(
    endpoint_id: int, delivery_id: int, session: SessionDep, user: OptionalUser
) -> DeliveryRead:
    view = service.get_delivery(
        session=session, user=user, endpoint_id=endpoint_id, delivery_id=delivery_id
    )
    return _delivery(view)


@router.post(
    "/webhooks/{endpoint_id}/test",
    status_code=202,
    summary="Queue a test delivery (event 'ping')",
    responses=ERRORS,
)
def send_test(endpoint_id: int, session: SessionDep, user: OptionalUser) -> DeliveryRead:
    delivery = service.send_test(session=session, user=user, endpoint_id=endpoint_id)
    return _delivery(service.DeliveryView(delivery=delivery))


@router.post(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Queue a finished delivery again (same id and body)",
    responses=problems(401, 403, 404, 409, 422),
)
def redeliver(
    endpoint_id: int, delivery_id: int, session: SessionDep, user: OptionalUser
) -> DeliveryRead:
    service.redeliver(session=session, user=user, endpoint_id=endpoint_id, delivery_id=delivery_id)
    view = service.get_delivery(
        session=session, user=user, endpoint_id=endpoint_id, delivery_id=delivery_id
    )
    return _delivery(view)
