"""Webhooks input and output shapes (the service checks the values, with clear messages)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.webhooks.models import WebhookDeliveryStatus


class WebhookCreate(BaseModel):
    """A new endpoint; without a secret one is generated (and shown once)."""

    url: str
    description: str = ""
    events: list[str] = Field(default_factory=list)
    active: bool = True
    secret: str | None = Field(default=None, description="leave out to have one generated")


class WebhookUpdate(BaseModel):
    """Changes to an endpoint; fields left out stay as they are."""

    url: str | None = None
    description: str | None = None
    events: list[str] | None = None
    active: bool | None = None


class WebhookRead(BaseModel):
    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookRead):
    """An endpoint with its secret: only answered when it was created or rotated."""

    secret: str


class AttemptRead(BaseModel):
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str
    response_body: str


class DeliveryRead(BaseModel):
    id: int
    uid: str
    endpoint_id: int
    event: str
    status: WebhookDeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    completed_at: datetime | None
    attempt_log: list[AttemptRead]


class DeliveryList(BaseModel):
    items: list[DeliveryRead]
